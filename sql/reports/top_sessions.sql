-- Report: the top sessions of a period, by cost or by cpu-seconds: who used (and costs) the most.
--
-- Function: billing.top_sessions(p_from timestamptz, p_to timestamptz,
--                                p_order text DEFAULT 'cost', p_limit integer DEFAULT 10,
--                                p_tenant text DEFAULT NULL)
--   p_from, p_to  the period, half-open [p_from, p_to), on the usage intervals' start;
--                 a session's totals count only its usage inside the period
--   p_order       'cost' or 'cpu_seconds': what to rank by, largest first
--   p_limit       how many sessions (NULL: all)
--   p_tenant      one tenant, or NULL for all
-- Returns one row per session, rank 1 first (ties broken by session id).
-- Costs are priced as in daily_chargeback and rounded to 6 decimals; a session
-- with unpriced usage has cost NULL and ranks last by cost. The end_reason,
-- registered and ended columns come from the session's `session` record and
-- are NULL while it runs (or before that record is loaded).
--
--   SELECT * FROM billing.top_sessions('2026-11-01 00:00Z', '2026-12-01 00:00Z', 'cpu_seconds', 5);
CREATE OR REPLACE FUNCTION billing.top_sessions(
    p_from timestamptz, p_to timestamptz,
    p_order text DEFAULT 'cost', p_limit integer DEFAULT 10, p_tenant text DEFAULT NULL)
RETURNS TABLE (
    rank               bigint,
    tenant             text,
    session_id         text,
    consumer           text,
    user_name          text,
    application        text,
    sla                text,
    first_start        timestamptz,
    last_end           timestamptz,
    records            bigint,
    slot_seconds       numeric,
    busy_slot_seconds  numeric,
    cpu_seconds        numeric,
    memory_gib_seconds numeric,
    gpu_seconds        numeric,
    currency           text,
    unpriced_records   bigint,
    cost               numeric,
    end_reason         text,
    registered         timestamptz,
    ended              timestamptz)
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
BEGIN
    -- plpgsql rather than plain SQL only to reject a mistyped p_order loudly.
    IF p_order IS NULL OR p_order NOT IN ('cost', 'cpu_seconds') THEN
        RAISE EXCEPTION 'top_sessions: p_order must be ''cost'' or ''cpu_seconds'', not %', quote_nullable(p_order);
    END IF;
    RETURN QUERY
    WITH per_session AS (
        SELECT u.tenant, u.session_id, u.consumer, u.user_name, u.application, u.sla,
               min(u.start_time)                       AS first_start,
               max(u.end_time)                         AS last_end,
               count(*)                                AS records,
               sum(u.slots::numeric * u.seconds)       AS slot_seconds,
               sum(u.busy_slot_seconds)                AS busy_slot_seconds,
               sum(u.cpu_seconds)                      AS cpu_seconds,
               sum(u.memory_gib_seconds)               AS memory_gib_seconds,
               sum(u.gpu_seconds)                      AS gpu_seconds,
               string_agg(DISTINCT u.currency, ',')    AS currency,
               count(*) FILTER (WHERE u.cost IS NULL)  AS unpriced_records,
               CASE WHEN bool_and(u.cost IS NOT NULL) THEN round(sum(u.cost), 6) END AS cost
        FROM billing.usage_priced u
        WHERE u.start_time >= p_from AND u.start_time < p_to
          AND (p_tenant IS NULL OR u.tenant = p_tenant)
        GROUP BY u.tenant, u.session_id, u.consumer, u.user_name, u.application, u.sla
    ), ranked AS (
        SELECT row_number() OVER (ORDER BY
                   CASE WHEN p_order = 'cost' THEN ps.cost ELSE ps.cpu_seconds END DESC NULLS LAST,
                   ps.session_id) AS rank,
               ps.*
        FROM per_session ps
    )
    SELECT r.rank, r.tenant, r.session_id, r.consumer, r.user_name, r.application, r.sla,
           r.first_start, r.last_end, r.records, r.slot_seconds, r.busy_slot_seconds,
           r.cpu_seconds, r.memory_gib_seconds, r.gpu_seconds, r.currency, r.unpriced_records, r.cost,
           s.end_reason, s.registered, s.ended
    FROM ranked r
    LEFT JOIN billing.session s ON s.session_id = r.session_id
    WHERE p_limit IS NULL OR r.rank <= p_limit
    ORDER BY r.rank;
END
$$;
