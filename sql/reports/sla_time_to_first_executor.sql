-- Report: SLA: time from registration to a session's first running executor, per SLA class.
--
-- Function: billing.sla_time_to_first_executor(p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
--   p_from, p_to  the period, half-open [p_from, p_to), on the time sessions
--                 ended (a session's record exists once it ended, so a closed
--                 period's report does not change later)
--   p_tenant      one tenant, or NULL for all
-- Returns one row per SLA class that had sessions, ordered by class:
--   sessions            sessions that ended in the period
--   with_executor       of those, the ones that ever had an executor
--   never_had_executor  the others (time_to_first_executor_ms NULL)
--   avg_ms, p50_ms, p95_ms, max_ms  over with_executor; percentiles are
--                       continuous (interpolated, as percentile_cont), and
--                       avg and percentiles are rounded to 1 decimal
--
--   SELECT * FROM billing.sla_time_to_first_executor('2026-11-01 00:00Z', '2026-12-01 00:00Z');
CREATE OR REPLACE FUNCTION billing.sla_time_to_first_executor(
    p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
RETURNS TABLE (
    sla                text,
    sessions           bigint,
    with_executor      bigint,
    never_had_executor bigint,
    avg_ms             numeric,
    p50_ms             numeric,
    p95_ms             numeric,
    max_ms             bigint)
LANGUAGE sql STABLE
AS $$
    SELECT s.sla,
           count(*),
           count(s.time_to_first_executor_ms),
           count(*) - count(s.time_to_first_executor_ms),
           round(avg(s.time_to_first_executor_ms), 1),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY s.time_to_first_executor_ms))::numeric, 1),
           round((percentile_cont(0.95) WITHIN GROUP (ORDER BY s.time_to_first_executor_ms))::numeric, 1),
           max(s.time_to_first_executor_ms)
    FROM billing.session s
    WHERE s.ended >= p_from AND s.ended < p_to
      AND (p_tenant IS NULL OR s.tenant = p_tenant)
    GROUP BY s.sla
    ORDER BY s.sla
$$;
