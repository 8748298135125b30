#!/usr/bin/env bash
# Kubernetes backend benchmark: a real API server with 1,000 kwok nodes,
# started here on loopback; pods created per second, grant-to-request time
# and the backend's request rate. Writes bench/out/k8s-bench.json.
# Usage: bash bench/k8s/run.sh [--nodes N] [k8s-bench flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build k8s-bench >/dev/null
PY=${SCHED_VENV:-$HOME/.cache/session-scheduler/venv}/bin/python
mkdir -p bench/out
# The per-pod log lines go to a file; the figures to the terminal.
PYTHONPATH=tests/infra "$PY" bench/k8s/with_cluster.py build/bin/k8s-bench "$@" 2>&1 | tee bench/out/k8s-bench.log | grep -v " event="
