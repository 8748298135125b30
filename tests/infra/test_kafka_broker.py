"""Self-test of tests/infra/kafka_broker.py: a real broker starts, keeps what
it was sent across clean and crash restarts, and reports a group's lag."""

import time

from confluent_kafka import Consumer

from kafka_broker import KafkaBroker, kafka_broker  # noqa: F401  (a fixture)


def test_produce_consume_and_restart(tmp_path):
    b = KafkaBroker(tmp_path / "k")
    t0 = time.time()
    b.start()
    started = time.time() - t0
    try:
        assert b.bootstrap.startswith("127.0.0.1:")
        b.create_topic("events", partitions=2)
        b.produce("events", ["v%d" % i for i in range(100)])
        b.produce("events", [b"keyed"], key=b"k1")
        got = b.consume_all("events", timeout=30)
        assert len(got) == 101
        assert sorted(v for _, v in got if v != b"keyed") == sorted(b"v%d" % i for i in range(100))
        assert (b"k1", b"keyed") in got

        port = b.port
        t1 = time.time()
        b.restart()
        restarted = time.time() - t1
        assert b.port == port
        assert len(b.consume_all("events", timeout=30)) == 101

        # A crash loses nothing acknowledged with acks=all on one node
        # either: the log segments are on disk, recovery re-reads them.
        b.produce("events", ["after-restart"])
        b.restart(clean=False)
        values = [v for _, v in b.consume_all("events", timeout=30)]
        assert len(values) == 102 and b"after-restart" in values
    finally:
        b.stop()
    assert not b.running()
    print("broker: first start %.1fs, clean restart %.1fs" % (started, restarted))


def test_group_lag(kafka_broker):
    kafka_broker.create_topic("lag")
    kafka_broker.produce("lag", [str(i) for i in range(10)])
    assert kafka_broker.group_lag("g1", "lag") == 10
    c = Consumer({"bootstrap.servers": kafka_broker.bootstrap, "group.id": "g1",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe(["lag"])
    read = []
    deadline = time.time() + 30
    while len(read) < 4 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            read.append(m)
    c.commit(message=read[3], asynchronous=False)
    c.close()
    assert kafka_broker.group_lag("g1", "lag") == 6
    assert kafka_broker.end_offsets("lag") == {0: 10}
