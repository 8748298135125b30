"""Runs billing-bench with a real single-node Kafka broker (tests/infra) on
loopback, so the Kafka export figure is measured against the real thing."""

import subprocess
import sys
import tempfile

from kafka_broker import KafkaBroker

bench, args = sys.argv[1], sys.argv[2:]
with tempfile.TemporaryDirectory(prefix="billing-bench-kafka-") as work:
    broker = KafkaBroker(work)
    broker.start()
    try:
        broker.create_topic("billing-bench", partitions=6)
        sys.exit(subprocess.call([bench, "--kafka", broker.bootstrap, "--topic", "billing-bench", *args]))
    finally:
        broker.stop()
