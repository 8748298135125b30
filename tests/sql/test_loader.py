"""sql/load_usage.py against a real PostgreSQL: idempotence, CSV = JSON lines, bad input loads nothing, the rate card."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from conftest import DATA, RATES_V1, ROOT

LEDGER = DATA / "ledger.jsonl"
USAGE_CSV = DATA / "ledger-usage.csv"
SESSION_CSV = DATA / "ledger-session.csv"
LOADER = ROOT / "sql" / "load_usage.py"


def ledger_lines() -> list[str]:
    return LEDGER.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def counts(db) -> tuple[int, int, int, int]:
    return (db.scalar("SELECT count(*) FROM billing.usage"), db.scalar("SELECT count(*) FROM billing.session"),
            db.scalar("SELECT count(*) FROM billing.tenant"), db.scalar("SELECT count(*) FROM billing.load_run"))


# -- schema ------------------------------------------------------------------

def test_init_installs_schema_and_reports_idempotently(empty_db):
    for _ in range(2):
        out = empty_db.load_ok("--init")
        assert out == "schema and 7 report files installed\n"
    functions = [r[0] for r in empty_db.query(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'billing' ORDER BY 1")]
    assert functions == ["chargeback", "daily_chargeback", "idle_allocation", "monthly_chargeback", "sla_preemptions",
                         "sla_time_to_first_executor", "top_sessions"]


def test_schema_and_reports_run_with_psql(empty_db):
    # The files are plain psql scripts too (what sql/README.md tells operators).
    for f in [ROOT / "sql" / "schema.sql", *sorted((ROOT / "sql" / "reports").glob("*.sql"))] * 2:
        empty_db.server.psql(empty_db.name, "-f", str(f))
    assert empty_db.scalar("SELECT count(*) FROM billing.daily_chargeback(now(), now())") == 0


def test_loading_without_the_schema_says_how_to_create_it(empty_db):
    rc, out, err = empty_db.load("--file", LEDGER)
    assert rc == 1
    assert "create the schema first (load_usage.py --init" in err


# -- loading files -------------------------------------------------------------

def test_jsonl_loads_both_kinds(db):
    out = db.load_ok("--file", LEDGER)
    assert out == f"loaded 8 usage, 9 session records (0 duplicates skipped) from {LEDGER}\n"
    assert counts(db) == (8, 9, 2, 1)
    assert db.query("SELECT source, usage_loaded, session_loaded, duplicates, finished_at IS NOT NULL"
                    " FROM billing.load_run") == [(f"file:{LEDGER}", 8, 9, 0, True)]
    # Tenants appear with the span of their records.
    assert db.query("SELECT name, first_seen::text, last_seen::text FROM billing.tenant ORDER BY name") == [
        ("A", "2026-11-21 08:59:59.6+00", "2026-12-01 01:00:00+00"),
        ("B", "2026-11-21 09:59:59.8+00", "2026-11-22 09:00:00+00"),
    ]
    # Every field, exactly as exported.
    assert db.table("usage")[0] == (
        1, "A", "/A/A2", "s-a2", "dave", "adhoc", "interactive", 1, D("0.5"), 1000, D("0.0"),
        dt.datetime(2026, 11, 21, 9, 0, 0, tzinfo=dt.timezone.utc),
        dt.datetime(2026, 11, 21, 9, 0, 7, tzinfo=dt.timezone.utc),
        7, D("3.5"), D("6.8359375"), D("0.0"), D("0.0"))
    assert db.table("session")[2] == (
        5, "A", "/A/A1", "s-a4", "alice", "etl, nightly", "interactive",
        dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc),
        dt.datetime(2026, 11, 21, 12, 0, 30, tzinfo=dt.timezone.utc),
        "failed", None, 0, 0)


def test_loading_the_same_file_twice_loads_nothing_new(db):
    db.load_ok("--file", LEDGER)
    before = (db.table("usage"), db.table("session"))
    out = db.load_ok("--file", LEDGER)
    assert out == f"loaded 0 usage, 0 session records (17 duplicates skipped) from {LEDGER}\n"
    assert (db.table("usage"), db.table("session")) == before
    assert db.query("SELECT usage_loaded, session_loaded, duplicates FROM billing.load_run ORDER BY load_id") == [
        (8, 9, 0), (0, 0, 17)]


def test_csv_and_jsonl_give_identical_tables(db, empty_db):
    out = db.load_ok("--file", USAGE_CSV, "--file", SESSION_CSV)
    assert out.splitlines() == [
        f"loaded 8 usage, 0 session records (0 duplicates skipped) from {USAGE_CSV}",
        f"loaded 0 usage, 9 session records (0 duplicates skipped) from {SESSION_CSV}",
        "loaded 8 usage, 9 session records (0 duplicates skipped) in all",
    ]
    empty_db.load_ok("--init", "--file", LEDGER)
    for table in ("usage", "session"):
        assert db.table(table) == empty_db.table(table)
    assert db.query("SELECT name, first_seen, last_seen FROM billing.tenant ORDER BY name") == empty_db.query(
        "SELECT name, first_seen, last_seen FROM billing.tenant ORDER BY name")
    # And the JSON lines over the CSV are all duplicates of the same records.
    assert "(17 duplicates skipped)" in db.load_ok("--file", LEDGER)


def test_format_is_detected_without_an_extension(db, tmp_path):
    jsonl = tmp_path / "export-1"
    jsonl.write_bytes(LEDGER.read_bytes())
    csv_file = tmp_path / "export-2"
    csv_file.write_bytes(USAGE_CSV.read_bytes())
    assert "loaded 8 usage, 9 session" in db.load_ok("--file", jsonl)
    assert "loaded 0 usage, 0 session records (8 duplicates skipped)" in db.load_ok("--file", csv_file)


def test_small_batches_load_the_same(db):
    assert "loaded 8 usage, 9 session records" in db.load_ok("--batch-size", "3", "--file", LEDGER)
    assert counts(db)[:2] == (8, 9)


def test_a_record_repeated_in_one_file_is_one_duplicate(db, tmp_path):
    lines = ledger_lines()
    f = write_lines(tmp_path / "twice.jsonl", [lines[0], lines[1], lines[0]])
    assert db.load_ok("--batch-size", "2", "--file", f) == (
        f"loaded 1 usage, 1 session records (1 duplicates skipped) from {f}\n")


def test_malformed_line_loads_nothing_and_names_the_line(db, tmp_path):
    lines = ledger_lines()
    lines[11] = lines[11][:40]  # line 12, cut off mid-object
    f = write_lines(tmp_path / "bad.jsonl", lines)
    # Small batches: the lines before the bad one were already written in
    # the file's transaction, and must be rolled back with it.
    rc, out, err = db.load("--batch-size", "2", "--file", f)
    assert rc == 1 and out == ""
    assert err.startswith(f"load_usage: error: {f}:12: malformed JSON")
    assert counts(db) == (0, 0, 0, 0)


def _mutate(record_index: int, change):
    def make(tmp_path: Path) -> Path:
        lines = ledger_lines()
        rec = json.loads(lines[record_index])
        change(rec)
        lines[record_index] = json.dumps(rec)
        return write_lines(tmp_path / "bad.jsonl", lines)
    return make


BAD_RECORDS = {
    # name: (line changed (1-based) via mutation, the message expected after "FILE:LINE: ")
    "missing field": (_mutate(5, lambda r: r.pop("cpu_seconds")), 6, "field 'cpu_seconds': missing"),
    "unknown kind": (_mutate(1, lambda r: r.update(kind="invoice")), 2,
                     "field 'kind': unknown kind \"invoice\" (expected usage or session)"),
    "no kind": (_mutate(1, lambda r: r.pop("kind")), 2, "field 'kind': missing"),
    "string for a number": (_mutate(0, lambda r: r.update(cpu="0.5")), 1, "field 'cpu': expected a number, got \"0.5\""),
    "negative amount": (_mutate(0, lambda r: r.update(gpu=-1)), 1, "field 'gpu': must not be negative, got -1"),
    "fractional slots": (_mutate(0, lambda r: r.update(slots=1.5)), 1, "field 'slots': not an integer: 1.5"),
    "null field": (_mutate(0, lambda r: r.update(user=None)), 1, "field 'user': is null"),
    "unknown sla": (_mutate(0, lambda r: r.update(sla="gold")), 1,
                    "field 'sla': 'gold' is not one of interactive, streaming, batch"),
    "time without zone": (_mutate(0, lambda r: r.update(start="2026-11-21T09:00:00")), 1,
                          "field 'start': '2026-11-21T09:00:00' has no time zone"),
    "not a time": (_mutate(1, lambda r: r.update(ended="yesterday")), 2,
                   "field 'ended': not an ISO 8601 time: 'yesterday'"),
    "across the hour": (_mutate(5, lambda r: r.update(end="2026-11-21T14:00:01Z", seconds=1801,
                                                      cpu_seconds=7204.0, memory_gib_seconds=14408.0)), 6,
                        "field 'end': 2026-11-21T14:00:01+00:00 is past the next full hour"),
    "seconds disagree": (_mutate(0, lambda r: r.update(seconds=8)), 1, "field 'seconds': 8 but end - start is 7"),
    "wrong derived amount": (_mutate(0, lambda r: r.update(cpu_seconds=35)), 1,
                             "field 'cpu_seconds': 35 but it should be 3.5"),
    "busy beyond slots": (_mutate(0, lambda r: r.update(busy_slot_seconds=7.5)), 1,
                          "field 'busy_slot_seconds': 7.5 exceeds slots x seconds = 7"),
    "tenant not the consumer's": (_mutate(0, lambda r: r.update(tenant="B")), 1,
                                  "field 'tenant': 'B' is not the first segment of consumer '/A/A2'"),
    "end reason": (_mutate(1, lambda r: r.update(end_reason="bored")), 2,
                   "field 'end_reason': 'bored' is not one of unregistered, lease_expired, failed"),
    "ended before registered": (_mutate(1, lambda r: r.update(ended="2026-11-21T08:00:00.000Z")), 2,
                                "field 'ended': 2026-11-21T08:00:00+00:00 is before registered"),
    "not an object": (lambda tmp: write_lines(tmp / "bad.jsonl", ledger_lines()[:2] + ["[1, 2]"]), 3,
                      "expected a JSON object, got list"),
    "NaN": (lambda tmp: write_lines(tmp / "bad.jsonl", [ledger_lines()[0].replace('"cpu":0.5', '"cpu":NaN')]),
            1, "malformed JSON: NaN is not a number JSON allows"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_bad_record_loads_nothing_and_names_line_and_field(db, tmp_path, case):
    make, line, message = BAD_RECORDS[case]
    f = make(tmp_path)
    rc, out, err = db.load("--file", f)
    assert rc == 1, out
    assert f"load_usage: error: {f}:{line}: {message}" in err
    assert counts(db) == (0, 0, 0, 0)


def test_bad_csv(db, tmp_path):
    lines = USAGE_CSV.read_text().splitlines()
    f = write_lines(tmp_path / "cells.csv", lines[:3] + [lines[3] + ",extra"])
    rc, _, err = db.load("--file", f)
    assert rc == 1 and f"{f}:4: 19 cells, the header has 18" in err

    f = write_lines(tmp_path / "number.csv", lines[:2] + [lines[2].replace(",1.5,", ",one and a half,")])
    rc, _, err = db.load("--file", f)
    assert rc == 1 and f"{f}:3: field 'cpu': not a number: 'one and a half'" in err

    f = write_lines(tmp_path / "header.csv", [lines[0].replace(",gpu,", ",gpus,")] + lines[1:])
    rc, _, err = db.load("--file", f)
    assert rc == 1
    assert (f"{f}:1: the header is neither a usage nor a session export (closest: usage; missing: gpu; "
            f"unknown: gpus)") in err

    f = write_lines(tmp_path / "empty.csv", lines[:2] + [lines[2].replace(",s-b2,", ",,")])
    rc, _, err = db.load("--file", f)
    assert rc == 1 and f"{f}:3: field 'session': is empty" in err
    assert counts(db) == (0, 0, 0, 0)


def test_csv_columns_in_any_order(db, tmp_path):
    import csv
    with open(SESSION_CSV, newline="", encoding="utf-8") as src:
        rows = list(csv.reader(src))
    f = tmp_path / "reordered.csv"
    with open(f, "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([list(reversed(r)) for r in rows])
    assert "loaded 0 usage, 9 session records" in db.load_ok("--file", f)


def test_a_reused_record_id_with_other_content_is_an_error(db, tmp_path):
    db.load_ok("--file", LEDGER)
    lines = ledger_lines()
    rec = json.loads(lines[5])
    rec["application"] = "something else"
    new = json.loads(lines[0])
    new["record_id"] = 100
    f = write_lines(tmp_path / "conflict.jsonl", [json.dumps(new), json.dumps(rec)])
    rc, _, err = db.load("--file", f)
    assert rc == 1
    assert (f"{f}:2: record_id 6 differs from the usage record already loaded with that id "
            f"(record ids are never reused)") in err
    assert counts(db)[:2] == (8, 9)  # record 100 was not loaded either

    first = json.loads(lines[5])
    first["record_id"] = rec["record_id"] = 200
    f = write_lines(tmp_path / "inside.jsonl", [json.dumps(first), json.dumps(rec)])
    rc, _, err = db.load("--file", f)
    assert rc == 1 and f"{f}:2: record_id 200 repeats {f}:1 with different content" in err


def test_a_record_id_is_unique_across_kinds(db, tmp_path):
    db.load_ok("--file", LEDGER)
    rec = json.loads(ledger_lines()[0])
    rec["record_id"] = 2  # a session record's id
    f = write_lines(tmp_path / "clash.jsonl", [json.dumps(rec)])
    rc, _, err = db.load("--file", f)
    assert rc == 1 and f"{f}:1: record_id 2 is also a session record's (ids are unique across kinds)" in err


def test_a_missing_file_is_an_error(db, tmp_path):
    rc, _, err = db.load("--file", tmp_path / "nope.jsonl")
    assert rc == 1 and f"{tmp_path / 'nope.jsonl'}: no such file" in err


def test_one_bad_file_keeps_the_good_one_before_it(db, tmp_path):
    bad = write_lines(tmp_path / "bad.jsonl", ["{"])
    rc, out, err = db.load("--file", LEDGER, "--file", bad)
    assert rc == 1
    assert "loaded 8 usage, 9 session records" in out and f"{bad}:1: malformed JSON" in err
    assert counts(db)[:2] == (8, 9)


# -- the rate card -------------------------------------------------------------

def test_rate_card_loads_as_a_version(db):
    path, valid_from = RATES_V1
    out = db.load_ok("--rates", path, "--valid-from", valid_from)
    assert out == "loaded rate card (EUR, default, interactive, streaming) valid from 2026-11-01T00:00:00Z\n"
    assert db.query("SELECT currency, source FROM billing.rate_card_version") == [("EUR", str(path))]
    assert db.query("SELECT sla, cpu_hour, memory_gib_hour, gpu_hour FROM billing.rate_card ORDER BY sla") == [
        ("default", D("0.040"), D("0.005"), D("1.20")),
        ("interactive", D("0.060"), None, None),
        ("streaming", D("0.050"), None, None),
    ]
    # The same again is nothing new; the same card later is no price change.
    assert db.load_ok("--rates", path, "--valid-from", valid_from) == (
        "rate card valid from 2026-11-01T00:00:00Z already loaded\n")
    assert db.load_ok("--rates", path, "--valid-from", "2026-11-02T00:00:00Z") == (
        "rate card unchanged since 2026-11-01T00:00:00Z; nothing loaded\n")
    assert db.scalar("SELECT count(*) FROM billing.rate_card_version") == 1


def test_rate_card_valid_from_defaults_to_the_next_full_hour(db):
    before = dt.datetime.now(dt.timezone.utc)
    db.load_ok("--rates", RATES_V1[0])
    valid_from = db.scalar("SELECT valid_from FROM billing.rate_card_version")
    assert (valid_from.minute, valid_from.second, valid_from.microsecond) == (0, 0, 0)
    assert before < valid_from <= before + dt.timedelta(hours=1)


def test_a_different_card_at_the_same_time_is_an_error(db, tmp_path):
    db.load_ok("--rates", RATES_V1[0], "--valid-from", RATES_V1[1])
    changed = tmp_path / "changed.yaml"
    changed.write_text(RATES_V1[0].read_text().replace("0.060", "0.065"))
    rc, _, err = db.load("--rates", changed, "--valid-from", RATES_V1[1])
    assert rc == 1
    assert "a different rate card is already loaded valid from 2026-11-01T00:00:00Z" in err


def _card(tmp_path: Path, billing: str) -> Path:
    p = tmp_path / "sessiond.yaml"
    p.write_text("sessions: {lease_ttl: 15s}\n" + billing)
    return p


BAD_CARDS = {
    "negative price": ("billing:\n  currency: EUR\n  rates:\n    default: {cpu_hour: -0.04}\n",
                       "billing.rates.default.cpu_hour: negative price -0.04"),
    "not a number": ("billing:\n  currency: EUR\n  rates:\n    batch: {gpu_hour: cheap}\n",
                     "billing.rates.batch.gpu_hour: not a price: 'cheap'"),
    "infinite": ("billing:\n  currency: EUR\n  rates:\n    batch: {gpu_hour: .inf}\n",
                 "billing.rates.batch.gpu_hour: not a price: '.inf'"),
    "unknown class": ("billing:\n  currency: EUR\n  rates:\n    gold: {cpu_hour: 1}\n",
                      "billing.rates.gold: unknown SLA class"),
    "unknown price": ("billing:\n  currency: EUR\n  rates:\n    default: {disk_hour: 1}\n",
                      "billing.rates.default.disk_hour: unknown price"),
    "no currency": ("billing:\n  rates:\n    default: {cpu_hour: 1}\n",
                    "billing.currency: expected an ISO 4217 code like EUR, got None"),
    "no billing section": ("scheduler: {}\n", "no `billing:` section"),
    "no rates": ("billing:\n  currency: EUR\n", "billing.rates: missing or empty"),
    "malformed YAML": ("billing: [\n", "malformed YAML"),
}


@pytest.mark.parametrize("case", sorted(BAD_CARDS))
def test_bad_rate_card_is_an_error_naming_the_field(db, tmp_path, case):
    text, message = BAD_CARDS[case]
    p = _card(tmp_path, text)
    rc, out, err = db.load("--rates", p, "--valid-from", "2026-11-01T00:00:00Z", "--file", LEDGER)
    assert rc == 1, out
    assert f"load_usage: error: {p}: {message}" in err
    # A bad card stops the run before anything is written.
    assert db.scalar("SELECT count(*) FROM billing.rate_card_version") == 0
    assert counts(db) == (0, 0, 0, 0)


def test_unreadable_rate_card(db, tmp_path):
    rc, _, err = db.load("--rates", tmp_path / "missing.yaml")
    assert rc == 1 and f"{tmp_path / 'missing.yaml'}: cannot read the rate card" in err


def test_valid_from_must_be_a_full_hour(db):
    rc, _, err = db.load("--rates", RATES_V1[0], "--valid-from", "2026-11-01T00:30:00Z")
    assert rc == 1 and "--valid-from: 2026-11-01T00:30:00Z is not on a full UTC hour" in err
    rc, _, err = db.load("--rates", RATES_V1[0], "--valid-from", "2026-11-01T00:00:00")
    assert rc == 1 and "has no time zone" in err


def test_a_currency_change_is_refused(db, tmp_path):
    db.load_ok("--rates", RATES_V1[0], "--valid-from", RATES_V1[1])
    usd = tmp_path / "usd.yaml"
    usd.write_text(RATES_V1[0].read_text().replace("EUR", "USD"))
    rc, _, err = db.load("--rates", usd, "--valid-from", "2026-12-01T00:00:00Z")
    assert rc == 1 and "billing.currency is USD but the loaded rate card is in EUR" in err


def test_a_default_without_a_price_is_warned_about(db, tmp_path):
    p = _card(tmp_path, "billing:\n  currency: EUR\n  rates:\n    default: {cpu_hour: 0.04, memory_gib_hour: 0.005}\n")
    rc, _, err = db.load("--rates", p, "--valid-from", "2026-11-01T00:00:00Z")
    assert rc == 0
    assert "billing.rates.default has no gpu_hour, so interactive, streaming, batch usage of it is unpriced" in err


# -- the command line ------------------------------------------------------------

def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LOADER), *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_cli_help_and_usage_errors():
    r = run_cli("--help")
    assert r.returncode == 0
    for option in ("--dsn", "--file", "--kafka", "--topic", "--group", "--until-idle", "--rates", "--init"):
        assert option in r.stdout
    assert "loaded N usage, M session records (K duplicates skipped)" in r.stdout
    r = run_cli()
    assert r.returncode == 2 and "nothing to do" in r.stderr
    r = run_cli("--kafka", "localhost:9092")
    assert r.returncode == 2 and "--kafka needs --topic" in r.stderr


def test_cli_loads_and_reports_errors_with_exit_status(db, tmp_path):
    r = run_cli("--dsn", db.dsn, "--file", LEDGER)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"loaded 8 usage, 9 session records (0 duplicates skipped) from {LEDGER}\n"
    bad = write_lines(tmp_path / "bad.jsonl", ['{"kind": "usage"}'])
    r = run_cli("--dsn", db.dsn, "--file", bad)
    assert r.returncode == 1 and r.stderr == f"load_usage: error: {bad}:1: field 'record_id': missing\n"


def test_cli_cannot_connect():
    r = run_cli("--dsn", "host=127.0.0.1 port=1 dbname=x connect_timeout=2", "--file", LEDGER)
    assert r.returncode == 1 and r.stderr.startswith("load_usage: cannot connect to the database")


def test_check_reads_files_without_a_database(tmp_path):
    r = run_cli("--check", "--rates", RATES_V1[0], "--file", LEDGER, "--file", USAGE_CSV)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "rate card ok (EUR, default, interactive, streaming)",
        f"{LEDGER}: ok, 8 usage, 9 session records",
        f"{USAGE_CSV}: ok, 8 usage, 0 session records",
    ]
    bad = write_lines(tmp_path / "bad.jsonl", ledger_lines()[:3] + ["{"])
    r = run_cli("--check", "--file", bad)
    assert r.returncode == 1 and f"{bad}:4: malformed JSON" in r.stderr
