#!/usr/bin/env bash
# Tests session-sim as users run it: the reference scenario's four lines, exit codes,
# and errors that name the file, the line and the field.
# Usage: cli_test.sh PATH/TO/session-sim PROJECT_SOURCE_DIR
set -u

if [[ $# -ne 2 ]]; then
  echo "usage: $0 SESSION_SIM SOURCE_DIR" >&2
  exit 2
fi
SIM=$1
SRC=$2
[[ -x "$SIM" ]] || { echo "FAIL: $SIM is not an executable" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run NAME ARGS...: runs session-sim, keeping stdout, stderr and the exit code in $WORK/NAME.*
run() {
  local name=$1
  shift
  "$SIM" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  echo $? >"$WORK/$name.rc"
}

expect_rc() {
  local name=$1 want=$2 got
  got=$(cat "$WORK/$name.rc")
  if [[ "$got" != "$want" ]]; then
    fail "$name: exit code $got, expected $want; stderr: $(head -c 500 "$WORK/$name.err")"
  fi
}

# A bad scenario `$WORK/NAME.yaml`: exit 2 and stderr naming what is wrong.
expect_bad() {
  local name=$1
  shift
  run "$name" "$WORK/$name.yaml"
  expect_rc "$name" 2
  local needle
  for needle in "$@"; do expect_stderr_has "$name" "$needle"; done
}
expect_stderr_has() {
  local name=$1 needle=$2
  if ! grep -qF -- "$needle" "$WORK/$name.err"; then
    fail "$name: stderr lacks '$needle'; stderr: $(head -c 500 "$WORK/$name.err")"
  fi
}

# --- The reference scenario ------------------------------------------------------------------
run reference "$SRC/examples/scenarios/reference.yaml"
expect_rc reference 0
if ! python3 - "$WORK/reference.out" <<'EOF'; then
import json
import sys

lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
want_alloc = [
    {"/A": 20, "/B/B1": 0, "/B/B2": 0},
    {"/A": 4, "/B/B1": 16, "/B/B2": 0},
    {"/A": 0, "/B/B1": 20, "/B/B2": 0},
    {"/A": 0, "/B/B1": 8, "/B/B2": 12},
]
want_time = [0, 30, 30, 60]
ok = True
if len(lines) != 4:
    print(f"expected 4 JSON lines, got {len(lines)}:\n" + "\n".join(lines), file=sys.stderr)
    sys.exit(1)
for i, line in enumerate(lines):
    try:
        step = json.loads(line)
    except ValueError as e:
        print(f"line {i + 1} is not JSON ({e}): {line}", file=sys.stderr)
        sys.exit(1)
    if step.get("step") != i:
        print(f"line {i + 1}: step {step.get('step')!r}, expected {i}", file=sys.stderr)
        ok = False
    if step.get("alloc") != want_alloc[i]:
        print(f"step {i}: alloc {step.get('alloc')!r}, expected {want_alloc[i]!r}", file=sys.stderr)
        ok = False
    if step.get("time_s") != want_time[i]:
        print(f"step {i}: time_s {step.get('time_s')!r}, expected {want_time[i]!r}", file=sys.stderr)
        ok = False
pre = json.loads(lines[1]).get("preempted", [])
want = {"session": "/A", "slots": 16, "reason": "ownership", "for": "/B", "deadline_s": 30}
if len(pre) != 1 or any(pre[0].get(k) != v for k, v in want.items()):
    print(f"step 1: preempted {pre!r}, expected one entry with {want!r}", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
EOF
  fail "reference scenario: wrong output (see above); stdout was:
$(cat "$WORK/reference.out")"
fi

# --timeline goes to stderr and leaves stdout as it was.
run timeline --timeline "$SRC/examples/scenarios/reference.yaml"
expect_rc timeline 0
cmp -s "$WORK/reference.out" "$WORK/timeline.out" || fail "--timeline changed stdout"
expect_stderr_has timeline "T3  t=60s"

# --- Bad scenarios: exit 2, and stderr names the file, the line and the field ---------------
cat >"$WORK/bad.yaml" <<'EOF'
capacity: 20
consumers:
  - {name: A, owned: 4}
  - name: B
    owned: abc
EOF
expect_bad bad "bad.yaml:5:" "consumers[1].owned"
[[ -s "$WORK/bad.out" ]] && fail "bad: printed to stdout: $(cat "$WORK/bad.out")"

cat >"$WORK/unknown_field.yaml" <<'EOF'
capacity: 20
consumers:
  - {name: A, owned: 4}
steps:
  - {demand: {/A: 3}, colour: red}
EOF
expect_bad unknown_field "unknown_field.yaml:5: steps[0].colour: unknown field"

cat >"$WORK/negative.yaml" <<'EOF'
capacity: 20
consumers:
  - {name: A, owned: 4}
steps:
  - {demand: {/A: 3}}
  - sessions:
      - {id: s1, consumer: /A, demand: -2}
EOF
expect_bad negative "negative.yaml:7: steps[1].sessions[0].demand: must not be negative"

cat >"$WORK/syntax.yaml" <<'EOF'
capacity: 20
consumers:
  - {name: A, owned: 4
  - name: B
EOF
expect_bad syntax "syntax.yaml:4: not valid YAML"

# Found only when the step runs: the steps before it are still printed.
cat >"$WORK/no_consumer.yaml" <<'EOF'
capacity: 20
consumers:
  - {name: A, owned: 4}
steps:
  - {demand: {/A: 3}}
  - sessions:
      - {id: s1, demand: 3}
EOF
expect_bad no_consumer "no_consumer.yaml:7: steps[1].sessions[0]: session 's1' is new: give its 'consumer'"
[[ $(wc -l <"$WORK/no_consumer.out") -eq 1 ]] || fail "no_consumer: expected the first step's line on stdout"

cat >"$WORK/overcommitted.yaml" <<'EOF'
capacity: 20
consumers:
  - {name: A, owned: 40}
EOF
expect_bad overcommitted "overcommitted.yaml" "top-level consumers own 40 slots in total, more than the capacity of 20 slots"

# --- Command line ----------------------------------------------------------------------------
run help --help
expect_rc help 0
grep -q "usage: session-sim" "$WORK/help.out" || fail "--help: no usage on stdout"
run help_short -h
expect_rc help_short 0

run unknown_option --frobnicate "$SRC/examples/scenarios/reference.yaml"
expect_rc unknown_option 2
expect_stderr_has unknown_option "unknown option --frobnicate"

run missing_file "$WORK/does-not-exist.yaml"
expect_rc missing_file 2
expect_stderr_has missing_file "does-not-exist.yaml"

run no_args
expect_rc no_args 2
expect_stderr_has no_args "usage: session-sim"

run two_files "$SRC/examples/scenarios/reference.yaml" "$WORK/bad.yaml"
expect_rc two_files 2

if [[ $failures -ne 0 ]]; then
  echo "cli_test: $failures check(s) failed" >&2
  exit 1
fi
echo "cli_test: all checks passed"
