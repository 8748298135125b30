#!/usr/bin/env bash
# Runs the scheduling-core benchmark, YuniKorn's reference benchmark and a profile, then regenerates bench/README.md.
#
# scheduler-bench runs pinned to one core. A missed target never fails this script; a build failure or crash does.
#
# Environment knobs (all optional):
#   BUILD_DIR           build tree to use or create (default: build; configured Release if it does not exist)
#   BENCH_CPU           core to pin the benchmark to with taskset (default 0; empty: no pinning)
#   SKIP_YUNIKORN=1     do not run bench/yunikorn/run.sh (it takes ~1-3 min and needs Go + the module proxy)
#   SKIP_PROFILE=1      do not run the perf profile (needs perf; builds $PROFILE_BUILD_DIR with frame pointers)
#   PROFILE_BUILD_DIR   build tree for the profile (default: build-profile)
#   SKIP_REPORT=1       leave bench/README.md as it is
#   SKIP_REBALANCE=1    do not run the churn again with rebalance on (REBALANCE_THRESHOLD [0.8], REBALANCE_DELAY_MS [30000])
#   SEEDS="1 2 3"       other seeds for the incremental loop, default mode and rebalance ("" to skip; ~20 s each)
# Extra arguments go to scheduler-bench, e.g. `bench/run.sh --incremental-budget-s 120`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
PROFILE_BUILD_DIR="${PROFILE_BUILD_DIR:-build-profile}"
OUT="bench/out"
BENCH_CPU="${BENCH_CPU-0}"
mkdir -p "$OUT"

log() { printf '[bench] %s\n' "$*" >&2; }

# ------------------------------------------------------------------ build
# Reuse an existing tree as configured (others may share it); create a Release one otherwise.
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    log "configuring $BUILD_DIR (Release)"
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"
[[ "$build_type" == "Release" ]] || log "note: $BUILD_DIR is a '$build_type' build; figures are meant for Release"
log "building scheduler-bench in $BUILD_DIR"
ninja -C "$BUILD_DIR" scheduler-bench >&2
BENCH="$BUILD_DIR/bin/scheduler-bench"
# The profile binary is built now too, so both measure the same source even while others edit service/.
perf_works() { command -v perf >/dev/null 2>&1 && perf record -q -o /dev/null true 2>/dev/null; }
PROFILE=0
if [[ "${SKIP_PROFILE:-0}" != "1" ]] && perf_works; then
    PROFILE=1
    if [[ ! -f "$PROFILE_BUILD_DIR/build.ninja" ]]; then
        log "configuring $PROFILE_BUILD_DIR (Release + frame pointers, for perf call graphs)"
        cmake -S . -B "$PROFILE_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
            -DCMAKE_CXX_FLAGS="-g -fno-omit-frame-pointer" >/dev/null
    fi
    log "building scheduler-bench in $PROFILE_BUILD_DIR"
    ninja -C "$PROFILE_BUILD_DIR" scheduler-bench >&2
fi
# Name the code measured (as built): the commit, and whether the core had uncommitted changes.
SOURCE="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain -- service 2>/dev/null)" ]]; then
    SOURCE="$SOURCE with uncommitted changes in service/"
fi

# ------------------------------------------------------------------ our benchmark
PIN=()
if [[ -n "$BENCH_CPU" ]] && command -v taskset >/dev/null 2>&1 && taskset -c "$BENCH_CPU" true 2>/dev/null; then
    PIN=(taskset -c "$BENCH_CPU")
else
    log "not pinning the benchmark to one core (taskset missing or BENCH_CPU empty)"
fi
log "running ${PIN[*]} $BENCH $*"
"${PIN[@]}" "$BENCH" --out "$OUT/scheduler-bench.json" "$@" | tee "$OUT/scheduler-bench.txt"

# The same churn with rebalance on (threshold and delay), for the fairness it buys and what it costs.
REBALANCE_ARGS=()
if [[ "${SKIP_REBALANCE:-0}" != "1" ]]; then
    log "running the incremental loop again with rebalance on"
    "${PIN[@]}" "$BENCH" --only incremental --rebalance-threshold "${REBALANCE_THRESHOLD:-0.8}" \
        --rebalance-delay-ms "${REBALANCE_DELAY_MS:-30000}" --out "$OUT/scheduler-bench-rebalance.json" "$@" \
        | tee "$OUT/scheduler-bench-rebalance.txt"
    REBALANCE_ARGS=(--rebalance-bench "$OUT/scheduler-bench-rebalance.json")
fi

