#!/usr/bin/env python3
"""The main job's daemon demo: a batch job in tenant A fills the cluster, an
interactive session in B1 (which owns part of it) arrives and is served after
the grace period, then a batch job in B2 takes its owned share from B1.
Executors are real local processes (a stand-in executor program). Prints a
timeline of allocations, revocations and the interactive session's time to
its first executor."""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "build" / "python"), str(ROOT / "client" / "python")]

import session_scheduler as ss  # noqa: E402

EXECUTOR = [sys.executable, str(ROOT / "tests" / "integration" / "bin" / "test_executor.py")]


def allocations(client):
    return {c.path: c.allocated.cpu_millis // 1000 for c in client.admin.get_tree().consumers if c.leaf}


def line(t0, what, client):
    alloc = allocations(client)
    cells = "  ".join(f"{p}={n:<2}" for p, n in sorted(alloc.items()))
    print(f"t={time.time() - t0:5.1f}s  {cells}  {what}", flush=True)


def wait(client, t0, cond, what, timeout=30):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        alloc = allocations(client)
        if alloc != last:
            line(t0, what, client)
            last = alloc
        if cond(alloc):
            return alloc
        time.sleep(0.2)
    raise SystemExit(f"demo: timed out waiting for: {what}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--server", default="127.0.0.1:7420")
    p.add_argument("--token-file", default="data/admin.token")
    args = p.parse_args()
    token = Path(args.token_file).read_text().strip()
    client = ss.connect(args.server, token=token)
    state = Path("data/demo-executors")
    state.mkdir(parents=True, exist_ok=True)
    launch = ss.api.LaunchSpec(command=EXECUTOR + ["--state-dir", str(state.resolve())])
    # A previous run's sessions (same ids) end first, so every run starts empty.
    for consumer, sid in (("/A", "demo-a"), ("/B/B1", "demo-b1"), ("/B/B2", "demo-b2")):
        try:
            client.register(consumer, session_id=sid).unregister()
        except ss.SchedulerError:
            pass
    t0 = time.time()

    print("T0: tenant A runs a batch job that could use 20 slots")
    a = client.register("/A", sla="batch", initial_demand=20, launch=launch, application="nightly-etl",
                        session_id="demo-a")
    a.start_heartbeat(lambda d: None)  # as a driver does: keeps the lease
    wait(client, t0, lambda x: x["/A"] == 20, "A's batch job fills the cluster")

    print("T1: an interactive notebook in B/B1 wants 20 slots (B owns 16)")
    t_ask = time.time()
    b1 = client.register("/B/B1", sla="interactive", initial_demand=20, launch=launch, application="notebook",
                         session_id="demo-b1")
    b1.start_heartbeat(lambda d: None)
    rev = []
    while not rev:
        rev = a.heartbeat(wait_ms=200).revocations
    for r in rev:
        print(f"         revoke {r.slots} slots of {r.executor_id} on {r.host}: {r.reason} for {r.beneficiary}, "
              f"deadline in {(r.deadline_ms - r.issued_ms) / 1000:.1f}s")
    wait(client, t0, lambda x: x["/B/B1"] == 16, "B reclaims its owned 16 from A after the grace period")
    first = None
    while first is None:
        running = [e for e in b1.heartbeat(wait_ms=200).executors if e.state == ss.api.ExecutorState.RUNNING]
        if running:
            first = time.time()
    print(f"         the notebook's first executor ran {first - t_ask:.1f}s after it asked (grace 3s)")

    print("T2: A's job ends")
    a.stop_heartbeat()
    a.unregister()
    wait(client, t0, lambda x: x["/B/B1"] == 20, "B1 borrows what A left")

    print("T3: a batch job in B/B2 wants 20 slots (B2 owns 12)")
    b2 = client.register("/B/B2", sla="batch", initial_demand=20, launch=launch, application="reports",
                         session_id="demo-b2")
    b2.start_heartbeat(lambda d: None)
    wait(client, t0, lambda x: (x["/B/B1"], x["/B/B2"]) == (8, 12), "B2 reclaims its 12 from its sibling B1")

    for s in (b1, b2):
        s.stop_heartbeat()
        s.unregister()
    wait(client, t0, lambda x: sum(x.values()) == 0, "sessions end, executors stop")
    print("demo: done; `build/bin/sessionctl status` and http://127.0.0.1:7421/metrics show the rest")


if __name__ == "__main__":
    main()
