-- Report: per-tenant daily chargeback: what each tenant used and owes per UTC day, priced by the rate card.
--
-- Function: billing.daily_chargeback(p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
-- billing.chargeback (chargeback.sql) at 'day', with the day as a date; the
-- parameters, pricing and NULL costs are as described there.
-- Returns one row per UTC day, tenant and currency, ordered by day and tenant.
--
--   SELECT * FROM billing.daily_chargeback('2026-11-01 00:00Z', '2026-12-01 00:00Z');
CREATE OR REPLACE FUNCTION billing.daily_chargeback(
    p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
RETURNS TABLE (
    day                date,
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
    SELECT c.period_start::date, c.tenant, c.currency, c.records, c.unpriced_records, c.cpu_seconds,
           c.memory_gib_seconds, c.gpu_seconds, c.cpu_cost, c.memory_cost, c.gpu_cost, c.cost
    FROM billing.chargeback('day', p_from, p_to, p_tenant) c
    ORDER BY 1, 2, 3
$$;