# The incremental loop on other seeds: how much of a fairness figure is the draw of one cluster.
SEED_ARGS=()
for seed in ${SEEDS-1 2 3}; do
    log "incremental loop, seed $seed (default, then rebalance)"
    "${PIN[@]}" "$BENCH" --seed "$seed" --only incremental --out "$OUT/seed-$seed.json" "$@" >/dev/null
    SEED_ARGS+=(--seed-bench "$OUT/seed-$seed.json")
    if [[ "${SKIP_REBALANCE:-0}" != "1" ]]; then
        "${PIN[@]}" "$BENCH" --seed "$seed" --only incremental --rebalance-threshold "${REBALANCE_THRESHOLD:-0.8}" \
            --rebalance-delay-ms "${REBALANCE_DELAY_MS:-30000}" --out "$OUT/seed-$seed-rebalance.json" "$@" >/dev/null
        SEED_ARGS+=(--seed-bench "$OUT/seed-$seed-rebalance.json")
    fi
done

# ------------------------------------------------------------------ YuniKorn
YK_JSON="$OUT/yunikorn.jsonl"
YK_STATUS=""
if [[ "${SKIP_YUNIKORN:-0}" == "1" ]]; then
    YK_STATUS="skipped (SKIP_YUNIKORN=1); the YuniKorn column is empty."
    : >"$YK_JSON"
else
    log "running bench/yunikorn/run.sh (1-3 minutes; progress in $OUT/yunikorn.log)"
    set +e
    bench/yunikorn/run.sh >"$YK_JSON" 2>"$OUT/yunikorn.log"
    yk_rc=$?
    set -e
    case $yk_rc in
        0) YK_STATUS="" ;;
        3) YK_STATUS="not run: no working Go toolchain (bench/yunikorn/run.sh exit 3)." ;;
        4) YK_STATUS="not run: the YuniKorn module or its dependencies could not be downloaded (exit 4)." ;;
        *) YK_STATUS="failed with exit code $yk_rc; see $OUT/yunikorn.log." ;;
    esac
    [[ -z "$YK_STATUS" ]] && cat "$YK_JSON" || log "YuniKorn: $YK_STATUS"
fi

# ------------------------------------------------------------------ profile
# perf samples only the timed sections: the benchmark switches it on and off through a control fifo.
PROF_FULL=""
PROF_INC=""
if [[ "$PROFILE" == "1" ]]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    mkfifo "$tmp/ctl" "$tmp/ack"
    profile() {  # profile NAME ARGS...: writes $OUT/profile-NAME.tsv (inclusive, self, symbol)
        local name="$1"
        shift
        log "profiling: $name"
        perf record -q -F 499 -g -D -1 --control="fifo:$tmp/ctl,$tmp/ack" -o "$tmp/$name.data" \
            "${PIN[@]}" "$PROFILE_BUILD_DIR/bin/scheduler-bench" --out "$tmp/$name.json" \
            --perf-ctl "$tmp/ctl" --perf-ack "$tmp/ack" "$@" >"$OUT/profile-$name.txt" 2>&1 || return 1
        # sed -n '1,20p', not head: head exits early, perf report gets SIGPIPE and
        # pipefail turned that into "profile failed".
        perf report -i "$tmp/$name.data" --children --sort symbol --stdio -g none 2>/dev/null |
            sed -e 's/[[:space:]]*-[[:space:]]*-[[:space:]]*$//' |
            sed -n 's/^ *\([0-9.]*%\) *\([0-9.]*%\) *\[\.\] *\(.*[^ ]\) *$/\1\t\2\t\3/p' |
            grep -v -E $'\t(main|__libc_start|_start|sched::bench::)' | sed -n '1,20p' >"$OUT/profile-$name.tsv"
    }
    if profile full --only full --full-passes 10 &&
        profile incremental --only incremental --incremental-budget-s 20; then
        PROF_FULL="$OUT/profile-full.tsv"
        PROF_INC="$OUT/profile-incremental.tsv"
    else
        log "profile failed; the report goes without it"
    fi
else
    log "no profile (SKIP_PROFILE=1, or perf missing or not permitted)"
fi

# ------------------------------------------------------------------ report
if [[ "${SKIP_REPORT:-0}" != "1" ]]; then
    "$BENCH" report --source "commit $SOURCE" --bench "$OUT/scheduler-bench.json" \
        --yunikorn "$YK_JSON" --yunikorn-status "$YK_STATUS" \
        --profile-full "$PROF_FULL" --profile-incremental "$PROF_INC" "${REBALANCE_ARGS[@]}" "${SEED_ARGS[@]}" --out bench/README.md
fi
