-- Report: idle allocation: slot-seconds granted to sessions but not running tasks, per session and per tenant.
--
-- Function: billing.idle_allocation(p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
--   p_from, p_to  the period, half-open [p_from, p_to), on the usage intervals' start
--   p_tenant      one tenant, or NULL for all
-- Returns, for each tenant, one row per session and then the tenant's total
-- (session_id NULL), ordered by tenant with the total first:
--   slot_seconds       slots x seconds held
--   busy_slot_seconds  of those, the slot-seconds that ran tasks
--   idle_slot_seconds  slot_seconds - busy_slot_seconds (exact)
--   idle_fraction      idle_slot_seconds / slot_seconds, rounded to 4 decimals
--
--   SELECT * FROM billing.idle_allocation('2026-11-21 00:00Z', '2026-11-22 00:00Z');
CREATE OR REPLACE FUNCTION billing.idle_allocation(
    p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
RETURNS TABLE (
    tenant            text,
    session_id        text,
    slot_seconds      numeric,
    busy_slot_seconds numeric,
    idle_slot_seconds numeric,
    idle_fraction     numeric)
LANGUAGE sql STABLE
AS $$
    SELECT t.tenant, t.session_id, t.slot_seconds, t.busy_slot_seconds,
           t.slot_seconds - t.busy_slot_seconds,
           round((t.slot_seconds - t.busy_slot_seconds) / nullif(t.slot_seconds, 0), 4)
    FROM (
        SELECT u.tenant, u.session_id,
               sum(u.slots::numeric * u.seconds) AS slot_seconds,
               sum(u.busy_slot_seconds)          AS busy_slot_seconds
        FROM billing.usage u
        WHERE u.start_time >= p_from AND u.start_time < p_to
          AND (p_tenant IS NULL OR u.tenant = p_tenant)
        GROUP BY GROUPING SETS ((u.tenant, u.session_id), (u.tenant))
    ) t
    ORDER BY t.tenant, t.session_id NULLS FIRST
$$;
