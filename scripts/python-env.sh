#!/usr/bin/env bash
# Creates (once) the project's Python virtualenv under ~/.cache and installs
# the pinned packages the clients and tests use; prints nothing but errors
# when everything is present. Source it or run it; the venv's path is
# $SCHED_VENV.
set -euo pipefail
SCHED_CACHE=${SCHED_CACHE:-$HOME/.cache/session-scheduler}
SCHED_VENV=${SCHED_VENV:-$SCHED_CACHE/venv}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQUIREMENTS=$ROOT/scripts/python-requirements.txt

if [[ ! -x $SCHED_VENV/bin/python ]]; then
  echo "python-env: creating $SCHED_VENV"
  mkdir -p "$SCHED_CACHE"
  python3 -m venv "$SCHED_VENV"
fi
# Reinstall only when the requirements changed since the last install.
stamp=$SCHED_VENV/.requirements.sha256
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "python-env: installing $(grep -cvE '^(#|$)' "$REQUIREMENTS") package(s)"
  "$SCHED_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$want" >"$stamp"
fi
export SCHED_VENV
