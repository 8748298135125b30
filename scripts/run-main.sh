#!/usr/bin/env bash
# The main job: install what is missing, build, then
#  1. replay the reference scenario of the design in the simulator (virtual
#     time; the readable timeline on stderr, one JSON line per step on stdout);
#  2. start sessiond on its embedded default configuration (local backend,
#     RocksDB state under ./data, loopback ports) plus examples/daemon/demo.yaml
#     (the reference tree A, B/B1, B/B2 on two virtual hosts of 4 slots);
#  3. run real Spark against it (examples/spark/multi_tenant_demo.py): a batch
#     job submitted with stock spark-submit fills the cluster for tenant A, a
#     notebook-style interactive session in B/B1 takes B's share back; prints
#     the slots per consumer over time and the notebook's time to first task;
#  4. stop sessiond and reap the executors it started (they outlive it by design).
# Ports: 127.0.0.1:7420 (API) and :7421 (metrics); MAIN_API / MAIN_METRICS move them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build session-sim sessiond sessionctl python-api spark-backend-jar >/dev/null

SCENARIO=${1:-examples/scenarios/reference.yaml}
echo "== session-sim $SCENARIO" >&2
./build/bin/session-sim --timeline "$SCENARIO"

API=${MAIN_API:-127.0.0.1:7420}
METRICS=${MAIN_METRICS:-127.0.0.1:7421}
echo "== sessiond (state in ./data, API $API, metrics $METRICS)" >&2
mkdir -p data
# Executors inherit the daemon's environment, so this mark (given to the
# daemon only) finds exactly the processes this run's daemon started.
MARK="$PWD/data#$$"
reap_executors() {
  local f pid pids=()
  for f in /proc/[0-9]*/environ; do
    if grep -qzxF "SESSION_SCHEDULER_MAIN_JOB=$MARK" "$f" 2>/dev/null; then
      pid=${f#/proc/}
      pids+=("${pid%/environ}")
    fi
  done
  ((${#pids[@]})) || return 0
  echo "== reaping ${#pids[@]} executor process(es) left by sessiond" >&2
  # Executors lead their own process groups: the group takes their Python workers too.
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  sleep 2
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
}
SESSION_SCHEDULER_MAIN_JOB=$MARK ./build/bin/sessiond --config examples/daemon/demo.yaml --log-level warn \
  --listen "$API" --metrics-listen "$METRICS" 2>data/sessiond.log &
DAEMON=$!
cleanup() {
  kill "$DAEMON" 2>/dev/null || true
  wait "$DAEMON" 2>/dev/null || true
  reap_executors
}
trap cleanup EXIT
for _ in $(seq 100); do
  curl -fs "http://$METRICS/readyz" >/dev/null 2>&1 && break
  kill -0 $DAEMON 2>/dev/null || { cat data/sessiond.log; exit 1; }
  sleep 0.1
done
curl -fs "http://$METRICS/readyz" >/dev/null 2>&1 || { echo "sessiond is not ready after 10s" >&2; cat data/sessiond.log; exit 1; }

echo "== Spark on sessiond: a batch tenant fills the cluster, an interactive notebook takes its share back" >&2
PY=${SCHED_VENV:-$HOME/.cache/session-scheduler/venv}/bin/python
"$PY" examples/spark/multi_tenant_demo.py --server "$API" --token-file data/admin.token
