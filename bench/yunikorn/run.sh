#!/usr/bin/env bash
# Run Apache YuniKorn core's own scheduling benchmark (BenchmarkScheduling in
# pkg/scheduler/tests) at a pinned release and print one JSON object per
# sub-benchmark on stdout. Everything else goes to stderr.
#
# Nothing is written into this repository: the module, its dependencies, the
# Go build cache, a writable copy of the module and the raw logs all live under
# ${YUNIKORN_BENCH_CACHE:-$HOME/.cache/session-scheduler/yunikorn}.
#
# Environment knobs (all optional):
#   YUNIKORN_BENCH_COUNT    samples per sub-benchmark (go test -count), default 3
#   YUNIKORN_BENCH_FILTER   extra sub-benchmark filter, e.g. '1000Nodes' (default: all four)
#   YUNIKORN_BENCH_TIMEOUT  go test -timeout, default 15m
#   YUNIKORN_BENCH_CACHE    cache root, default ~/.cache/session-scheduler/yunikorn
#   GO                      path to the go binary (default: go on PATH, then /usr/local/go/bin/go)
#
# See README.md beside this file for what the benchmark measures.
set -euo pipefail

# Pinned: latest yunikorn-core release the Go module proxy serves (tag v1.8.0,
# commit 656455abb3523ba3802d1e79513b9f34a2cc69da, released 2026-01-19).
readonly YK_MODULE="github.com/apache/yunikorn-core"
readonly YK_VERSION="v1.8.0"
readonly YK_PKG="./pkg/scheduler/tests"
readonly YK_BENCH="BenchmarkScheduling"

COUNT="${YUNIKORN_BENCH_COUNT:-3}"
FILTER="${YUNIKORN_BENCH_FILTER:-}"
TIMEOUT="${YUNIKORN_BENCH_TIMEOUT:-15m}"
CACHE_ROOT="${YUNIKORN_BENCH_CACHE:-$HOME/.cache/session-scheduler/yunikorn}"

log() { printf '[yunikorn-bench] %s\n' "$*" >&2; }
die() { printf '[yunikorn-bench] ERROR: %s\n' "$1" >&2; exit "${2:-1}"; }

case "$COUNT" in ''|*[!0-9]*|0) die "YUNIKORN_BENCH_COUNT must be a positive integer (got '$COUNT')" 2 ;; esac

# ---------------------------------------------------------------- Go toolchain
GO_BIN="${GO:-}"
if [[ -z "$GO_BIN" ]]; then
    if command -v go >/dev/null 2>&1; then
        GO_BIN="$(command -v go)"
    elif [[ -x /usr/local/go/bin/go ]]; then
        GO_BIN=/usr/local/go/bin/go
    fi
fi
if [[ -n "$GO_BIN" && ! -x "$GO_BIN" ]]; then
    die "Go toolchain '$GO_BIN' is missing or not executable (set GO=/path/to/go or put go on PATH)" 3
fi
if [[ -z "$GO_BIN" ]]; then
    die "Go toolchain not found (looked for 'go' on PATH and /usr/local/go/bin/go; set GO=/path/to/go). yunikorn-core ${YK_VERSION} needs Go >= 1.24." 3
fi
GO_VERSION="$("$GO_BIN" env GOVERSION 2>/dev/null || true)"
[[ -n "$GO_VERSION" ]] || die "'$GO_BIN' does not work (go env GOVERSION failed)" 3
log "using $GO_BIN ($GO_VERSION)"

# Keep every Go artefact under the cache root; never fetch a toolchain.
export GOPATH="$CACHE_ROOT/gopath"
export GOMODCACHE="$GOPATH/pkg/mod"
export GOCACHE="$CACHE_ROOT/gocache"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export GO111MODULE=on
mkdir -p "$GOMODCACHE" "$GOCACHE" "$CACHE_ROOT/work" "$CACHE_ROOT/logs" "$CACHE_ROOT/tmp"

