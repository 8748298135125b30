"""Client against an in-process server with sessiond's wire format."""

import socket
import time

import pytest

import session_scheduler as ss
from fake_scheduler import GOOD_TOKEN, FakeScheduler


def free_closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_nothing_listening_is_connection_failed():
    port = free_closed_port()
    with pytest.raises(ss.ConnectionFailed) as info:
        ss.connect("127.0.0.1:%d" % port, token="x", timeout=1)
    assert "127.0.0.1:%d" % port in str(info.value)


def test_calls_carry_the_token_and_return_replies(serve):
    handler = FakeScheduler()
    server = serve(handler)
    with ss.connect(server.address, token=GOOD_TOKEN) as client:
        status = client.admin.status()
        assert status.principal == "admin"
        assert client.admin.usage("/A")[0].path == "/A"
        assert handler.calls == [("status", GOOD_TOKEN), ("usage", GOOD_TOKEN)]


def test_token_comes_from_the_environment(serve, monkeypatch):
    server = serve(FakeScheduler())
    monkeypatch.setenv("SESSIOND_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("SESSIOND_SERVER", server.address)
    with ss.connect() as client:
        assert client.admin.status().version == "fake"


def test_server_errors_are_scheduler_errors_and_keep_the_connection(serve):
    server = serve(FakeScheduler())
    client = ss.connect(server.address, token=GOOD_TOKEN)
    with pytest.raises(ss.SchedulerError) as info:
        client.admin.drain_host("node-9", True)
    assert info.value.code == ss.ErrorCode.NOT_FOUND
    assert info.value.message == "no host node-9"
    with pytest.raises(ss.SchedulerError) as info:
        client.admin.set_tree("consumers: []", False)
    assert info.value.code == ss.ErrorCode.PERMISSION_DENIED
    assert client.connected
    stranger = ss.connect(server.address, token="stranger")
    with pytest.raises(ss.SchedulerError) as info:
        stranger.admin.status()
    assert info.value.code == ss.ErrorCode.UNAUTHENTICATED


def test_handler_failure_is_internal_and_the_next_call_works(serve):
    server = serve(FakeScheduler())
    client = ss.connect(server.address, token=GOOD_TOKEN)
    with pytest.raises(ss.SchedulerError) as info:
        client.admin.get_tree()
    assert info.value.code == ss.ErrorCode.INTERNAL
    assert client.admin.status().ready


def test_unknown_call_is_attribute_error(serve):
    server = serve(FakeScheduler())
    client = ss.connect(server.address, token=GOOD_TOKEN)
    with pytest.raises(AttributeError):
        client.admin.register_session
    with pytest.raises(AttributeError):
        client.sessions.send_heartbeat


def test_timeout_closes_and_the_next_call_redials(serve):
    server = serve(FakeScheduler())
    client = ss.connect(server.address, token=GOOD_TOKEN, timeout=0.3)
    with pytest.raises(ss.ConnectionFailed):
        client.admin.usage("slow")
    assert not client.connected
    # The late reply of the timed-out call must not be read as this one's.
    assert client.admin.usage("/B")[0].path == "/B"
    assert client.connected


def test_heartbeat_waits_longer_than_the_reply_timeout(serve):
    handler = FakeScheduler()
    server = serve(handler)
    client = ss.connect(server.address, token=GOOD_TOKEN, timeout=0.3)
    session = client.register("/A")
    start = time.monotonic()
    directives = session.heartbeat(known_version=handler.version, wait_ms=700)
    assert time.monotonic() - start >= 0.6
    assert directives.version == handler.version
    # The long poll's timeout does not stick to the next call.
    with pytest.raises(ss.ConnectionFailed):
        client.admin.usage("slow")
