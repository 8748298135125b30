#!/usr/bin/env bash
# The main job, for now: install what is missing, build, and replay the
# reference scenario of the design in the simulator, printing its timeline
# (readable, on stderr) and one JSON line per step (stdout).
# A later issue turns this into a real multi-tenant Spark workload.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build session-sim >/dev/null

SCENARIO=${1:-examples/scenarios/reference.yaml}
echo "== session-sim $SCENARIO" >&2
./build/bin/session-sim --timeline "$SCENARIO"
