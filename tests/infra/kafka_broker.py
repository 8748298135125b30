"""A real single-node Apache Kafka broker (KRaft, broker and controller in one
JVM) on loopback for tests, with helpers to create topics, produce, consume
and read a consumer group's lag; and the pytest fixture `kafka_broker`.

The jars come from scripts/kafka-jars.sh (run by scripts/setup.sh), so a test
never reaches the network."""

import base64
import logging
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KAFKA_JARS_SCRIPT = ROOT / "scripts" / "kafka-jars.sh"

# Sized for a 2-core test machine: one partition per internal topic and no
# replication, so the group coordinator and transactions load in a blink.
BROKER_SETTINGS = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "num.partitions": "1",
    "default.replication.factor": "1",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    # After a crash the restarted node waits for its own previous
    # registration to expire; short sessions make a kill-and-restart quick.
    "broker.session.timeout.ms": "2000",
    "broker.heartbeat.interval.ms": "500",
    "auto.create.topics.enable": "false",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "background.threads": "2",
    "log.cleaner.enable": "false",
}

JVM_FLAGS = ["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-Djava.awt.headless=true"]

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = WARN
"""


# librdkafka logs every refused connection to stderr; through a Python logger
# they land in pytest's captured log instead, shown only when a test fails.
CLIENT_LOG = logging.getLogger("kafka_broker.client")


def kafka_jar_dir():
    """The broker jars' folder, fetched by scripts/kafka-jars.sh on first use."""
    out = subprocess.run(["bash", str(KAFKA_JARS_SCRIPT)], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1]) / "broker"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_cluster_id():
    # Kafka's cluster ids are 16 random bytes in URL-safe base64; one that
    # starts with '-' would read as an option on the storage tool's command line.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class KafkaBroker:
    """One broker process under `workdir` (data, config, logs)."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.config = self.workdir / "server.properties"
        self.log = self.workdir / "server.log"
        self.stdout = self.workdir / "broker.out"
        self.port = None
        self.controller_port = None
        self.proc = None
        self._classpath = None

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def _java(self, main, args, flags=(), **popen):
        cmd = ["java"] + list(flags) + [
            "-Dlog4j2.configurationFile=%s" % (self.workdir / "log4j2.properties"),
            "-cp", self._classpath, main] + list(args)
        return subprocess.Popen(cmd, cwd=self.workdir, **popen)

    def _write_config(self):
        settings = dict(BROKER_SETTINGS)
        settings.update({
            "listeners": "PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d" % (self.port, self.controller_port),
            "advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % self.port,
            "controller.quorum.voters": "1@127.0.0.1:%d" % self.controller_port,
            "log.dirs": str(self.data_dir),
        })
        self.config.write_text("".join("%s=%s\n" % kv for kv in settings.items()))
        (self.workdir / "log4j2.properties").write_text(LOG4J2.format(log=self.log))

    def start(self, timeout=60):
        """Formats fresh storage (first start only) and starts the broker."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._classpath is None:
            self._classpath = str(kafka_jar_dir() / "*")
        if self.port is None:
            self.port, self.controller_port = free_port(), free_port()
            self._write_config()
            # The storage tool is a short-lived JVM: the C1 compiler alone
            # starts it faster.
            fmt = self._java("kafka.tools.StorageTool",
                             ["format", "-t", random_cluster_id(), "-c", str(self.config), "--ignore-formatted"],
                             flags=["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            out, _ = fmt.communicate(timeout=timeout)
            if fmt.returncode != 0:
                raise RuntimeError("kafka storage format failed:\n%s" % out)
        self.proc = self._java("kafka.Kafka", [str(self.config)], flags=JVM_FLAGS,
                               stdout=open(self.stdout, "a"), stderr=subprocess.STDOUT)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout):
        from confluent_kafka.admin import AdminClient
        deadline = time.time() + timeout
        admin = AdminClient(self.client_conf())
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("kafka broker exited with %s:\n%s" % (self.proc.returncode, self.tail()))
            try:
                md = admin.list_topics(timeout=2)
                if md.brokers:
                    return
            except Exception:  # noqa: BLE001 - not answering yet is the normal case
                pass
            if time.time() > deadline:
                self.kill()
                raise RuntimeError("kafka broker did not answer in %ss:\n%s" % (timeout, self.tail()))
            time.sleep(0.2)

    def tail(self, n=40):
        text = ""
        for p in (self.stdout, self.log):
            if p.exists():
                text += "\n".join(p.read_text(errors="replace").splitlines()[-n:]) + "\n"
        return text

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """A clean shutdown (SIGTERM); SIGKILL if it hangs."""
        if not self.running():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        """A crash: SIGKILL, no flush, no controlled shutdown."""
        if self.running():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def restart(self, timeout=60, clean=True):
        """Same data and ports: clients reconnect to the address they had."""
        if clean:
            self.stop()
        else:
            self.kill()
        return self.start(timeout=timeout)

    # --- clients ---------------------------------------------------------

    def client_conf(self, extra=None):
        """confluent-kafka settings for a client of this broker."""
        conf = {"bootstrap.servers": self.bootstrap, "logger": CLIENT_LOG}
        conf.update(extra or {})
        return conf

    def admin(self):
        from confluent_kafka.admin import AdminClient
        return AdminClient(self.client_conf())

    def create_topic(self, name, partitions=1, timeout=30):
        from confluent_kafka.admin import NewTopic
        # The admin client must outlive its futures: a collected one cancels them.
        admin = self.admin()
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                                             operation_timeout=timeout, request_timeout=timeout)
        futures[name].result(timeout=timeout)
        # Metadata reaches the broker side a moment after the controller
        # commits the topic; a producer right after would see it unknown.
        deadline = time.time() + timeout
        while time.time() < deadline:
            md = admin.list_topics(topic=name, timeout=5)
            t = md.topics.get(name)
            if t is not None and t.error is None and len(t.partitions) == partitions and \
                    all(p.leader >= 0 for p in t.partitions.values()):
                return
            time.sleep(0.1)
        raise RuntimeError("topic %s has no leaders after %ss" % (name, timeout))

    def produce(self, topic, values, key=None, timeout=60):
        """Sends each value (str or bytes) and waits until all are acknowledged."""
        from confluent_kafka import Producer
        p = Producer(self.client_conf({"linger.ms": 5, "acks": "all"}))
        errors = []

        def on_delivery(err, _msg):
            if err is not None:
                errors.append(err)

        for v in values:
            while True:
                try:
                    p.produce(topic, value=v, key=key, on_delivery=on_delivery)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        left = p.flush(timeout)
        if left or errors:
            raise RuntimeError("produce to %s: %d unsent, errors %s" % (topic, left, errors[:3]))

    def _partitions(self, topic):
        md = self.admin().list_topics(topic=topic, timeout=10)
        return sorted(md.topics[topic].partitions)

    def consume_all(self, topic, timeout=30):
        """Every record now in the topic, as (key, value) bytes pairs,
        partition by partition; reads up to the end offsets taken at the start."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer(self.client_conf({"group.id": "consume-all-%s" % uuid.uuid4().hex,
                                     "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
        try:
            ends = {}
            for p in self._partitions(topic):
                low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    ends[p] = high
            c.assign([TopicPartition(topic, p, 0) for p in ends])
            got = {p: [] for p in ends}
            deadline = time.time() + timeout
            while any(got[p] and got[p][-1][0] + 1 < ends[p] or not got[p] for p in ends):
                if time.time() > deadline:
                    raise TimeoutError("consume_all(%s): read %d of %s in %ss" %
                                       (topic, sum(map(len, got.values())), ends, timeout))
                for m in c.consume(num_messages=500, timeout=0.5):
                    if m.error() is None and m.partition() in got and m.offset() < ends[m.partition()]:
                        got[m.partition()].append((m.offset(), m.key(), m.value()))
            return [(k, v) for p in sorted(got) for _, k, v in got[p]]
        finally:
            c.close()

    def end_offsets(self, topic):
        """{partition: next offset} of the topic."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer(self.client_conf({"group.id": "end-offsets"}))
        try:
            return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                    for p in self._partitions(topic)}
        finally:
            c.close()

    def group_lag(self, group, topic):
        """Records of `topic` the consumer group has not committed yet (a
        partition it never committed counts from the start)."""
        from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
        c = Consumer(self.client_conf({"group.id": group, "enable.auto.commit": False}))
        # Right after the broker starts, the group's coordinator may not be
        # known or loaded yet. committed() does not flag these retriable (a CI
        # run failed on NOT_COORDINATOR), so they are named here.
        coordinator_moving = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                              KafkaError.COORDINATOR_NOT_AVAILABLE}
        try:
            parts = [TopicPartition(topic, p) for p in self._partitions(topic)]
            deadline = time.monotonic() + 30
            while True:
                try:
                    committed = c.committed(parts, timeout=10)
                    break
                except KafkaException as e:
                    err = e.args[0] if e.args else None
                    transient = err is not None and (err.retriable() or err.code() in coordinator_moving)
                    if not transient or time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            lag = 0
            for tp in committed:
                low, high = c.get_watermark_offsets(tp, timeout=10)
                lag += high - (tp.offset if tp.offset >= 0 else low)
            return lag
        finally:
            c.close()


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    """One broker per test module (starting one costs a few seconds); tests
    keep apart by topic name."""
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()
    shutil.rmtree(broker.data_dir, ignore_errors=True)
