#!/usr/bin/env bash
# Runs every test from a clean checkout: installs what is missing, builds,
# runs the whole suite (and the unit tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer), and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-$(nproc)}

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
# ctest's summary "97% tests passed, 1 tests failed out of 40" -> counts.
count_ctest() {
  local log=$1 line total bad
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  if [[ -z $line ]]; then
    echo "no ctest summary in $log" >&2
    failed=$((failed + 1))
    return
  fi
  bad=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + total - bad))
  failed=$((failed + bad))
}

# pytest's summary "== 3 passed, 1 failed, 2 errors in 9.1s ==" -> counts.
count_pytest() {
  local log=$1 line p f e
  line=$(grep -E "^=+ .*(passed|failed|error).* in [0-9.]+s" "$log" | tail -1)
  if [[ -z $line ]]; then
    echo "no pytest summary in $log" >&2
    failed=$((failed + 1))
    return
  fi
  p=$(grep -oE "[0-9]+ passed" <<<"$line" | grep -oE "[0-9]+" || echo 0)
  f=$(grep -oE "[0-9]+ failed" <<<"$line" | grep -oE "[0-9]+" || echo 0)
  e=$(grep -oE "[0-9]+ errors?" <<<"$line" | grep -oE "[0-9]+" || echo 0)
  passed=$((passed + p))
  failed=$((failed + f + e))
}

build() {  # build DIR TARGET [cmake args...]
  local dir=$1 target=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  ninja -C "$dir" -j "$JOBS" $target >"$dir.build.log" 2>&1 || { tail -60 "$dir.build.log"; return 1; }
}

mkdir -p build
echo "== build (RelWithDebInfo)"
if build build all -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  echo "== tests"
  (cd build && ctest --output-on-failure -j "$JOBS" --timeout 600) 2>&1 | tee build/ctest.log
  count_ctest build/ctest.log
  echo "== Python client, integration (real sessiond, executors, Prometheus), billing (Kafka, PostgreSQL), Spark, streaming and Kubernetes (API server, chart) end-to-end tests"
  PY=${SCHED_VENV:-$HOME/.cache/session-scheduler/venv}/bin/python
  # Two runs: each folder's conftest.py is its own module named conftest.
  for suite in client/python/tests tests/integration tests/infra tests/sql tests/billing tests/spark tests/streaming tests/k8s; do
    log=build/pytest-$(basename "$(dirname "$suite")")-$(basename "$suite").log
    PYTHONPATH=$ROOT/build/python:$ROOT/client/python "$PY" -m pytest -p no:cacheprovider "$suite" 2>&1 | tee "$log"
    count_pytest "$log"
  done
else
  echo "build failed"
  failed=$((failed + 1))
fi

if [[ ${SKIP_SANITIZERS:-0} != 1 ]]; then
  echo "== build (ASan+UBSan) and unit tests under sanitizers"
  if build build-asan unit-tests -DCMAKE_BUILD_TYPE=Debug -DSCHED_SANITIZE=ON; then
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure -j "$JOBS" -L unit --timeout 900) 2>&1 | tee build-asan/ctest.log
    count_ctest build-asan/ctest.log
  else
    echo "sanitizer build failed"
    failed=$((failed + 1))
  fi
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
