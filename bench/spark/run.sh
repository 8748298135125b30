#!/usr/bin/env bash
# Interactive time to first task, sessiond against Spark's standalone master
# (bench/spark/ttft.py does the work). Uses the pyspark venv of tests/spark
# and the existing build/ (built only if sessiond or the plugin jar is
# missing). Writes bench/out/spark-ttft.json and its section of
# bench/README.md, and prints the figures. Takes about a quarter of an hour.
#
#   bash bench/spark/run.sh                  the whole benchmark
#   bash bench/spark/run.sh --report-only    the README section again, from the JSON
#   TTFT_* variables: see bench/README.md or the CONFIG of ttft.py
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${SESSION_SCHEDULER_VENV:-$HOME/.cache/session-scheduler/venv}
BUILD=${SCHED_BUILD_DIR:-$ROOT/build}

if [[ ! -x "$VENV/bin/python" || ! -x "$VENV/bin/spark-submit" ]]; then
  echo "spark-ttft: no pyspark venv at $VENV (scripts/setup.sh creates it)" >&2
  exit 1
fi
if [[ "${1:-}" != "--report-only" ]] &&
  [[ ! -x "$BUILD/bin/sessiond" || ! -f "$BUILD/jars/spark-session-backend.jar" ]]; then
  echo "spark-ttft: building sessiond and the plugin jar in $BUILD" >&2
  cmake --build "$BUILD" --target sessiond spark-backend-jar >&2 || cmake --build "$BUILD" >&2
fi
export SCHED_BUILD_DIR="$BUILD"
exec "$VENV/bin/python" "$ROOT/bench/spark/ttft.py" "$@"
