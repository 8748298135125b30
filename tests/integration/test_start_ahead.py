"""Executors started ahead (sessions.start_ahead): while slots are being
revoked for a session that has no executor on their host, its executor is
started at once with no slots, so its start overlaps the grace period; it
takes the slots when they come, and stops if they go elsewhere. Real
sessiond, local backend, the test executor as the process."""

import time

from harness import base_config, executor_launch, granted, wait_for

RUNNING, EXITED = 2, 4


def live(session):
    return [e for e in session.heartbeat(wait_ms=0).executors if e.state != EXITED]


def a_holding_everything(d, tmp_path):
    """A (owns 4) borrowing all 20 slots on h1 and h2, executors running."""
    admin = d.client()
    state = tmp_path / "executors"
    state.mkdir()
    launch = executor_launch(state, d.data_dir)
    a = admin.register("/A", initial_demand=20, launch=launch)
    wait_for(lambda: granted(admin, "/A") == 20 and all(e.state == RUNNING for e in live(a)), what="A holds all")
    return admin, a, launch


def test_executor_starts_during_the_grace_and_takes_the_slots(make_daemon, tmp_path):
    d = make_daemon(grace="5s").start()
    admin, a, launch = a_holding_everything(d, tmp_path)
    b1 = admin.register("/B/B1", initial_demand=20, launch=launch)
    revoked_at = time.time()
    wait_for(lambda: a.heartbeat(wait_ms=0).revocations, what="revocations for B1")
    # Before the deadline: B1 holds nothing, yet its executors run on both hosts.
    ahead = wait_for(lambda: (lambda ex: ex if len(ex) == 2 and all(e.state == RUNNING for e in ex) else None)(live(b1)),
                     timeout=4.5, what="B1's executors started ahead")
    assert time.time() - revoked_at < 5.0, "started only after the grace"
    assert granted(admin, "/B/B1") == 0
    assert all(e.slots == 0 for e in ahead)
    assert {e.host for e in ahead} == {"h1", "h2"}
    # After it: the same executors take the slots; none other starts.
    wait_for(lambda: (granted(admin, "/A"), granted(admin, "/B/B1")) == (4, 16), what="A:B1 = 4:16")
    after = wait_for(lambda: (lambda ex: ex if sum(e.slots for e in ex) == 16 else None)(live(b1)), what="B1's slots")
    assert sorted(e.executor_id for e in after) == sorted(e.executor_id for e in ahead)
    assert len(b1.heartbeat(wait_ms=0).executors) == 2
    assert "executor_start_ahead" in d.log()


def test_executor_started_ahead_stops_when_the_slots_go_elsewhere(make_daemon, tmp_path):
    d = make_daemon(grace="5s").start()
    admin, a, launch = a_holding_everything(d, tmp_path)
    b1 = admin.register("/B/B1", initial_demand=20, launch=launch)
    wait_for(lambda: len(live(b1)) == 2, timeout=4.5, what="B1's executors started ahead")
    # B1 needs nothing after all: the revocations are called off, its executors stop.
    b1.update_demand(slots=0)
    wait_for(lambda: not a.heartbeat(wait_ms=0).revocations, what="revocations cancelled")
    wait_for(lambda: not live(b1), what="B1's executors stopped")
    assert granted(admin, "/A") == 20


def test_start_ahead_can_be_turned_off(make_daemon, tmp_path):
    # make_daemon's first daemon keeps its data in data0.
    cfg = base_config(tmp_path / "data0", grace="2s").replace(
        "sessions: {", "sessions: {start_ahead: false, ", 1)
    d = make_daemon(config_text=cfg).start()
    admin, a, launch = a_holding_everything(d, tmp_path)
    b1 = admin.register("/B/B1", initial_demand=20, launch=launch)
    wait_for(lambda: a.heartbeat(wait_ms=0).revocations, what="revocations for B1")
    time.sleep(1.0)
    assert live(b1) == [], "no executor before the slots come"
    wait_for(lambda: granted(admin, "/B/B1") == 16, what="B1 = 16")
