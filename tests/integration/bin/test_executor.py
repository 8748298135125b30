#!/usr/bin/env python3
"""A stand-in for a Spark executor in integration tests.

It prints the SESSIOND_* marks it was launched with, heartbeats into a file,
and stops (SIGTERM, after an optional drain delay) or crashes on cue.
"""

import signal
import time

# Installed before anything slow (imports, argument parsing): a SIGTERM that
# arrives while Python starts up must not kill us with the default action.
_TERM_RECEIVED = []


def _on_term(signum, frame):
    if not _TERM_RECEIVED:
        _TERM_RECEIVED.append(time.monotonic())


signal.signal(signal.SIGTERM, _on_term)

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

HEARTBEAT_S = 0.2
TICK_S = 0.05


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--state-dir", help="write <dir>/<executor_id>.alive every 200 ms")
    p.add_argument("--executor-id", default=os.environ.get("SESSIOND_EXECUTOR_ID", ""),
                   help="default: $SESSIOND_EXECUTOR_ID")
    p.add_argument("--term-delay", type=float, default=0.0,
                   help="seconds between SIGTERM and the exit (a draining executor)")
    p.add_argument("--exit-after", type=float, default=None,
                   help="exit on its own after this many seconds (a crash)")
    p.add_argument("--exit-code", type=int, default=1, help="status for --exit-after (default 1)")
    return p.parse_args(argv)


def write_heartbeat(path):
    # Whole lines only: a reader never sees half a heartbeat.
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%.3f %d\n" % (time.time(), os.getpid()))
    os.replace(tmp, path)


def main(argv):
    args = parse_args(argv)
    for key in sorted(k for k in os.environ if k.startswith("SESSIOND_")):
        print("%s=%s" % (key, os.environ[key]))
    print("test_executor: pid %d started" % os.getpid(), flush=True)

    alive = None
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
        alive = os.path.join(args.state_dir, (args.executor_id or str(os.getpid())) + ".alive")

    start = time.monotonic()
    next_beat = start
    announced = False
    while True:
        now = time.monotonic()
        if _TERM_RECEIVED:
            if not announced:
                print("test_executor: SIGTERM, exiting in %.3fs" % args.term_delay, flush=True)
                announced = True
            if now >= _TERM_RECEIVED[0] + args.term_delay:
                print("test_executor: stopped", flush=True)
                return 0
        if args.exit_after is not None and now - start >= args.exit_after:
            print("test_executor: exiting with %d as told" % args.exit_code, flush=True)
            return args.exit_code
        if alive and now >= next_beat:
            write_heartbeat(alive)
            next_beat = now + HEARTBEAT_S
        time.sleep(TICK_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
