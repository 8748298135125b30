-- PostgreSQL schema for sessiond's billing ledger (docs/billing.md): usage and session records, tenants, the rate card, load bookkeeping.
--
-- Idempotent: every statement is CREATE ... IF NOT EXISTS or CREATE OR REPLACE,
-- so it runs on every deploy (`psql -f sql/schema.sql` or `load_usage.py --init`).
-- It creates, it never alters: a column added later needs its own ALTER.
--
-- Column names follow the record fields, except where a field is an SQL
-- keyword or would read ambiguously next to a table of the same name:
--   user -> user_name, session -> session_id, start -> start_time, end -> end_time.
-- Amounts are unconstrained `numeric`: it stores the exported decimal text
-- exactly (memory_gib_seconds of 1000 MiB for 7 s is 6.8359375), so the SQL
-- totals equal the ledger's to the last digit.

-- Re-runs would otherwise print a NOTICE per existing object.
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS billing;

-- One row per tenant ever seen. The loader keeps first_seen/last_seen (the
-- earliest and latest record time); the other columns are the operators'.
CREATE TABLE IF NOT EXISTS billing.tenant (
    tenant_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (name <> '' AND strpos(name, '/') = 0),
    display_name text,
    cost_center  text,
    contact      text,
    active       boolean NOT NULL DEFAULT true,
    notes        text,
    first_seen   timestamptz,
    last_seen    timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (first_seen <= last_seen)
);

-- One row per loader run (a file, or one run of the Kafka consumer), written
-- in the same transactions as the records it brought, so its counters are
-- exactly what is in the tables.
CREATE TABLE IF NOT EXISTS billing.load_run (
    load_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         text NOT NULL,            -- 'file:PATH' or 'kafka:BOOTSTRAP/TOPIC'
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    usage_loaded   bigint NOT NULL DEFAULT 0,
    session_loaded bigint NOT NULL DEFAULT 0,
    duplicates     bigint NOT NULL DEFAULT 0,
    loaded_by      text NOT NULL DEFAULT current_user
);

-- kind "usage": one allocation interval of one session, never across a full
-- UTC hour, whole seconds.
CREATE TABLE IF NOT EXISTS billing.usage (
    record_id          bigint PRIMARY KEY CHECK (record_id >= 0),
    tenant             text NOT NULL REFERENCES billing.tenant (name),
    consumer           text NOT NULL,
    session_id         text NOT NULL,
    user_name          text NOT NULL,
    application        text NOT NULL,
    sla                text NOT NULL CHECK (sla IN ('interactive', 'streaming', 'batch')),
    slots              integer NOT NULL CHECK (slots >= 0),
    cpu                numeric NOT NULL CHECK (cpu >= 0),
    memory_mib         bigint NOT NULL CHECK (memory_mib >= 0),
    gpu                numeric NOT NULL CHECK (gpu >= 0),
    start_time         timestamptz NOT NULL,
    end_time           timestamptz NOT NULL,
    seconds            integer NOT NULL,
    cpu_seconds        numeric NOT NULL CHECK (cpu_seconds >= 0),
    memory_gib_seconds numeric NOT NULL CHECK (memory_gib_seconds >= 0),
    gpu_seconds        numeric NOT NULL CHECK (gpu_seconds >= 0),
    busy_slot_seconds  numeric NOT NULL CHECK (busy_slot_seconds >= 0),
    load_id            bigint REFERENCES billing.load_run (load_id),
    -- The daemon closes intervals at every full UTC hour; hourly rollups and
    -- price changes on the hour are exact only if that holds.
    CONSTRAINT usage_within_hour CHECK (
        end_time > start_time
        AND end_time <= (date_trunc('hour', start_time AT TIME ZONE 'UTC') + interval '1 hour') AT TIME ZONE 'UTC'),
    CONSTRAINT usage_seconds CHECK (seconds = extract(epoch FROM end_time - start_time)),
    CONSTRAINT usage_busy_within_slots CHECK (busy_slot_seconds <= slots::numeric * seconds)
);

-- Reports select a period of start_time, often for one tenant, and group
-- sessions; the ledger appends in time order.
CREATE INDEX IF NOT EXISTS usage_start_time_idx ON billing.usage (start_time);
CREATE INDEX IF NOT EXISTS usage_tenant_start_time_idx ON billing.usage (tenant, start_time);
CREATE INDEX IF NOT EXISTS usage_session_idx ON billing.usage (session_id);

-- kind "session": a session that ended.
CREATE TABLE IF NOT EXISTS billing.session (
    record_id                 bigint PRIMARY KEY CHECK (record_id >= 0),
    tenant                    text NOT NULL REFERENCES billing.tenant (name),
    consumer                  text NOT NULL,
    session_id                text NOT NULL,
    user_name                 text NOT NULL,
    application               text NOT NULL,
    sla                       text NOT NULL CHECK (sla IN ('interactive', 'streaming', 'batch')),
    registered                timestamptz NOT NULL,
    ended                     timestamptz NOT NULL,
    end_reason                text NOT NULL CHECK (end_reason IN ('unregistered', 'lease_expired', 'failed')),
    time_to_first_executor_ms bigint CHECK (time_to_first_executor_ms >= 0),  -- NULL: never had one
    preemptions               integer NOT NULL CHECK (preemptions >= 0),
    slots_preempted           integer NOT NULL CHECK (slots_preempted >= 0),
    load_id                   bigint REFERENCES billing.load_run (load_id),
    CHECK (ended >= registered)
);

