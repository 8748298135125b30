"""The ledger's Kafka export survives the worst: sessiond killed with -9 while
exporting, and the broker down for a minute and back. Afterwards the SQL
table, loaded from the topic by sql/load_usage.py, holds every record exactly
once and its totals equal the ledger's, which equals the integral of what
the sessions held."""

import io
import json
import random
import time
from collections import defaultdict
from datetime import datetime, timezone

import load_usage
import postgres
import psycopg
import session_scheduler as ss

from harness import base_config, granted, wait_for

TOPIC = "session-usage"


def utc(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ledger(client, t0_ms):
    """Every record the daemon's ledger holds since t0, by id."""
    out = {}
    q = ss.api.UsageQuery(from_ms=t0_ms - 3_600_000, to_ms=int(time.time() * 1000) - 1, kind="all", limit=5000)
    while True:
        page = client.admin.export_usage(q)
        for r in page.records:
            rec = json.loads(r)
            out[rec["record_id"]] = rec
        if not page.next_page_token:
            return out
        q.page_token = page.next_page_token


def load(dsn, broker):
    out, err = io.StringIO(), io.StringIO()
    rc = load_usage.main(["--dsn", dsn, "--kafka", broker.bootstrap, "--topic", TOPIC, "--group", "billing-e2e",
                          "--until-idle", "2"], out=out, err=err)
    assert rc == 0, out.getvalue() + err.getvalue()
    return out.getvalue()


def churn(sessions, rounds, rng):
    """Demand changes a second apart: each one closes usage intervals."""
    for _ in range(rounds):
        for s in sessions:
            s.update_demand(slots=rng.randint(0, 6))
        time.sleep(1.05)


def test_kafka_export_loses_nothing_through_kill9_and_a_broker_outage(make_daemon, kafka_broker, tmp_path):
    kafka_broker.create_topic(TOPIC, partitions=3)
    extra = f"billing:\n  kafka: {{brokers: \"{kafka_broker.bootstrap}\", topic: {TOPIC}}}\n"
    d = make_daemon(base_config(tmp_path / "data", extra=extra)).start()
    c = d.client()
    t0 = int(time.time() * 1000)
    rng = random.Random(7)
    consumers = ["/A", "/B/B1", "/B/B2"]
    sessions = [c.register(consumers[i % 3], initial_demand=3, application="job-%d" % i, user="u%d" % (i % 4))
                for i in range(12)]
    wait_for(lambda: sum(granted(c, x) for x in consumers) == 20, what="the cluster full")
    churn(sessions, 4, rng)

    # kill -9 while records are being produced.
    for s in sessions:
        s.update_demand(slots=rng.randint(0, 6))
    time.sleep(0.3)
    d.kill9()
    d.start()
    c = d.client()
    for s in sessions:
        s.client = c
    churn(sessions, 3, rng)

    # The broker goes away for a minute; sessions keep changing (and their
    # drivers keep their leases) meanwhile.
    kafka_broker.stop()
    down = time.time()
    while time.time() - down < 60:
        churn(sessions, 1, rng)
    kafka_broker.start()
    churn(sessions, 3, rng)
    for s in sessions:
        s.unregister()
    wait_for(lambda: all("event=usage_end session=" + s.id in d.log() for s in sessions), what="all sessions ended")
    time.sleep(1.1)
    records = ledger(c, t0)
    assert len(records) > 100, len(records)
    assert sorted(records) == list(range(min(records), max(records) + 1)), "ids are gapless"

    with postgres.PostgresServer() as pg:
        name = pg.create_database("billing_e2e")
        dsn = pg.dsn(name)
        out, err = io.StringIO(), io.StringIO()
        assert load_usage.main(["--dsn", dsn, "--init"], out=out, err=err) == 0, err.getvalue()
        loaded = []

        def all_loaded():
            loaded.append(load(dsn, kafka_broker))
            with psycopg.connect(dsn) as conn:
                n = conn.execute("SELECT (SELECT count(*) FROM billing.usage) + (SELECT count(*) FROM billing.session)"
                                 ).fetchone()[0]
            return n >= len(records)

        wait_for(all_loaded, timeout=120, interval=1, what="every ledger record in PostgreSQL")
        with psycopg.connect(dsn) as conn:
            usage_ids = [r[0] for r in conn.execute("SELECT record_id FROM billing.usage ORDER BY 1")]
            session_ids = [r[0] for r in conn.execute("SELECT record_id FROM billing.session ORDER BY 1")]
            sql_totals = conn.execute(
                "SELECT tenant, sum(cpu_seconds), sum(memory_gib_seconds), sum(seconds * slots) FROM billing.usage"
                " GROUP BY tenant ORDER BY tenant").fetchall()

    # Exactly once: the same ids as the ledger, none twice, none missing.
    want_usage = sorted(i for i, r in records.items() if r["kind"] == "usage")
    want_sessions = sorted(i for i, r in records.items() if r["kind"] == "session")
    assert usage_ids == want_usage
    assert session_ids == want_sessions
    totals = defaultdict(lambda: [0, 0, 0])
    for r in records.values():
        if r["kind"] == "usage":
            t = totals[r["tenant"]]
            t[0] += r["cpu_seconds"]
            t[1] += r["memory_gib_seconds"]
            t[2] += r["seconds"] * r["slots"]
    assert [(t, float(a), float(b), int(s)) for t, a, b, s in sql_totals] == \
        [(t, float(v[0]), float(v[1]), v[2]) for t, v in sorted(totals.items())]

    # And the ledger is the integral of what the sessions held.
    from test_billing import held_integrals
    expected, _ = held_integrals(d.log())
    billed = defaultdict(int)
    for r in records.values():
        if r["kind"] == "usage":
            billed[r["session"]] += r["slots"] * r["seconds"]
    assert dict(billed) == {k: v for k, v in expected.items() if v}
    # The export really went through both failures.
    log = d.log()
    assert log.count("event=listening") == 2
