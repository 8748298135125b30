"""Session calls and the HeartbeatLoop against an in-process server."""

import threading
import time

import pytest

import session_scheduler as ss
from conftest import FakeServer
from fake_scheduler import GOOD_TOKEN, FakeScheduler
from session_scheduler_api.ttypes import ErrorCode, SchedulerError


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def fake(serve):
    handler = FakeScheduler()
    server = serve(handler)
    client = ss.connect(server.address, token=GOOD_TOKEN, timeout=2)
    yield handler, client
    client.close()


def test_register_builds_the_spec(fake):
    handler, client = fake
    session = client.register("/bank/risk/alice", user="alice", sla="interactive", priority=3,
                              slot_shape=ss.resources(cpu=0.5, memory_mib=2048, fpga=1000), session_id="app-1",
                              launch={"command": ["run", "{executor_id}"]})
    assert session.id == "app-1"
    spec = handler.last_spec
    assert spec.sla == ss.api.SlaClass.INTERACTIVE
    assert spec.slot_shape == ss.api.ResourceVector(cpu_millis=500, memory_mib=2048, gpu_millis=0,
                                                    extras={"fpga": 1000})
    assert spec.launch.command == ["run", "{executor_id}"]
    with pytest.raises(ValueError):
        client.register("/A", sla="sometimes")


def test_session_calls(fake):
    handler, client = fake
    with client.register("/A") as session:
        session.update_demand(pending_tasks=3, running_tasks=2)
        assert handler.demand.pending_tasks == 3 and handler.demand.slots is None
        session.update_demand(slots=7)
        assert handler.demand.slots == 7
        session.acknowledge(["e1", "e2"])
        assert handler.acknowledged == ["e1", "e2"]
        session.release("e1")
        assert handler.released == ("e1", 0)
        d = session.heartbeat(wait_ms=0)
        assert d.version == 1 and session.version == 1
        sid = session.id
    assert handler.unregistered == [sid]
    with pytest.raises(SchedulerError) as info:
        session.update_demand(slots=1)
    assert info.value.code == ErrorCode.NOT_FOUND


def test_default_wait_stays_inside_the_lease(fake):
    _, client = fake
    session = client.register("/A")  # lease 4 s, server cap 10 s
    assert session.default_wait_ms() == 2000


def test_loop_delivers_each_new_version_in_order(fake):
    handler, client = fake
    session = client.register("/A")
    seen = []
    loop = session.start_heartbeat(lambda d: seen.append(d.version), wait_ms=2000)
    assert wait_for(lambda: seen == [1])
    handler.bump()
    handler.bump()
    assert wait_for(lambda: seen[-1] == 3)
    assert seen == sorted(set(seen))
    assert session.version == 3
    start = time.monotonic()
    session.stop_heartbeat()
    # Stopping cuts the long poll short instead of waiting it out.
    assert time.monotonic() - start < 1.0
    assert not loop.is_alive()


def test_loop_uses_its_own_connection(fake):
    handler, client = fake
    session = client.register("/A")
    loop = session.start_heartbeat(lambda d: None, wait_ms=3000)
    assert wait_for(lambda: loop.heartbeats >= 1)
    # The loop is parked in a long poll; the session's client is free.
    start = time.monotonic()
    session.update_demand(slots=2)
    assert time.monotonic() - start < 1.0
    loop.stop()


def test_loop_retries_unavailable_and_connection_errors(serve):
    handler = FakeScheduler()
    server = serve(handler)
    client = ss.connect(server.address, token=GOOD_TOKEN, timeout=0.3, long_poll_margin=0.2)
    session = client.register("/A")
    handler.heartbeat_errors = [SchedulerError(code=ErrorCode.UNAVAILABLE, message="recovering")]
    handler.heartbeat_stalls = [1.0]  # longer than the reply timeout: the connection is cut
    errors, seen = [], []
    loop = session.start_heartbeat(seen.append, wait_ms=100, on_error=errors.append, initial_backoff=0.05)
    assert wait_for(lambda: len(seen) == 1)
    assert [type(e) for e in errors] == [SchedulerError, ss.ConnectionFailed]
    assert loop.error is None and loop.is_alive()
    loop.stop()


def test_loop_stops_when_the_session_is_gone(fake):
    handler, client = fake
    session = client.register("/A")
    handler.heartbeat_errors = [SchedulerError(code=ErrorCode.NOT_FOUND, message="lease expired")]
    loop = session.start_heartbeat(lambda d: None, wait_ms=100)
    loop.join(5)
    assert not loop.is_alive()
    assert loop.error.code == ErrorCode.NOT_FOUND


def test_callback_errors_do_not_stop_the_loop(fake):
    handler, client = fake
    session = client.register("/A")
    calls = []

    def callback(d):
        calls.append(d.version)
        if len(calls) == 1:
            raise RuntimeError("user bug")

    loop = session.start_heartbeat(callback, wait_ms=2000)
    assert wait_for(lambda: calls == [1])
    handler.bump()
    assert wait_for(lambda: calls == [1, 2])
    assert loop.is_alive()
    loop.stop()


def test_stop_from_the_callback(fake):
    _, client = fake
    session = client.register("/A")
    done = threading.Event()
    loop = None

    def callback(d):
        loop.stop()
        done.set()

    loop = ss.HeartbeatLoop(session, callback, wait_ms=2000)
    loop.start()
    assert done.wait(5)
    loop.join(5)
    assert not loop.is_alive()


def test_loop_redials_after_the_server_restarts(serve):
    first = FakeScheduler()
    server = serve(first)
    client = ss.connect(server.address, token=GOOD_TOKEN, timeout=2)
    session = client.register("/A")
    seen, errors = [], []
    loop = session.start_heartbeat(seen.append, wait_ms=2000, on_error=errors.append, initial_backoff=0.05,
                                   max_backoff=0.2)
    assert wait_for(lambda: len(seen) == 1)
    server.stop()
    assert wait_for(lambda: errors)
    assert all(isinstance(e, ss.ConnectionFailed) for e in errors)
    # A new daemon on the same port, which knows the session again (as a
    # restarted sessiond reloads it) and has moved on to version 5.
    second = FakeScheduler()
    second.sessions.add(session.id)
    second.version = 5
    restarted = FakeServer(second, port=server.port)
    try:
        assert wait_for(lambda: seen and seen[-1].version == 5)
        assert loop.is_alive()
    finally:
        loop.stop()
        restarted.stop()
