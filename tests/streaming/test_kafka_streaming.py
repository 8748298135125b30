"""Streaming sessions on real Kafka, sessiond and Spark: the session grows
while its topic backs up and shrinks back to its minimum once the backlog
drains; and a batch job filling the cluster never takes the stream's
minimum, whose micro-batches keep completing."""

import threading
import time
from pathlib import Path

from kafka_broker import KafkaBroker  # noqa: F401  (the fixture's type)
from spark_harness import EXAMPLES_JAR, spark_config, wait_for

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "streaming" / "kafka_stream.py"
CONNECTOR = Path.home() / ".cache" / "session-scheduler" / "kafka" / "4.2.0" / "connector"

TREE = """\
consumers:
  - {name: A, share: 1, owned: 4}
  - {name: B, share: 1, owned: 4}
"""


def connector_jars():
    jars = sorted(str(p) for p in CONNECTOR.glob("*.jar"))
    assert jars, "no Kafka connector jars in %s: run scripts/kafka-jars.sh" % CONNECTOR
    return ",".join(jars)


def session(admin, consumer):
    for s in admin.admin.list_sessions(""):
        if s.consumer == consumer:
            return s
    return None


def granted(admin, consumer):
    s = session(admin, consumer)
    return s.granted_slots if s else 0


class Sampler:
    """Samples a consumer's granted slots every 0.5 s in the background."""

    def __init__(self, admin, consumer):
        self.admin, self.consumer = admin, consumer
        self.samples = []  # (seconds since start, granted)
        self.t0 = time.time()
        self.stopped = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped:
            try:
                self.samples.append((time.time() - self.t0, granted(self.admin, self.consumer)))
            except Exception:  # noqa: BLE001 - the daemon may be stopping
                pass
            time.sleep(0.5)

    def stop(self):
        self.stopped = True
        self.thread.join()
        return self.samples


def batches(app):
    """[(batch id, rows)] of the app's BATCH lines so far."""
    out = []
    for line in app.out().splitlines():
        if line.startswith("BATCH "):
            parts = line.split()
            out.append((int(parts[1]), int(parts[2].split("=")[1])))
    return out


def streaming_conf(**extra):
    conf = {
        "spark.session.minSlots": 1,
        "spark.session.maxSlots": 4,
        "spark.session.streaming.drainTarget": "10s",
        "spark.session.streaming.lowBacklog": 50,
        "spark.session.streaming.shrinkHold": "4s",
        "spark.sql.shuffle.partitions": 4,
    }
    conf.update(extra)
    return conf


def submit_stream(spark, d, kafka_broker, topic, tmp_path, *args, consumer="/A", **conf):
    return spark.submit(d, "stream", ["--jars", connector_jars(), APP, "--bootstrap", kafka_broker.bootstrap,
                                      "--topic", topic, "--checkpoint", tmp_path / ("ckpt-" + topic)] + list(args),
                        consumer=consumer, sla="streaming", **streaming_conf(**conf))


