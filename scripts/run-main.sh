#!/usr/bin/env bash
# The main job: install what is missing, build, then
#  1. replay the reference scenario of the design in the simulator (virtual
#     time; the readable timeline on stderr, one JSON line per step on stdout);
#  2. start sessiond (local backend, RocksDB state under ./data, loopback
#     ports) and run a multi-tenant workload against it in real time: a batch
#     job in A fills the machine, an interactive session in B1 is served after
#     the grace period, a batch job in B2 reclaims its share. Executors are
#     real local processes (a stand-in executor; real Spark comes with the
#     Spark plugin).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build session-sim sessiond sessionctl python-api >/dev/null

SCENARIO=${1:-examples/scenarios/reference.yaml}
echo "== session-sim $SCENARIO" >&2
./build/bin/session-sim --timeline "$SCENARIO"

echo "== sessiond (state in ./data, API 127.0.0.1:7420, metrics 127.0.0.1:7421)" >&2
mkdir -p data
./build/bin/sessiond --config examples/daemon/demo.yaml --log-level warn 2>data/sessiond.log &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs http://127.0.0.1:7421/readyz >/dev/null 2>&1 && break
  kill -0 $DAEMON 2>/dev/null || { cat data/sessiond.log; exit 1; }
  sleep 0.1
done
PY=${SCHED_VENV:-$HOME/.cache/session-scheduler/venv}/bin/python
"$PY" examples/daemon/multi_tenant_demo.py
