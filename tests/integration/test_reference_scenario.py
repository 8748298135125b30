"""The reference scenario of DESIGN.md in real time against a real sessiond:
sessions in A, B1 and B2 with executors launched as local processes, 1 s
grace periods, allocations checked through the admin API after each step."""

import os
import time

import pytest

from harness import executor_launch, granted, wait_for


def alive_pids(state_dir):
    """Executors that heartbeated in the last second, by executor id."""
    out = {}
    now = time.time()
    for f in state_dir.glob("*.alive"):
        try:
            if now - f.stat().st_mtime < 1.0:
                out[f.stem] = f.read_text().split()[-1] if f.read_text().strip() else ""
        except OSError:
            pass
    return out


def test_reference_scenario(make_daemon, tmp_path):
    d = make_daemon().start()
    admin = d.client()
    state = tmp_path / "executors"
    state.mkdir()
    launch = executor_launch(state, d.data_dir)

    # T0: A wants 20 and gets all 20.
    a = admin.register("/A", sla="batch", initial_demand=20, launch=launch, application="a-batch")
    wait_for(lambda: granted(admin, "/A") == 20, what="A = 20")
    running = wait_for(lambda: [e for e in a.heartbeat(wait_ms=0).executors if e.state == 2 and e.slots > 0]
                       if all(e.state == 2 for e in a.heartbeat(wait_ms=0).executors) else None,
                       what="A's executors running")
    assert sum(e.slots for e in running) == 20
    assert {e.host for e in running} == {"h1", "h2"}
    wait_for(lambda: len(alive_pids(state)) == 2, what="two executor processes heartbeating")

    # T1: B1 wants 20: B reclaims its 16 from A after the grace period.
    b1 = admin.register("/B/B1", sla="batch", initial_demand=20, launch=launch, application="b1-batch")
    seen = wait_for(lambda: a.heartbeat(wait_ms=0).revocations, what="a revocation for A")
    assert all(r.reason == "ownership" for r in seen)
    assert sum(r.slots for r in seen) == 16
    assert all(r.deadline_ms - r.issued_ms == 1000 for r in seen), [(r.issued_ms, r.deadline_ms) for r in seen]
    assert granted(admin, "/A") == 20  # nothing taken before the deadline
    wait_for(lambda: (granted(admin, "/A"), granted(admin, "/B/B1")) == (4, 16), what="A:B1 = 4:16")

    # T2: A ends all work: B1 gets everything.
    a.update_demand(slots=0)
    wait_for(lambda: (granted(admin, "/A"), granted(admin, "/B/B1")) == (0, 20), what="B1 = 20")
    # A's executors are gone: processes stopped.
    wait_for(lambda: all(e.state == 4 for e in a.heartbeat(wait_ms=0).executors), what="A's executors exited")

    # T3: B2 wants 20: it reclaims its 12 (owned) from its sibling B1.
    b2 = admin.register("/B/B2", sla="batch", initial_demand=20, launch=launch, application="b2-batch")
    wait_for(lambda: (granted(admin, "/B/B1"), granted(admin, "/B/B2")) == (8, 12), what="B1:B2 = 8:12")
    view = b2.heartbeat(wait_ms=0)
    assert view.granted_slots == 12
    assert sum(e.slots for e in view.executors if e.state in (1, 2)) == 12

    # Every slot is accounted for: 20 held in all, no revocation left.
    status = admin.admin.status()
    assert status.used.cpu_millis == 20_000
    assert status.pending_revocations == 0
    for s in (a, b1, b2):
        s.unregister()
    wait_for(lambda: admin.admin.status().executors == 0, what="all executors stopped")
    wait_for(lambda: not alive_pids(state), what="executor processes gone")


