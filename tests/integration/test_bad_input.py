"""Bad input of every kind gets a clear error, the daemon keeps serving and
its state does not change: malformed, truncated and oversize frames,
unknown methods and services, invalid trees, unknown sessions, wrong
tokens, bad configuration files."""

import socket
import struct
import subprocess
import time

import pytest
from thrift.protocol import TBinaryProtocol
from thrift.Thrift import TApplicationException
from thrift.transport import TTransport

import session_scheduler as ss
from harness import ADMIN_TOKEN, SESSIOND, TENANT_A_TOKEN, TENANT_B_TOKEN, granted, wait_for


def state_of(client):
    tree = client.admin.get_tree()
    sessions = sorted((s.session_id, s.consumer, s.demand, s.granted_slots) for s in client.admin.list_sessions("/"))
    return tree.yaml, tree.version, sessions


@pytest.fixture
def running(make_daemon):
    d = make_daemon().start()
    c = d.client()
    s = c.register("/A", initial_demand=3, session_id="keep-me")
    wait_for(lambda: granted(c, "/A") == 3, what="A = 3")
    return d, c, s


def raw_call(port, payload, read=True):
    """Sends raw bytes; returns the decoded reply frame's message, or None if
    the connection closed without one."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(payload)
        if not read:
            return None
        header = b""
        while len(header) < 4:
            chunk = sock.recv(4 - len(header))
            if not chunk:
                return None
            header += chunk
        (n,) = struct.unpack(">i", header)
        body = b""
        while len(body) < n:
            chunk = sock.recv(n - len(body))
            if not chunk:
                break
            body += chunk
        proto = TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(body))
        name, mtype, seqid = proto.readMessageBegin()
        x = TApplicationException()
        x.read(proto)
        return name, mtype, x
    finally:
        sock.close()


def frame(body):
    return struct.pack(">i", len(body)) + body


def call_body(name, args=b"\x00"):
    buf = TTransport.TMemoryBuffer()
    proto = TBinaryProtocol.TBinaryProtocol(buf)
    proto.writeMessageBegin(name, 1, 7)
    buf.write(args)
    return buf.getvalue()


def test_malformed_frame(running):
    d, c, _ = running
    before = state_of(c)
    _, mtype, x = raw_call(d.port, frame(b"\x01\x02garbage-not-thrift"))
    assert mtype == 3 and x.type == TApplicationException.PROTOCOL_ERROR
    assert "malformed request" in x.message
    assert state_of(c) == before


def test_malformed_arguments(running):
    d, c, _ = running
    before = state_of(c)
    # A valid header, then a string field whose length runs past the frame.
    args = b"\x0b\x00\x01\x00\x00\x10\x00abc"
    _, mtype, x = raw_call(d.port, frame(call_body("Sessions:update_demand", args)))
    assert x.type == TApplicationException.PROTOCOL_ERROR
    assert "malformed arguments for 'Sessions:update_demand'" in x.message
    assert state_of(c) == before


def test_truncated_frame(running):
    d, c, _ = running
    before = state_of(c)
    # Announces 100 bytes, sends 10 and hangs up.
    assert raw_call(d.port, struct.pack(">i", 100) + b"0123456789", read=False) is None
    assert state_of(c) == before
    assert c.admin.status().ready


def test_oversize_frame(running):
    d, c, _ = running
    before = state_of(c)
    _, _, x = raw_call(d.port, struct.pack(">i", 50 * 1024 * 1024) + b"x" * 64)
    assert x.type == TApplicationException.PROTOCOL_ERROR
    assert "exceeds the limit of 1048576 bytes" in x.message
    # A real client sending too much gets the same answer.
    big = ss.api.LaunchSpec(command=["x" * 2_000_000])
    with pytest.raises(Exception):
        c.clone().register("/A", launch=big)
    assert state_of(c) == before


def test_pipelined_calls_are_answered_in_order(running):
    # Several whole frames in one write, the last split across two: each is
    # answered, in order, on the one connection.
    d, c, _ = running
    calls = b"".join(frame(call_body("Nope:m%d" % i)) for i in range(3))
    sock = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    try:
        sock.sendall(calls[:-3])
        sock.sendall(calls[-3:])
        f = sock.makefile("rb")
        for i in range(3):
            (n,) = struct.unpack(">i", f.read(4))
            proto = TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(f.read(n)))
            name, mtype, _ = proto.readMessageBegin()
            x = TApplicationException()
            x.read(proto)
            assert (name, mtype) == ("Nope:m%d" % i, 3)
            assert "unknown service 'Nope'" in x.message
    finally:
        sock.close()
    assert c.admin.status().ready


def test_idle_connections_are_closed(make_daemon, tmp_path):
    """A connection silent for api.idle_connection_timeout is closed, and so
    is one that stalls in the middle of a frame; one in steady use is not."""
    from harness import base_config
    config = base_config(tmp_path / "data0").replace("api: {max_frame_bytes: 1048576}",
                                                    "api: {max_frame_bytes: 1048576, idle_connection_timeout: 1s}")
    d = make_daemon(config_text=config).start()
    silent = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    stalled = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    stalled.sendall(struct.pack(">i", 100) + b"0123456789")
    c = d.client()
    t0 = time.time()
    while time.time() - t0 < 2.5:  # in use throughout: each call restarts the clock
        assert c.admin.status().ready
        time.sleep(0.2)
    for sock in (silent, stalled):
        assert sock.recv(1) == b"", "closed by the daemon"
        sock.close()
    assert c.admin.status().ready


def test_negative_frame_size(running):
    d, c, _ = running
    _, _, x = raw_call(d.port, struct.pack(">i", -5))
    assert "invalid frame size -5" in x.message
    assert c.admin.status().ready


def test_unknown_method_and_service(running):
    d, c, _ = running
    before = state_of(c)
    _, _, x = raw_call(d.port, frame(call_body("Sessions:no_such_call")))
    assert x.type == TApplicationException.UNKNOWN_METHOD and "no_such_call" in x.message
    _, _, x = raw_call(d.port, frame(call_body("Billing:export")))
    assert x.type == TApplicationException.UNKNOWN_METHOD and "unknown service 'Billing'" in x.message
    _, _, x = raw_call(d.port, frame(call_body("heartbeat")))
    assert "must name their service" in x.message
    assert state_of(c) == before


def test_invalid_trees(running):
    d, c, _ = running
    before = state_of(c)
    cases = {
        "consumers:\n  - {name: A, owned: -1}\n": "must not be negative",
        "consumers:\n  - {name: A}\n  - {name: A}\n": "duplicate",
        "consumers:\n  - {name: A, owned: lots}\n": "expected a number of slots",
        "consumers:\n  - {name: A, owned: 4, limit: 2}\n": "limit",
        "consumers:\n  - {name: P, owned: 2, children: [{name: C, owned: 5}]}\n": "owned",
        "consumers: [\n": "not valid YAML",
        "consumers:\n  - {name: Z}\n": "no leaf '/A' for live session 'keep-me'",
    }
    for text, expect in cases.items():
        with pytest.raises(ss.SchedulerError) as e:
            c.admin.set_tree(text, False)
        assert expect in e.value.message, (text, e.value.message)
        assert e.value.code in (ss.ErrorCode.INVALID_ARGUMENT, ss.ErrorCode.FAILED_PRECONDITION)
    assert state_of(c) == before
    # dry_run validates and changes nothing.
    view = c.admin.set_tree("consumers:\n  - {name: A}\n  - {name: B, children: [{name: B1}, {name: B2}]}\n", True)
    assert view.version == before[1]
    assert state_of(c) == before


def test_unknown_session_and_consumer(running):
    d, c, _ = running
    before = state_of(c)
    for call in (lambda: c.sessions.heartbeat("nope", 0, 0), lambda: c.sessions.update_demand("nope", ss.api.Demand()),
                 lambda: c.sessions.release("keep-me", "no-executor", 1), lambda: c.sessions.unregister_session("nope")):
        with pytest.raises(ss.SchedulerError) as e:
            call()
        assert e.value.code == ss.ErrorCode.NOT_FOUND
    with pytest.raises(ss.SchedulerError) as e:
        c.register("/Nope")
    assert e.value.code == ss.ErrorCode.NOT_FOUND and "unknown consumer '/Nope'" in e.value.message
    with pytest.raises(ss.SchedulerError) as e:
        c.register("/B")
    assert "not a leaf" in e.value.message
    with pytest.raises(ss.SchedulerError) as e:
        c.sessions.update_demand("keep-me", ss.api.Demand(slots=-3))
    assert e.value.code == ss.ErrorCode.INVALID_ARGUMENT
    # A warm start must say where the handed-off part of the command begins.
    for warm_from in (0, 2, -1):
        with pytest.raises(ss.SchedulerError) as e:
            c.register("/A", launch={"command": ["java", "Main"], "warm_command": ["java", "Warm"],
                                     "warm_args_from": warm_from})
        assert e.value.code == ss.ErrorCode.INVALID_ARGUMENT
        assert "launch.warm_args_from (%d) must point inside launch.command (2 arguments)" % warm_from in \
            e.value.message, e.value.message
    assert state_of(c) == before


def test_tokens(running):
    d, c, _ = running
    before = state_of(c)
    for token in ("", "wrong-token-0123456789", ADMIN_TOKEN + "x"):
        bad = ss.connect(d.server, token=token or "-")
        if token == "":
            bad.token = ""
        with pytest.raises(ss.SchedulerError) as e:
            bad.admin.status()
        assert e.value.code == ss.ErrorCode.UNAUTHENTICATED
        assert ADMIN_TOKEN not in e.value.message
    tenant_a = d.client(TENANT_A_TOKEN)
    tenant_b = d.client(TENANT_B_TOKEN)
    # A tenant acts only within its subtree and cannot change the tree.
    with pytest.raises(ss.SchedulerError) as e:
        tenant_b.register("/A")
    assert e.value.code == ss.ErrorCode.PERMISSION_DENIED
    with pytest.raises(ss.SchedulerError) as e:
        tenant_b.sessions.update_demand("keep-me", ss.api.Demand(slots=9))
    assert e.value.code == ss.ErrorCode.NOT_FOUND  # others' sessions are invisible
    with pytest.raises(ss.SchedulerError) as e:
        tenant_a.admin.set_tree("consumers:\n  - {name: A}\n", False)
    assert e.value.code == ss.ErrorCode.PERMISSION_DENIED
    with pytest.raises(ss.SchedulerError) as e:
        tenant_a.admin.drain_host("h1", True)
    assert e.value.code == ss.ErrorCode.PERMISSION_DENIED
    assert [s.session_id for s in tenant_b.admin.list_sessions("/")] == []
    assert [s.session_id for s in tenant_a.admin.list_sessions("/")] == ["keep-me"]
    assert {x.path for x in tenant_b.admin.get_tree().consumers} == {"/B", "/B/B1", "/B/B2"}
    assert state_of(c) == before
    # Tenant A may use its own subtree.
    s = tenant_a.register("/A", initial_demand=1)
    s.unregister()


@pytest.mark.parametrize("text,expect", [
    ("sessions: {lease_ttl: soon}\n", "sessions.lease_ttl"),
    ("listen: nowhere\n", "listen: expected HOST:PORT"),
    ("scheduler: {placement: diagonal}\n", "scheduler.placement"),
    ("scheduler: {rebalance: {threshold: 2}}\n", "scheduler.rebalance.threshold: must be above 0 and at most 1"),
    ("scheduler: {rebalance: sometimes}\n", "scheduler.rebalance: expected true or false"),
    ("scheduler: {resplit_tolerance: 0.5}\n", "scheduler.resplit_tolerance: must be between 0 and 0.05"),
    ("api: {io_threads: 0}\n", "api.io_threads: expected auto or a count from 1 to 64"),
    ("api: {io_threads: lots}\n", "api.io_threads: expected auto or a count from 1 to 64"),
    ("colour: blue\n", "unknown field"),
    ("consumers:\n  - {name: A, share: -2}\n", "consumers[0].share"),
    ("auth: {tokens: [{token: short, principal: x, admin: true}]}\n", "at least 16 characters"),
    ("backend: {local: {hosts: [{name: h1, cpu: many}]}}\n", "backend.local.hosts[0].cpu"),
])
def test_bad_configuration(tmp_path, text, expect):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\nlisten: 127.0.0.1:0\nmetrics_listen: 127.0.0.1:0\n" + text)
    r = subprocess.run([str(SESSIOND), "--config", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert expect in r.stderr, r.stderr
    assert str(cfg) in r.stderr or "backend" in expect


def test_bad_flag(tmp_path):
    r = subprocess.run([str(SESSIOND), "--lease-ttl", "forever", "--data-dir", str(tmp_path)], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 2 and "--lease-ttl" in r.stderr, r.stderr


def test_second_daemon_on_same_data_dir(make_daemon):
    d = make_daemon().start()
    r = subprocess.run([str(SESSIOND), "--config", str(d.config)], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "cannot open the state database" in r.stderr, r.stderr
    assert d.client().admin.status().ready


def test_strings_that_are_not_utf8(running, monkeypatch):
    """Thrift strings are bytes on the wire: one that is not UTF-8 (here a
    Latin-1 byte) is refused with the field's name, and nothing is stored
    that the state's JSON could not hold."""
    d, c, _ = running
    before = state_of(c)
    # Write str fields as raw bytes: surrogate escapes become the bytes they stand for.
    monkeypatch.setattr(TBinaryProtocol.TBinaryProtocol, "writeString",
                        lambda self, s: self.writeBinary(s.encode("utf-8", "surrogateescape")))
    bad = "caf\udce9"
    for kwargs, field in [({"user": bad}, "user"), ({"application": bad}, "application"),
                          ({"launch": {"command": ["/bin/true", bad]}}, "launch.command"),
                          ({"launch": {"command": ["/bin/true"], "env": {"X": bad}}}, "launch.env")]:
        with pytest.raises(ss.SchedulerError) as e:
            c.register("/A", initial_demand=1, **kwargs)
        assert e.value.code == ss.ErrorCode.INVALID_ARGUMENT, (field, e.value)
        assert field in str(e.value) and "UTF-8" in str(e.value), (field, e.value)
    # Overlong, a surrogate, cut short, above U+10FFFF.
    for raw in [b"\xc0\xaf", b"\xed\xa0\x80", b"x\xe2\x82", b"\xf4\x90\x80\x80"]:
        with pytest.raises(ss.SchedulerError) as e:
            c.register("/A", initial_demand=1, user=raw.decode("utf-8", "surrogateescape"))
        assert e.value.code == ss.ErrorCode.INVALID_ARGUMENT and "user: not valid UTF-8" in str(e.value), raw
    with pytest.raises(ss.SchedulerError) as e:
        c.admin.set_tree("consumers:\n  - {name: A}\n  - {name: " + bad + "}\n", False)
    assert e.value.code == ss.ErrorCode.INVALID_ARGUMENT and "tree: not valid UTF-8" in str(e.value)
    # Real UTF-8 is welcome, up to four bytes a character.
    s = c.register("/A", initial_demand=0, user="zo\u00eb", application="\u65e5\u672c \U0001f680")
    s.unregister()
    monkeypatch.undo()
    assert state_of(c) == before
    # Nothing was half-stored: a restart after kill -9 reads the same state.
    d.kill9()
    d.start()
    assert state_of(d.client()) == before
