#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (own build dir) and runs each for a
# bounded time on a copy of its seed corpus. Prints "fuzz <name>: ok (N runs)"
# per target; exits non-zero on any crash, leak, timeout or OOM, naming the
# reproducer.
#
#   FUZZ_SECONDS=30   time per target
#   FUZZ_BUILD_DIR    build directory (default: build-fuzz)
#   FUZZ_JOBS=1       ninja -j
#   FUZZ_KEEP=0       1: keep the grown corpora (printed path)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_KEEP=${FUZZ_KEEP:-0}
HERE="$ROOT/tests/fuzz"

CXX_BIN=${FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}
C_BIN=${FUZZ_CC:-$(command -v clang-14 || command -v clang || true)}
if [[ -z "$CXX_BIN" || -z "$C_BIN" ]]; then
  echo "fuzz: clang is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi

mkdir -p "$BUILD_DIR"
if ! cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX_BIN" \
  -DCMAKE_C_COMPILER="$C_BIN" -DSCHED_FUZZ=ON >"$BUILD_DIR/fuzz-configure.log" 2>&1; then
  echo "fuzz: configure failed, see $BUILD_DIR/fuzz-configure.log" >&2
  tail -20 "$BUILD_DIR/fuzz-configure.log" >&2
  exit 1
fi
if ! ninja -C "$BUILD_DIR" -j "$FUZZ_JOBS" fuzz-request-decoding fuzz-config fuzz-request-seeds \
  >"$BUILD_DIR/fuzz-build.log" 2>&1; then
  echo "fuzz: build failed, see $BUILD_DIR/fuzz-build.log" >&2
  grep -A15 -m3 'FAILED\|error:' "$BUILD_DIR/fuzz-build.log" >&2 || tail -30 "$BUILD_DIR/fuzz-build.log" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sched-fuzz.XXXXXX")
if [[ "$FUZZ_KEEP" != 1 ]]; then trap 'rm -rf "$work"' EXIT; fi
# Crash reproducers outlive the temp dir.
artifacts="$BUILD_DIR/fuzz-artifacts"
mkdir -p "$artifacts"

# Seeds: committed request frames plus freshly generated ones (the IDL may
# have grown); the config fuzzer gets the committed configs and the consumer
# lists of the example scenarios.
mkdir -p "$work/request" "$work/config"
cp "$HERE"/corpus/request/* "$work/request/" 2>/dev/null || true
"$BUILD_DIR/bin/fuzz-request-seeds" "$work/request/"
cp "$HERE"/corpus/config/* "$work/config/"
for s in "$ROOT"/examples/scenarios/*.yaml; do
  # The top-level `consumers:` block, up to the next top-level key.
  awk '/^consumers:/ {on=1; print; next} on && /^[^ #-]/ {on=0} on {print}' "$s" >"$work/config/scenario-$(basename "$s")"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
run_target() {
  local name=$1 corpus=$2 max_len=$3
  shift 3
  local log="$work/$name.log"
  mkdir -p "$artifacts/$name"
  local rc=0
  "$BUILD_DIR/bin/$name" -max_total_time="$FUZZ_SECONDS" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$name/" "$@" "$corpus" >"$log" 2>&1 || rc=$?
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [[ $rc -eq 0 ]]; then
    echo "fuzz $name: ok (${runs:-?} runs)"
    return
  fi
  failed=1
  local repro
  repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  cp "$log" "$artifacts/$name/last-failure.log"
  echo "fuzz $name: FAILED (exit $rc) reproducer: ${repro:-none written} log: $artifacts/$name/last-failure.log"
  grep -m1 -E '^==[0-9]+==ERROR|runtime error|^SUMMARY' "$log" | sed 's/^/    /' || true
}

run_target fuzz-request-decoding "$work/request" 4096
run_target fuzz-config "$work/config" 4096 -dict="$HERE/config.dict"
if [[ "$FUZZ_KEEP" == 1 ]]; then echo "fuzz: corpora kept in $work"; fi
exit $failed
