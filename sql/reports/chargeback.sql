-- Report: per-tenant chargeback per UTC period (hour, day, week, month,
-- quarter or year): what each tenant used and owes, priced by the rate card.
-- The daily and monthly reports are this at their period.
--
-- Function: billing.chargeback(p_period text, p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
--   p_period      a date_trunc unit: 'hour', 'day', 'week' (ISO, Monday),
--                 'month', 'quarter' or 'year'; anything else is an error
--   p_from, p_to  the period, half-open [p_from, p_to), on the usage intervals' start
--                 (intervals never cross a full UTC hour, so a period on whole
--                 hours or days takes exactly the usage inside it)
--   p_tenant      one tenant, or NULL for all
-- Returns one row per period (its UTC start), tenant and currency, ordered by
-- period and tenant. Each interval is priced by the card in force at its start,
-- with its SLA class's price and `default`'s where the class has none. Costs are
-- summed exactly and then rounded to 6 decimals (so cpu_cost + memory_cost +
-- gpu_cost may differ from cost in the last digit). A cost is NULL when some
-- interval in the row used a kind the rate card has no price for;
-- unpriced_records counts those intervals.
--
--   SELECT * FROM billing.chargeback('week', '2026-11-02 00:00Z', '2026-11-30 00:00Z');
CREATE OR REPLACE FUNCTION billing.chargeback(
    p_period text, p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
RETURNS TABLE (
    period_start       timestamp,
    tenant             text,
    currency           text,
    records            bigint,
    unpriced_records   bigint,
    cpu_seconds        numeric,
    memory_gib_seconds numeric,
    gpu_seconds        numeric,
    cpu_cost           numeric,
    memory_cost        numeric,
    gpu_cost           numeric,
    cost               numeric)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF p_period IS NULL OR p_period NOT IN ('hour', 'day', 'week', 'month', 'quarter', 'year') THEN
        RAISE EXCEPTION 'chargeback period must be hour, day, week, month, quarter or year, not %',
            coalesce(quote_literal(p_period), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT date_trunc(p_period, u.start_time AT TIME ZONE 'UTC'),
           u.tenant,
           u.currency,
           count(*),
           count(*) FILTER (WHERE u.cost IS NULL),
           sum(u.cpu_seconds),
           sum(u.memory_gib_seconds),
           sum(u.gpu_seconds),
           CASE WHEN bool_and(u.cpu_cost IS NOT NULL) THEN round(sum(u.cpu_cost), 6) END,
           CASE WHEN bool_and(u.memory_cost IS NOT NULL) THEN round(sum(u.memory_cost), 6) END,
           CASE WHEN bool_and(u.gpu_cost IS NOT NULL) THEN round(sum(u.gpu_cost), 6) END,
           CASE WHEN bool_and(u.cost IS NOT NULL) THEN round(sum(u.cost), 6) END
    FROM billing.usage_priced u
    WHERE u.start_time >= p_from AND u.start_time < p_to
      AND (p_tenant IS NULL OR u.tenant = p_tenant)
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3;
END
$$;
