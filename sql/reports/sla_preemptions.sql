-- Report: SLA: preemptions suffered per tenant and SLA class (how often and how much was taken back).
--
-- Function: billing.sla_preemptions(p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
--   p_from, p_to  the period, half-open [p_from, p_to), on the time sessions ended
--   p_tenant      one tenant, or NULL for all
-- Returns one row per tenant and SLA class that had sessions, ordered by both:
--   sessions            sessions that ended in the period
--   preempted_sessions  of those, the ones that suffered at least one revocation
--   preemptions         revocations suffered (each a cut on one host)
--   slots_preempted     slots those revocations took
--
--   SELECT * FROM billing.sla_preemptions('2026-11-01 00:00Z', '2026-12-01 00:00Z');
CREATE OR REPLACE FUNCTION billing.sla_preemptions(
    p_from timestamptz, p_to timestamptz, p_tenant text DEFAULT NULL)
RETURNS TABLE (
    tenant             text,
    sla                text,
    sessions           bigint,
    preempted_sessions bigint,
    preemptions        bigint,
    slots_preempted    bigint)
LANGUAGE sql STABLE
AS $$
    SELECT s.tenant,
           s.sla,
           count(*),
           count(*) FILTER (WHERE s.preemptions > 0),
           sum(s.preemptions),
           sum(s.slots_preempted)
    FROM billing.session s
    WHERE s.ended >= p_from AND s.ended < p_to
      AND (p_tenant IS NULL OR s.tenant = p_tenant)
    GROUP BY s.tenant, s.sla
    ORDER BY s.tenant, s.sla
$$;