# ---------------------------------------------------------------- module download
MOD_DIR="$GOMODCACHE/$YK_MODULE@$YK_VERSION"
if [[ -f "$MOD_DIR/go.mod" && -f "$MOD_DIR/pkg/scheduler/tests/performance_test.go" ]]; then
    log "module $YK_MODULE@$YK_VERSION already in cache"
else
    log "downloading $YK_MODULE@$YK_VERSION through the Go module proxy ($("$GO_BIN" env GOPROXY))"
    # Run outside any module so 'go mod download mod@version' works.
    if ! dl_err="$(cd "$CACHE_ROOT/tmp" && GOFLAGS=-mod=mod "$GO_BIN" mod download "$YK_MODULE@$YK_VERSION" 2>&1)"; then
        printf '%s\n' "$dl_err" >&2
        die "download of $YK_MODULE@$YK_VERSION failed (is the Go module proxy reachable?)" 4
    fi
    [[ -f "$MOD_DIR/go.mod" ]] || die "download reported success but $MOD_DIR is missing" 4
fi

# ---------------------------------------------------------------- writable copy
# The module cache is read-only; go test runs from a private writable copy.
WORK_DIR="$CACHE_ROOT/work/yunikorn-core@$YK_VERSION"
if [[ ! -f "$WORK_DIR/.copy-complete" ]]; then
    log "copying module into writable work dir $WORK_DIR"
    rm -rf "$WORK_DIR"
    cp -R "$MOD_DIR" "$WORK_DIR.partial"
    chmod -R u+w "$WORK_DIR.partial"
    mv "$WORK_DIR.partial" "$WORK_DIR"
    touch "$WORK_DIR/.copy-complete"
fi
cd "$WORK_DIR"