-- SLA reports select sessions by the time they ended (a closed period's
-- report then never changes); top sessions join on session_id.
CREATE INDEX IF NOT EXISTS session_ended_idx ON billing.session (ended);
CREATE INDEX IF NOT EXISTS session_tenant_ended_idx ON billing.session (tenant, ended);
CREATE INDEX IF NOT EXISTS session_session_idx ON billing.session (session_id);

-- The rate card is kept as versions: each load of the configuration's
-- `billing:` section is a complete card in force from valid_from until the
-- next version, so a price change never reprices earlier usage. Prices are
-- per hour in the version's currency; NULL means "use the `default` row's".
CREATE TABLE IF NOT EXISTS billing.rate_card_version (
    valid_from timestamptz PRIMARY KEY,
    currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    source     text,                      -- the configuration file it came from
    loaded_at  timestamptz NOT NULL DEFAULT now(),
    -- Intervals never cross a full UTC hour, so a card starting on the hour
    -- prices every interval wholly by one card.
    CONSTRAINT rate_card_on_the_hour CHECK (
        valid_from = date_trunc('hour', valid_from AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
);

CREATE TABLE IF NOT EXISTS billing.rate_card (
    valid_from      timestamptz NOT NULL REFERENCES billing.rate_card_version (valid_from) ON DELETE CASCADE,
    sla             text NOT NULL CHECK (sla IN ('default', 'interactive', 'streaming', 'batch')),
    cpu_hour        numeric CHECK (cpu_hour >= 0),
    memory_gib_hour numeric CHECK (memory_gib_hour >= 0),
    gpu_hour        numeric CHECK (gpu_hour >= 0),
    PRIMARY KEY (valid_from, sla)
);

-- Where the Kafka consumer is, per partition: the next offset to read,
-- committed in the same transaction as the records before it, so a restart
-- resumes exactly there whatever happened to the consumer group's offsets.
CREATE TABLE IF NOT EXISTS billing.kafka_offset (
    topic       text NOT NULL,
    partition   integer NOT NULL CHECK (partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    group_id    text,
    load_id     bigint REFERENCES billing.load_run (load_id),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- Every version's resolved prices per SLA class (own price, else default's).
CREATE OR REPLACE VIEW billing.rate_card_effective AS
SELECT v.valid_from,
       lead(v.valid_from) OVER (PARTITION BY c.sla ORDER BY v.valid_from) AS valid_until,
       c.sla,
       v.currency,
       coalesce(r.cpu_hour, d.cpu_hour)               AS cpu_hour,
       coalesce(r.memory_gib_hour, d.memory_gib_hour) AS memory_gib_hour,
       coalesce(r.gpu_hour, d.gpu_hour)               AS gpu_hour
FROM billing.rate_card_version v
CROSS JOIN (VALUES ('interactive'), ('streaming'), ('batch')) AS c (sla)
LEFT JOIN billing.rate_card r ON r.valid_from = v.valid_from AND r.sla = c.sla
LEFT JOIN billing.rate_card d ON d.valid_from = v.valid_from AND d.sla = 'default';

-- Every usage record with the prices of the card in force at its start and
-- its cost. A kind the record did not use costs 0 even without a price; a
-- kind it used without a price leaves that cost (and `cost`) NULL, which the
-- reports count as unpriced rather than silently as free.
CREATE OR REPLACE VIEW billing.usage_priced AS
SELECT p.*,
       p.cpu_cost + p.memory_cost + p.gpu_cost AS cost
FROM (
    SELECT u.*,
           rv.valid_from AS rate_valid_from,
           rv.currency,
           coalesce(r.cpu_hour, d.cpu_hour)               AS cpu_hour,
           coalesce(r.memory_gib_hour, d.memory_gib_hour) AS memory_gib_hour,
           coalesce(r.gpu_hour, d.gpu_hour)               AS gpu_hour,
           CASE WHEN u.cpu_seconds = 0 THEN 0
                ELSE u.cpu_seconds * coalesce(r.cpu_hour, d.cpu_hour) / 3600 END AS cpu_cost,
           CASE WHEN u.memory_gib_seconds = 0 THEN 0
                ELSE u.memory_gib_seconds * coalesce(r.memory_gib_hour, d.memory_gib_hour) / 3600 END AS memory_cost,
           CASE WHEN u.gpu_seconds = 0 THEN 0
                ELSE u.gpu_seconds * coalesce(r.gpu_hour, d.gpu_hour) / 3600 END AS gpu_cost
    FROM billing.usage u
    LEFT JOIN LATERAL (
        SELECT v.valid_from, v.currency
        FROM billing.rate_card_version v
        WHERE v.valid_from <= u.start_time
        ORDER BY v.valid_from DESC
        LIMIT 1
    ) rv ON true
    LEFT JOIN billing.rate_card r ON r.valid_from = rv.valid_from AND r.sla = u.sla
    LEFT JOIN billing.rate_card d ON d.valid_from = rv.valid_from AND d.sla = 'default'
) p;
