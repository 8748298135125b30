"""End-to-end billing tests: a real sessiond (tests/integration's harness),
a real Kafka broker and PostgreSQL (tests/infra), and the sql/ loader."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "tests" / "integration", ROOT / "tests" / "infra", ROOT / "sql"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from harness import make_daemon  # noqa: E402,F401  (fixture)
from kafka_broker import kafka_broker  # noqa: E402,F401  (fixture)
