"""load_usage.py --kafka against a real Kafka broker (tests/infra/kafka_broker.py): every record exactly once, resuming where the database left off."""

from __future__ import annotations

import json

import pytest

from conftest import DATA

# The broker harness belongs to the Kafka work; without it these tests cannot run.
kafka_broker_module = pytest.importorskip("kafka_broker", reason="tests/infra/kafka_broker.py is not there")
kafka_broker = kafka_broker_module.kafka_broker  # the module-scoped fixture

LINES = (DATA / "ledger.jsonl").read_text(encoding="utf-8").splitlines()


def produce(broker, topic: str, lines: list[str]) -> None:
    """As the daemon does: one message per record, keyed by its tenant."""
    by_tenant: dict[str, list[bytes]] = {}
    for line in lines:
        by_tenant.setdefault(json.loads(line)["tenant"], []).append(line.encode())
    for tenant, values in by_tenant.items():
        broker.produce(topic, values, key=tenant.encode())


def load(db, broker, topic: str, group: str = "billing-test", *extra: str) -> tuple[int, str, str]:
    return db.load("--kafka", broker.bootstrap, "--topic", topic, "--group", group, "--until-idle", "1", *extra)


def test_every_record_exactly_once_across_runs(db, kafka_broker):
    topic = "billing-once"
    kafka_broker.create_topic(topic, partitions=2)

    produce(kafka_broker, topic, LINES[:10])
    rc, out, err = load(db, kafka_broker, topic)
    assert rc == 0, err
    assert out == "loaded 4 usage, 6 session records (0 duplicates skipped) from kafka topic billing-once\n"

    # The rest, plus three records sent again (as the outbox does after a
    # crash between delivery and moving its cursor).
    produce(kafka_broker, topic, LINES[10:] + [LINES[0], LINES[4], LINES[9]])
    rc, out, err = load(db, kafka_broker, topic)
    assert rc == 0, err
    assert out == "loaded 4 usage, 3 session records (3 duplicates skipped) from kafka topic billing-once\n"

    assert [r[0] for r in db.query("SELECT record_id FROM billing.usage ORDER BY 1")] == [1, 3, 6, 7, 11, 12, 14, 16]
    assert [r[0] for r in db.query("SELECT record_id FROM billing.session ORDER BY 1")] == [
        2, 4, 5, 8, 9, 10, 13, 15, 17]
    # Same tables as loading the export file: every field came through.
    file_db_rows = db.table("usage"), db.table("session")
    assert "(17 duplicates skipped)" in db.load_ok("--file", DATA / "ledger.jsonl")
    assert (db.table("usage"), db.table("session")) == file_db_rows

    # The database's offsets are the topic's end, and the group committed them too.
    ends = kafka_broker.end_offsets(topic)
    assert sum(ends.values()) == 20
    assert dict(db.query("SELECT partition, next_offset FROM billing.kafka_offset WHERE topic = %s", topic)) == {
        p: o for p, o in ends.items() if o > 0}
    assert kafka_broker.group_lag("billing-test", topic) == 0

    # Nothing new: nothing loaded, nothing re-read, even by a group that has
    # never committed anything (the database decides where to resume).
    for group in ("billing-test", "another-group"):
        rc, out, err = load(db, kafka_broker, topic, group)
        assert rc == 0, err
        assert out == "loaded 0 usage, 0 session records (0 duplicates skipped) from kafka topic billing-once\n"
    assert db.query("SELECT usage_loaded, session_loaded, duplicates FROM billing.load_run"
                    " WHERE source LIKE 'kafka:%' ORDER BY load_id") == [(4, 6, 0), (4, 3, 3), (0, 0, 0), (0, 0, 0)]


def test_a_bad_message_loads_nothing_of_its_batch_and_names_its_offset(db, kafka_broker):
    topic = "billing-bad"
    kafka_broker.create_topic(topic, partitions=1)
    produce(kafka_broker, topic, LINES[:3])
    assert load(db, kafka_broker, topic)[0] == 0

    bad = json.loads(LINES[3])
    bad["kind"] = "invoice"
    # One producer call, so the three land in this order at offsets 3, 4, 5.
    kafka_broker.produce(topic, [LINES[4], json.dumps(bad), LINES[5]])
    rc, out, err = load(db, kafka_broker, topic)
    assert rc == 1
    assert f"load_usage: error: {topic}[0]@4: field 'kind': unknown kind \"invoice\"" in err
    # Record 5 came before it in the same batch and was not written; the
    # offsets stay at the last good batch, in the database and in the group.
    assert db.scalar("SELECT count(*) FROM billing.session WHERE record_id = 5") == 0
    assert db.query("SELECT partition, next_offset FROM billing.kafka_offset WHERE topic = %s", topic) == [(0, 3)]
    assert kafka_broker.group_lag("billing-test", topic) == 3


def test_a_missing_topic_is_an_error(db, kafka_broker):
    rc, out, err = load(db, kafka_broker, "no-such-topic")
    assert rc == 1 and out == ""
    assert err.startswith("load_usage: error: kafka: ") and "no-such-topic" in err
