"""kill -9 of sessiond in the middle of a run with live sessions and
executors: after the restart the same sessions, executors and allocations
are there, no executor process was lost or duplicated, and drivers go on."""

import time

from harness import executor_launch, granted, wait_for


def snapshot(client):
    out = {}
    for s in client.admin.list_sessions("/"):
        out[s.session_id] = (s.consumer, s.granted_slots,
                             sorted((e.executor_id, e.host, e.slots) for e in s.executors if e.state in (1, 2)))
    return out


def pids(state_dir):
    return {f.stem: f.read_text().split()[-1] for f in state_dir.glob("*.alive") if f.read_text().strip()}


def test_kill9_loses_nothing(make_daemon, tmp_path):
    d = make_daemon().start()
    c = d.client()
    state = tmp_path / "ex"
    state.mkdir()
    launch = executor_launch(state, d.data_dir)
    a = c.register("/A", initial_demand=6, launch=launch, session_id="app-a")
    b1 = c.register("/B/B1", initial_demand=8, launch=launch, session_id="app-b1")
    b2 = c.register("/B/B2", sla="interactive", initial_demand=6, launch=launch, session_id="app-b2")
    wait_for(lambda: (granted(c, "/A"), granted(c, "/B/B1"), granted(c, "/B/B2")) == (6, 8, 6), what="grants")
    wait_for(lambda: all(e.state == 2 for s in (a, b1, b2) for e in s.heartbeat(wait_ms=0).executors),
             what="executors running")
    n = sum(1 for s in (a, b1, b2) for e in s.heartbeat(wait_ms=0).executors if e.state == 2)
    assert n >= 3
    wait_for(lambda: len(pids(state)) == n, what=f"{n} executor processes")
    before = snapshot(c)
    pids_before = pids(state)

    d.kill9()
    time.sleep(0.6)
    # Executors do not die with the daemon.
    assert pids(state) == pids_before
    now = time.time()
    assert all(now - f.stat().st_mtime < 0.6 for f in state.glob("*.alive"))

    d.start()
    c2 = d.client()
    wait_for(lambda: c2.admin.status().ready, what="ready")
    assert snapshot(c2) == before
    assert f"adopted={n}" in d.log()
    # Same processes, none started twice.
    time.sleep(0.5)
    assert pids(state) == pids_before
    assert len(list(state.glob("*.alive"))) == n

    # Drivers re-attach with their ids and carry on.
    a2 = c2.register("/A", initial_demand=6, launch=launch, session_id="app-a")
    assert a2.id == "app-a"
    c2.sessions.update_demand("app-b1", c2_demand(10))
    wait_for(lambda: c2.sessions.heartbeat("app-b1", 0, 0).target_slots == 10, what="B1 update seen")
    wait_for(lambda: (granted(c2, "/A"), granted(c2, "/B/B1")) == (4, 10), what="A reclaimed to its owned 4")
    view = c2.sessions.heartbeat("app-b2", 0, 0)
    assert view.granted_slots == 6


def c2_demand(slots):
    from session_scheduler import api

    return api.Demand(slots=slots)


def test_kill9_repeatedly_during_churn(make_daemon):
    """Acknowledged registrations and grants survive kill -9 at arbitrary moments."""
    d = make_daemon().start()
    acknowledged = {}
    for round_ in range(4):
        c = d.client()
        for i in range(5):
            sid = f"s{round_}-{i}"
            c.register("/A" if i % 2 else "/B/B1", initial_demand=1 + i, session_id=sid)
            acknowledged[sid] = True
        # Heartbeat the older ones so their leases hold.
        for sid in list(acknowledged):
            c.sessions.heartbeat(sid, 0, 0)
        d.kill9()
        d.start()
    c = d.client()
    live = {s.session_id for s in c.admin.list_sessions("/")}
    assert set(acknowledged) <= live
    total = sum(s.granted_slots for s in c.admin.list_sessions("/"))
    assert total <= 20
    wait_for(lambda: sum(s.granted_slots for s in c.admin.list_sessions("/")) == 20, what="capacity in use again")


def test_orphan_executor_is_stopped_after_restart(make_daemon, tmp_path):
    d = make_daemon().start()
    c = d.client()
    state = tmp_path / "ex"
    state.mkdir()
    s = c.register("/A", initial_demand=2, launch=executor_launch(state, d.data_dir), lease_ttl_ms=1000)
    # The driver keeps its 1 s lease alive until its executor runs: a busy
    # machine can take longer than that to start one.
    wait_for(lambda: s.heartbeat(wait_ms=0) is not None and len(pids(state)) == 1, what="one executor")
    d.kill9()
    # While the daemon is down the driver goes away too; after the restart
    # its lease (given afresh) runs out and its executor is stopped.
    d.start()
    c2 = d.client()
    wait_for(lambda: c2.admin.status().executors == 0, timeout=10, what="executor of the vanished driver stopped")
    assert s.id not in {x.session_id for x in c2.admin.list_sessions("/")}