grep -q "^func ${YK_BENCH}(b \*testing.B)" pkg/scheduler/tests/*_test.go \
    || die "${YK_BENCH} not found in $YK_MODULE@$YK_VERSION/pkg/scheduler/tests" 5

# ---------------------------------------------------------------- dependencies
if [[ ! -f "$WORK_DIR/.deps-complete" ]]; then
    log "downloading dependencies of $YK_PKG (test build graph only)"
    if ! dep_err="$("$GO_BIN" list -test -deps "$YK_PKG" 2>&1 >/dev/null)"; then
        printf '%s\n' "$dep_err" >&2
        die "dependency download for $YK_MODULE@$YK_VERSION failed (is the Go module proxy reachable?)" 4
    fi
    touch "$WORK_DIR/.deps-complete"
else
    log "dependencies already in cache"
fi

# ---------------------------------------------------------------- run
# BenchmarkScheduling ignores b.N: every invocation sets up a fresh scheduler
# and allocates a fixed 10000 asks. -benchtime=1x makes go test call it exactly
# once per sample, so ns/op is the wall time of one full 10000-ask pass
# (otherwise go test would divide that time by a growing b.N).
BENCH_RE="^${YK_BENCH}\$"
[[ -n "$FILTER" ]] && BENCH_RE="${BENCH_RE}/${FILTER}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RAW_LOG="$CACHE_ROOT/logs/bench-$YK_VERSION-$STAMP.log"
log "running: go test -run '^\$' -bench '$BENCH_RE' -benchtime=1x -count=$COUNT $YK_PKG"
log "(compiles the test binary on first run: ~1 min; each sample of the 4 sub-benchmarks takes ~30 s on 2 cores)"
log "raw output (scheduler logging included) -> $RAW_LOG"
start_s=$SECONDS
set +e
"$GO_BIN" test -run '^$' -bench "$BENCH_RE" -benchtime=1x -count="$COUNT" \
    -timeout "$TIMEOUT" "$YK_PKG" >"$RAW_LOG" 2>&1
rc=$?
set -e
ln -sfn "$(basename "$RAW_LOG")" "$CACHE_ROOT/logs/latest.log"
log "go test finished in $((SECONDS - start_s)) s (exit $rc)"
# Show the result lines (not the scheduler's log chatter) on stderr.
grep -E "^(goos|goarch|cpu):|^--- (BENCH|FAIL)|Total time to|[0-9]+ ns/op|^(PASS|FAIL|ok)" "$RAW_LOG" >&2 || true
if [[ $rc -ne 0 ]]; then
    tail -n 40 "$RAW_LOG" >&2
    die "go test failed with exit code $rc; full log in $RAW_LOG" 6
fi

# ---------------------------------------------------------------- parse
# go test mixes the scheduler's own log lines (stderr) into the same stream,
# so a "BenchmarkScheduling/... 1 N ns/op" result line can be split by a log
# line. Parse the block go test prints after each sample instead:
#   --- BENCH: BenchmarkScheduling/500Nodes/10000Pods-2
#       performance_test.go:186: Total time to allocate 10000 containers in 5.12s, 1951.474578 per second
# That figure is exactly what the benchmark times (numPods / timed duration).
CPU_MODEL="$(sed -n 's/^cpu: //p' "$RAW_LOG" | head -n1)"
json_lines="$(awk -v engine="yunikorn-core" -v version="$YK_VERSION" -v gover="$GO_VERSION" \
    -v cpu="$CPU_MODEL" -v bench="$YK_BENCH" '
function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n % 2) return a[(n + 1) / 2] + 0
    return (a[n / 2] + a[n / 2 + 1]) / 2
}
function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
$1 == "---" && $2 == "BENCH:" && $3 ~ "^" bench "/[0-9]+Nodes/[0-9]+Pods(-[0-9]+)?$" {
    name = $3; procs = 1
    if (match(name, /-[0-9]+$/)) { procs = substr(name, RSTART + 1) + 0; name = substr(name, 1, RSTART - 1) }
    split(name, p, "/"); nodes = p[2] + 0; pods = p[3] + 0
    cur = nodes "/" pods
    if (!(cur in seen)) { seen[cur] = 1; order[++nk] = cur; N[cur] = nodes; P[cur] = pods; G[cur] = procs }
    nblocks[cur]++
    next
}
/Total time to allocate [0-9]+ containers in .* per second/ && cur != "" {
    rates[cur] = rates[cur] " " ($(NF - 2) + 0)
    nlog[cur]++
    cur = ""
    next
}
END {
    bad = 0
    for (k = 1; k <= nk; k++) {
        c = order[k]
        if (nlog[c] != nblocks[c]) { bad = 1; continue }
        n = split(rates[c], s, " ")
        samples = ""
        for (i = 1; i <= n; i++) samples = samples (i > 1 ? "," : "") sprintf("%.1f", s[i])
        m = median(rates[c])
        slots = int(P[c] / N[c]) + 1
        printf "{\"engine\":\"%s\",\"version\":\"%s\",\"benchmark\":\"%s/%dNodes/%dPods\",\"nodes\":%d,\"asks\":%d,\"queues\":2,\"apps\":2,", \
            engine, version, bench, N[c], P[c], N[c], P[c]
        printf "\"node_memory\":%d,\"node_vcore\":%d,\"ask_memory\":10,\"ask_vcore\":1,", slots * 10, slots
        printf "\"allocations_per_sec\":%.1f,\"samples\":[%s],\"runs\":%d,\"seconds_to_allocate_all\":%.3f,", m, samples, n, P[c] / m
        printf "\"gomaxprocs\":%d,\"go\":\"%s\",\"cpu\":\"%s\"}\n", G[c], esc(gover), esc(cpu)
    }
    exit bad
}' "$RAW_LOG")" || die "some ${YK_BENCH} samples had no 'Total time to allocate' line; see $RAW_LOG" 7

[[ -n "$json_lines" ]] || die "no ${YK_BENCH} results found in $RAW_LOG" 7
printf '%s\n' "$json_lines"
log "done in $SECONDS s total"
