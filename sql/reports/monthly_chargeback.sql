-- Report: per-tenant monthly chargeback: what each tenant used and owes per UTC calendar month, priced by the rate card.
--
-- Function: billing.monthly_chargeback(p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
-- billing.chargeback (chargeback.sql) at 'month', with the month as a date; the
-- parameters, pricing and NULL costs are as described there.
-- Returns one row per UTC calendar month (its first day), tenant and currency, ordered by month and tenant.
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
    SELECT c.period_start::date, c.tenant, c.currency, c.records, c.unpriced_records, c.cpu_seconds,
           c.memory_gib_seconds, c.gpu_seconds, c.cpu_cost, c.memory_cost, c.gpu_cost, c.cost
    FROM billing.chargeback('month', p_from, p_to, p_tenant) c
    ORDER BY 1, 2, 3
$$;
