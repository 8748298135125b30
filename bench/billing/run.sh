#!/usr/bin/env bash
# Billing benchmark: metering overhead on the decision path (10,000 sessions),
# ledger write throughput, file export and, against a real Kafka broker
# started here on loopback, Kafka export throughput. Writes
# bench/out/billing-bench.json. Usage: bash bench/billing/run.sh [billing-bench flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build billing-bench >/dev/null
PY=${SCHED_VENV:-$HOME/.cache/session-scheduler/venv}/bin/python
mkdir -p bench/out
PYTHONPATH=tests/infra "$PY" bench/billing/with_kafka.py build/bin/billing-bench "$@"
