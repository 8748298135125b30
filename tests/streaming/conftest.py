"""pytest set-up of the streaming-session tests: the Spark harness's `spark`
fixture (tests/spark) and the real Kafka broker's `kafka_broker` fixture
(tests/infra)."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for d in ("spark", "infra"):
    if str(TESTS / d) not in sys.path:
        sys.path.insert(0, str(TESTS / d))

from kafka_broker import kafka_broker  # noqa: E402,F401  (a fixture)
from spark_harness import spark  # noqa: E402,F401  (a fixture)
