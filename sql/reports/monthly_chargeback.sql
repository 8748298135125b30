-- Report: per-tenant monthly chargeback: what each tenant used and owes per UTC calendar month, priced by the rate card.
--
-- Function: billing.monthly_chargeback(p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
--   p_from, p_to  the period, half-open [p_from, p_to), on the usage intervals' start
--                 (intervals never cross a full UTC hour, so a period on whole
--                 hours or days takes exactly the usage inside it)
--   p_tenant      one tenant, or NULL for all
-- Returns one row per UTC month (its first day), tenant and currency, ordered by month and tenant.
-- Each interval is priced by the card in force at its start, with its SLA
-- class's price and `default`'s where the class has none. Costs are summed
-- exactly and then rounded to 6 decimals (so cpu_cost + memory_cost + gpu_cost
-- may differ from cost in the last digit). A cost is NULL when some interval
-- in the row used a kind the rate card has no price for; unpriced_records
-- counts those intervals.
--
--   SELECT * FROM billing.monthly_chargeback('2026-01-01 00:00Z', '2027-01-01 00:00Z');
CREATE OR REPLACE FUNCTION billing.monthly_chargeback(
    p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
RETURNS TABLE (
    month              date,
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
LANGUAGE sql STABLE
AS $$
    SELECT date_trunc('month', u.start_time AT TIME ZONE 'UTC')::date,
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
    ORDER BY 1, 2, 3
$$;