def test_lower_demand_gives_back_idle_executors_first(make_daemon):
    """A job's tail runs on its youngest executor: dropping demand to those
    tasks must stop the idle executor, not the busy one (its tasks would be
    lost with it)."""
    d = make_daemon().start()
    admin = d.client()
    s = admin.register("/A", sla="batch", initial_demand=6, application="tail")
    wait_for(lambda: granted(admin, "/A") == 6, what="A = 6")
    s.update_demand(slots=14)
    wait_for(lambda: granted(admin, "/A") == 14, what="A = 14 on two hosts")
    live = {e.executor_id: e for e in s.heartbeat(wait_ms=0).executors if e.state in (1, 2)}
    assert len(live) == 2, live
    young = max(live.values(), key=lambda e: (e.since_ms, e.executor_id))
    old = next(e for e in live.values() if e.executor_id != young.executor_id)
    s.update_demand(slots=young.slots, running_tasks=young.slots,
                    running_by_executor={young.executor_id: young.slots, "gone-1": 2})
    wait_for(lambda: granted(admin, "/A") == young.slots, what="A down to the busy executor")
    view = {e.executor_id: e for e in s.heartbeat(wait_ms=0).executors}
    assert view[young.executor_id].state in (1, 2) and view[young.executor_id].slots == young.slots
    assert view[old.executor_id].state not in (1, 2) or view[old.executor_id].slots == 0
    with pytest.raises(Exception, match="must not be negative"):
        s.update_demand(slots=1, running_by_executor={young.executor_id: -1})
    assert granted(admin, "/A") == young.slots, "a refused update changed nothing"


def test_long_poll_returns_on_change(make_daemon):
    d = make_daemon().start()
    c = d.client()
    s = c.register("/A", initial_demand=0)
    v = s.heartbeat(wait_ms=0).version
    waiter = d.client()
    t0 = time.time()
    import threading

    got = {}

    def poll():
        got["d"] = waiter.sessions.heartbeat(s.id, v, 5000)

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.3)
    s.update_demand(slots=3)
    th.join(10)
    elapsed = time.time() - t0
    assert got["d"].granted_slots == 3
    assert elapsed < 2.0, elapsed  # answered on the change, not at the 5 s timeout


def test_lease_expiry_frees_executors(make_daemon, tmp_path):
    d = make_daemon().start()
    c = d.client()
    state = tmp_path / "ex"
    state.mkdir()
    s = c.register("/A", initial_demand=4, launch=executor_launch(state, d.data_dir), lease_ttl_ms=1500)
    wait_for(lambda: granted(c, "/A") == 4, what="A = 4")
    # No heartbeat from here on: the lease runs out and the slots come back.
    wait_for(lambda: granted(c, "/A") == 0, timeout=10, what="lease expiry")
    assert "session_expired" in d.log()
    wait_for(lambda: c.admin.status().executors == 0, what="executors stopped")
    try:
        s.heartbeat(wait_ms=0)
        raise AssertionError("expired session still answers")
    except Exception as e:  # noqa: BLE001
        assert "unknown session" in str(e)


def test_release_gives_slots_back_at_once(make_daemon):
    d = make_daemon().start()
    c = d.client()
    a = c.register("/A", initial_demand=20)
    wait_for(lambda: granted(c, "/A") == 20, what="A = 20")
    b = c.register("/B/B1", initial_demand=4)
    rev = wait_for(lambda: a.heartbeat(wait_ms=0).revocations, what="revocation")
    # The driver complies early: the owner gets its slots before the deadline.
    for r in rev:
        a.release(r.executor_id, r.slots)
    wait_for(lambda: granted(c, "/B/B1") == 4, timeout=0.9, what="B1 served before the 1 s deadline")
    assert b.heartbeat(wait_ms=0).granted_slots == 4


def test_executor_crash_is_reported_and_replaced(make_daemon, tmp_path):
    d = make_daemon().start()
    c = d.client()
    state = tmp_path / "ex"
    state.mkdir()
    s = c.register("/A", initial_demand=2, launch=executor_launch(state, d.data_dir, ["--exit-after", "0.5"]))
    # Each executor dies after 0.5 s: reported as EXITED with its code, then
    # replaced, until the session has failed too often and gets no more.
    wait_for(lambda: any(e.state == 4 and e.exit_code == 1 for e in s.heartbeat(wait_ms=0).executors),
             what="an exited executor with its exit code")
    wait_for(lambda: "session_failed" in d.log(), timeout=20, what="session marked failed")
    wait_for(lambda: granted(c, "/A") == 0, what="failed session holds nothing")
    assert os.path.isdir(state)
