"""sessionctl (the C++ client library underneath) against a real sessiond:
every read in human and --json form, tree set, drain, and its errors."""

import json
import subprocess

from harness import ADMIN_TOKEN, SESSIONCTL, TENANT_A_TOKEN, granted, wait_for


def ctl(d, *args, token=ADMIN_TOKEN, check=True):
    r = subprocess.run([str(SESSIONCTL), "--server", d.server, "--token", token, *args], capture_output=True,
                       text=True, timeout=30)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def test_reads_in_table_and_json(make_daemon):
    d = make_daemon().start()
    c = d.client()
    c.register("/A", initial_demand=5, session_id="ctl-a", user="alice", application="etl")
    wait_for(lambda: granted(c, "/A") == 5, what="A = 5")

    status = json.loads(ctl(d, "--json", "status").stdout)
    assert status["backend"] == "local" and status["sessions"] == 1
    assert "h1" in ctl(d, "status").stdout

    tree = json.loads(ctl(d, "--json", "tree", "show").stdout)
    paths = {n["path"] for n in tree["consumers"]}
    assert {"/", "/A", "/B", "/B/B1", "/B/B2"} <= paths
    assert "/B/B2" in ctl(d, "tree", "show").stdout

    sessions = json.loads(ctl(d, "--json", "sessions").stdout)
    assert [s["session_id"] for s in sessions] == ["ctl-a"]
    table = ctl(d, "sessions").stdout
    assert "ctl-a" in table and "/A" in table

    usage = json.loads(ctl(d, "--json", "usage", "--consumer", "/A").stdout)
    assert usage[0]["path"] == "/A"
    assert "/A" in ctl(d, "usage").stdout


def test_tree_set_and_drain(make_daemon, tmp_path):
    d = make_daemon().start()
    c = d.client()
    new_tree = tmp_path / "tree.yaml"
    new_tree.write_text("consumers:\n  - {name: A, owned: 10}\n  - {name: B, children: [{name: B1}, {name: B2}]}\n")
    ctl(d, "tree", "set", str(new_tree), "--dry-run")
    assert c.admin.get_tree().version == 1
    ctl(d, "tree", "set", str(new_tree))
    tree = c.admin.get_tree()
    assert tree.version == 2 and "owned: 10" in tree.yaml

    s = c.register("/A", initial_demand=20)
    wait_for(lambda: granted(c, "/A") == 20, what="A = 20")
    ctl(d, "drain", "h1")
    # Drained: h1's slots are revoked with grace and nothing new lands there.
    wait_for(lambda: granted(c, "/A") == 10, timeout=10, what="h1 emptied")
    hosts = {h.name: h for h in c.admin.status().hosts}
    assert hosts["h1"].draining and hosts["h1"].used.cpu_millis == 0
    ctl(d, "drain", "h1", "--undo")
    wait_for(lambda: granted(c, "/A") == 20, what="h1 back in use")
    s.unregister()


def test_errors(make_daemon, tmp_path):
    d = make_daemon().start()
    r = ctl(d, "status", token="wrong-token-0123456789", check=False)
    assert r.returncode != 0 and "unknown token" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("consumers:\n  - {name: A, owned: -4}\n")
    r = ctl(d, "tree", "set", str(bad), check=False)
    assert r.returncode != 0 and "must not be negative" in r.stderr
    r = ctl(d, "tree", "set", str(bad), token=TENANT_A_TOKEN, check=False)
    assert r.returncode != 0
    r = ctl(d, "drain", "no-such-host", check=False)
    assert r.returncode != 0 and "no-such-host" in r.stderr
    r = subprocess.run([str(SESSIONCTL), "--server", "127.0.0.1:1", "--token", ADMIN_TOKEN, "status"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 3, r