def test_grows_with_backlog_and_shrinks_back_after_drain(spark, kafka_broker, tmp_path):
    topic = "burst"
    kafka_broker.create_topic(topic, partitions=4)
    d = spark.daemon(spark_config(tmp_path / "data0", grace="1s", hosts=(("h1", 8),), tree=TREE))
    admin = d.client()
    burst = 4000
    app = submit_stream(spark, d, kafka_broker, topic, tmp_path, "--work-ms", 20, "--max-per-trigger", 400,
                        "--expect", burst + 1)
    # Idle, the stream holds its minimum of one slot.
    wait_for(lambda: "STARTED" in app.out() and granted(admin, "/A") == 1, timeout=180, what="stream at its minimum")
    sampler = Sampler(admin, "/A")
    t_burst = time.time()
    kafka_broker.produce(topic, [str(i) for i in range(burst)])
    # Grows above its minimum while it drains the burst...
    wait_for(lambda: granted(admin, "/A") > 1, timeout=120, what="the stream to grow")
    t_grew = time.time() - t_burst
    wait_for(lambda: sum(r for _, r in batches(app)) >= burst, timeout=240, what="the burst to drain")
    t_drained = time.time() - t_burst
    peak = max(g for _, g in sampler.samples)
    # ...and, the backlog gone, gives its slots back one hold at a time.
    wait_for(lambda: granted(admin, "/A") == 1, timeout=120, what="the stream back at its minimum")
    t_min = time.time() - t_burst
    samples = sampler.stop()

    # One more record ends the app cleanly: every record counted once.
    kafka_broker.produce(topic, [str(burst)])
    assert app.wait(timeout=180) == 0, app.tail()
    assert app.result() == "rows=%d sum=%d" % (burst + 1, sum(range(burst + 1)))

    assert peak >= 3, samples
    # Never above the cap, never below the floor, and no flapping: it rose,
    # then fell back monotonically, one slot at a time.
    values = [g for _, g in samples if g > 0]
    assert max(values) <= 4
    top = values.index(peak)
    after = values[top:]
    assert all(b <= a for a, b in zip(after, after[1:])), samples
    assert all(a - b <= 1 for a, b in zip(after, after[1:])), samples
    err = app.err()
    assert "Streaming backlog" in err and "asking for" in err
    print("\nSTREAM burst=%d grew after %.1fs to a peak of %d slots, drained after %.1fs, back at 1 slot after %.1fs"
          % (burst, t_grew, peak, t_drained, t_min))


def test_batch_job_never_takes_the_streaming_minimum(spark, kafka_broker, tmp_path):
    topic = "steady"
    kafka_broker.create_topic(topic, partitions=2)
    # A owns two slots of six, B four. The daemon pins a streaming minimum
    # inside what its consumer owns.
    tree = "consumers:\n  - {name: A, share: 1, owned: 2}\n  - {name: B, share: 1, owned: 4}\n"
    d = spark.daemon(spark_config(tmp_path / "data0", grace="1s", hosts=(("h1", 6),), tree=tree))
    admin = d.client()
    # First a batch job in /B takes the whole idle cluster and wants more.
    batch = spark.submit(d, "batch", ["--class", "io.sessionscheduler.examples.SparkPi", EXAMPLES_JAR, 400, 3000],
                         consumer="/B")
    wait_for(lambda: granted(admin, "/B") == 6, timeout=180, what="the batch job to fill the cluster")

    stop = threading.Event()
    produced = [0]

    def feed():
        while not stop.is_set():
            kafka_broker.produce(topic, [str(produced[0] + i) for i in range(20)])
            produced[0] += 20
            stop.wait(0.5)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        # The stream's minimum comes back from the batch job...
        stream = submit_stream(spark, d, kafka_broker, topic, tmp_path, "--work-ms", 5, "--max-per-trigger", 200,
                               **{"spark.session.minSlots": 2, "spark.session.maxSlots": 2})
        wait_for(lambda: "STARTED" in stream.out() and granted(admin, "/A") == 2, timeout=180,
                 what="the stream at its minimum")
        wait_for(lambda: len(batches(stream)) >= 2, timeout=120, what="the first micro-batches")
        # ...and stays: sampled for 30 s beside a batch job that wants far more.
        before = len(batches(stream))
        seen, batch_slots = set(), set()
        deadline = time.time() + 30
        while time.time() < deadline:
            s = session(admin, "/A")
            seen.add((s.granted_slots, s.revoking))
            batch_slots.add(granted(admin, "/B"))
            time.sleep(0.5)
        assert seen == {(2, 0)}, "the stream's minimum was revoked: %s" % seen
        assert batch_slots == {4}, batch_slots
        assert len(batches(stream)) >= before + 3, "micro-batches stalled beside the batch job"
        assert batch.running(), batch.tail()
    finally:
        stop.set()
        feeder.join()
    assert "Killing task" not in stream.err() and "Giving executor" not in stream.err()
    rows = sum(r for _, r in batches(stream))
    assert 0 < rows <= produced[0]
    print("\nSTREAM minimum held at 2 slots for 30s beside a batch job holding 4 and wanting 400 tasks; "
          "%d micro-batches, %d rows" % (len(batches(stream)), rows))
