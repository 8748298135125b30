"""The usage ledger against a real sessiond: records equal the integral of
what each session held, through preemptions and a kill -9; the file sink,
sessionctl's CSV and JSON-lines exports and the monthly bill agree with it;
bad billing input gets clear errors and writes nothing."""

import csv
import io
import json
import re
import subprocess
import time
from collections import defaultdict
from datetime import datetime, timezone

import requests

from harness import ADMIN_TOKEN, SESSIOND, SESSIONCTL, TENANT_A_TOKEN, base_config, granted, wait_for

RATES = """\
billing:
  currency: EUR
  rates:
    default: {cpu_hour: 0.04, memory_gib_hour: 0.01}
    interactive: {cpu_hour: 0.10}
  files: {dir: FILES, interval: 300ms, format: jsonl}
"""


def billing_config(d_dir, files_dir):
    return base_config(d_dir, extra=RATES.replace("FILES", str(files_dir)))


def utc(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sessionctl(d, *args, token=ADMIN_TOKEN):
    return subprocess.run([str(SESSIONCTL), "--server", d.server, "--token", token, *args], capture_output=True,
                          text=True, timeout=60)


def held_integrals(log):
    """slot-seconds per session from the daemon's usage_hold/usage_end lines,
    each change at its metered (nearest) second, holdings running on through
    a kill -9 until the next change."""
    total = defaultdict(int)
    state = {}
    for m in re.finditer(r"event=usage_(hold|end) session=(\S+) consumer=\S+(?: slots=(\d+))? at_ms=(\d+)", log):
        kind, sid, slots, at = m.group(1), m.group(2), int(m.group(3) or 0), int(m.group(4))
        s = (at + 500) // 1000
        if sid in state:
            held, since = state[sid]
            total[sid] += held * (s - since)
        state[sid] = (slots if kind == "hold" else 0, s)
    return total, state


def export(d, frm, to, fmt="jsonl", kind="usage", tenant=None, token=ADMIN_TOKEN):
    args = ["billing", "export", "--from", frm, "--to", to, "--format", fmt, "--kind", kind]
    if tenant:
        args += ["--tenant", tenant]
    r = sessionctl(d, *args, token=token)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_ledger_is_the_integral_of_allocations_through_preemption_and_kill9(make_daemon, tmp_path):
    files = tmp_path / "billing-files"
    d = make_daemon(billing_config(tmp_path / "data", files)).start()
    c = d.client()
    t_start = int(time.time() * 1000)

    # The reference scenario in slots only (no processes): A borrows, B1
    # reclaims after the grace period, the daemon is killed and restarted
    # while everyone holds slots, then B2 reclaims from B1.
    a = c.register("/A", initial_demand=20, application="a-etl", user="ann")
    wait_for(lambda: granted(c, "/A") == 20, what="A = 20")
    time.sleep(1.2)
    b1 = c.register("/B/B1", initial_demand=20, application="b1-etl", user="bob")
    wait_for(lambda: (granted(c, "/A"), granted(c, "/B/B1")) == (4, 16), what="A:B1 = 4:16")
    # B1's driver runs 3 tasks from here to the end: they run on through the
    # kill -9 as its executors do, and are billed as busy throughout.
    b1.update_demand(pending_tasks=17, running_tasks=3)
    busy_from = time.time()
    time.sleep(1.5)
    d.kill9()
    time.sleep(2.2)  # executors "run on" while sessiond is down: still billed
    d.start()
    c = d.client()
    for s in (a, b1):
        s.client = c
    a.update_demand(slots=0)
    wait_for(lambda: granted(c, "/B/B1") == 20, what="B1 = 20")
    b2 = c.register("/B/B2", initial_demand=20, sla="interactive", application="b2-notebook", user="cat")
    wait_for(lambda: (granted(c, "/B/B1"), granted(c, "/B/B2")) == (8, 12), what="B1:B2 = 8:12")
    time.sleep(1.3)
    for s in (a, b1, b2):
        if s is b1:
            busy_seconds = time.time() - busy_from
        s.unregister()
    wait_for(lambda: "event=usage_end session=" + b2.id in d.log(), what="B2's usage closed")
    time.sleep(1.1)  # the export range must have passed

    frm, to = utc(t_start - 3_600_000), utc(int(time.time() * 1000))
    usage = [json.loads(line) for line in export(d, frm, to).splitlines()]
    sessions = [json.loads(line) for line in export(d, frm, to, kind="session").splitlines()]

    # Exactly the integral of the holdings, session by session.
    expected, open_at_end = held_integrals(d.log())
    assert all(held == 0 for held, _ in open_at_end.values()), open_at_end
    billed = defaultdict(int)
    for r in usage:
        billed[r["session"]] += r["slots"] * r["seconds"]
        assert r["seconds"] > 0 and r["end"][:13] == r["start"][:13] or r["end"].endswith(":00:00Z")
        assert r["cpu_seconds"] == r["slots"] * r["seconds"] and r["memory_gib_seconds"] == r["cpu_seconds"]
        assert 0 <= r["busy_slot_seconds"] <= r["slots"] * r["seconds"]
    assert dict(billed) == dict(expected)
    # Busy time is metered to the millisecond, records to the nearest second.
    b1_busy = sum(r["busy_slot_seconds"] for r in usage if r["session"] == b1.id)
    assert 3 * (busy_seconds - 1) <= b1_busy <= 3 * (busy_seconds + 1), (b1_busy, busy_seconds)
    assert {a.id, b1.id, b2.id} <= set(billed)
    # A held 20 slots for more than a second, then 4 across the restart.
    a_slots = [r["slots"] for r in usage if r["session"] == a.id]
    assert a_slots[0] == 20 and 4 in a_slots
    ids = [r["record_id"] for r in usage + sessions]
    assert len(ids) == len(set(ids))

    # One session record each, with what it went through.
    by_session = {r["session"]: r for r in sessions}
    assert set(by_session) == {a.id, b1.id, b2.id}
    assert by_session[a.id]["preemptions"] >= 1 and by_session[a.id]["slots_preempted"] == 16
    assert by_session[b1.id]["slots_preempted"] == 12
    assert by_session[b2.id]["preemptions"] == 0 and by_session[b2.id]["sla"] == "interactive"
    assert all(r["end_reason"] == "unregistered" for r in sessions)
    assert all(r["tenant"] == ("A" if r["consumer"] == "/A" else "B") for r in usage + sessions)

    # The file sink wrote the same records, each once.
    def filed():
        out = {}
        for f in sorted(files.glob("usage-*.jsonl")):
            for line in f.read_text().splitlines():
                rec = json.loads(line)
                assert rec["record_id"] not in out
                out[rec["record_id"]] = rec
        return out

    wait_for(lambda: set(ids) <= set(filed()), timeout=10, what="the file sink caught up")
    metrics = lambda: requests.get(f"http://127.0.0.1:{d.metrics_port}/metrics", timeout=5).text  # noqa: E731
    wait_for(lambda: 'sessiond_billing_export_lag_records{sink="files"} 0' in metrics(), what="no export lag")
    assert re.search(r"sessiond_billing_ledger_last_record_id \d+", metrics())
    assert all(filed()[r["record_id"]] == r for r in usage + sessions)

    # CSV holds the same numbers; a tenant filter keeps only its records.
    rows = list(csv.DictReader(io.StringIO(export(d, frm, to, fmt="csv"))))
    assert [int(r["record_id"]) for r in rows] == [r["record_id"] for r in usage]
    assert [float(r["cpu_seconds"]) for r in rows] == [r["cpu_seconds"] for r in usage]
    only_b = [json.loads(line) for line in export(d, frm, to, tenant="B").splitlines()]
    assert only_b == [r for r in usage if r["tenant"] == "B"]
    # A tenant token sees only its own subtree.
    mine = [json.loads(line) for line in export(d, frm, to, token=TENANT_A_TOKEN).splitlines()]
    assert mine == [r for r in usage if r["tenant"] == "A"]

    # The bill: the rate card over the exact totals, per SLA class.
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    r = sessionctl(d, "billing", "report", "--tenant", "B", "--month", month, "--json")
    assert r.returncode == 0, r.stderr
    bill = json.loads(r.stdout)
    in_month = [u for u in usage if u["tenant"] == "B" and u["start"].startswith(month)]
    price = {"batch": 0.04, "interactive": 0.10}
    want = sum(u["cpu_seconds"] / 3600 * price[u["sla"]] + u["memory_gib_seconds"] / 3600 * 0.01 for u in in_month)
    assert bill["currency"] == "EUR" and not bill["final"]
    assert abs(bill["total"] - want) < 1e-9, (bill, want)
    assert {line["sla"] for line in bill["lines"]} == {"batch", "interactive"}
    text = sessionctl(d, "billing", "report", "--tenant", "B", "--month", month)
    assert text.returncode == 0 and "TOTAL" in text.stdout and "interactive" in text.stdout


def test_bad_billing_input_is_refused_and_writes_nothing(make_daemon, tmp_path):
    # A malformed rate card: sessiond does not start, names the field, and
    # creates no state.
    data = tmp_path / "never"
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"data_dir: {data}\nbilling:\n  rates:\n    batch: {{cpu_hour: -3}}\n")
    r = subprocess.run([str(SESSIOND), "--config", str(bad)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "bad.yaml:4: billing.rates.batch.cpu_hour: a price must be a number of at least 0" in r.stderr
    assert not data.exists()

    d = make_daemon(billing_config(tmp_path / "data", tmp_path / "files")).start()
    now = int(time.time() * 1000)
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    out = tmp_path / "export.csv"

    # An unknown tenant.
    r = sessionctl(d, "billing", "report", "--tenant", "Z", "--month", month)
    assert r.returncode == 1 and "unknown tenant 'Z' (tenants: A, B)" in r.stderr, r.stderr
    r = sessionctl(d, "billing", "export", "--from", utc(now - 60_000), "--to", utc(now - 1000), "--tenant", "Z",
                   "--format", "csv", "--output", str(out))
    assert r.returncode == 1 and "unknown tenant 'Z'" in r.stderr
    assert not out.exists() and not list(tmp_path.glob("export.csv*"))
    # A range in the future.
    r = sessionctl(d, "billing", "export", "--from", utc(now - 60_000), "--to", "2099-01-01", "--output", str(out))
    assert r.returncode == 1 and "ends in the future" in r.stderr
    assert not out.exists() and not list(tmp_path.glob("export.csv*"))
    r = sessionctl(d, "billing", "report", "--tenant", "A", "--month", "2099-01")
    assert r.returncode == 1 and "has not started" in r.stderr
    # Malformed arguments never reach the daemon.
    r = sessionctl(d, "billing", "export", "--from", "yesterday", "--to", utc(now))
    assert r.returncode == 2 and "--from" in r.stderr and "not a UTC time" in r.stderr
    r = sessionctl(d, "billing", "report", "--tenant", "A", "--month", "2026-13")
    assert r.returncode == 1 and "month must be YYYY-MM" in r.stderr
    # Another tenant's bill.
    r = sessionctl(d, "billing", "report", "--tenant", "B", "--month", month, token=TENANT_A_TOKEN)
    assert r.returncode == 1 and "may not read tenant 'B'" in r.stderr
    # Nothing was written anywhere by all that.
    assert not list((tmp_path / "files").glob("usage-*"))
