"""The report functions of sql/reports on the test ledger (tests/sql/data), against hand-computed answers.

The ledger (ledger.jsonl) in short, all on 2026-11-21 unless said:
  A  s-a2  interactive  09:00:00-09:00:07  1 slot, 0.5 cpu, 1000 MiB      busy 0
  B  s-b2  streaming    10:00-10:10        1 slot, 1.5 cpu, 3 GiB         busy 600
  A  s-a1  batch        13:30-14:00 and 14:00-14:20 (split at the hour, across the price change)
                                           4 slots, 4 cpu, 8 GiB          busy 6000, 4800
  B  s-b1  interactive  23:30-00:00 and 11-22 00:00-00:15 (split at midnight)
                                           2 slots, 2 cpu, 4 GiB, 0.5 gpu busy 1800.5, 900
  B  s-b3  streaming    11-22 08:00-09:00  2 slots, 2 cpu, 2 GiB          busy 3600
  A  s-a3  batch        12-01 00:00-01:00  2 slots, 2 cpu, 2 GiB, 1 gpu   busy 7200
Rate cards (EUR per hour): from 11-01 default cpu 0.040, GiB 0.005, gpu 1.20;
interactive cpu 0.060; streaming cpu 0.050. From 11-21 14:00 default cpu
0.048, GiB 0.006, gpu 1.50; interactive cpu 0.072; streaming has no own
price any more, so it falls back to default's.

Costs per interval, by hand:
  s-a2   (3.5 x 0.06 + 6.8359375 x 0.005) / 3600     = 0.0000678276909722...
  s-b2   900/3600 x 0.05 + 1800/3600 x 0.005        = 0.0125 + 0.0025 = 0.015
  s-a1   13:30  2 cpu-h x 0.040 + 4 GiB-h x 0.005   = 0.08 + 0.02 = 0.10   (old card)
         14:00  4/3 cpu-h x 0.048 + 8/3 GiB-h x 0.006 = 0.064 + 0.016 = 0.08 (new card)
  s-b1   23:30  1 x 0.072 + 2 x 0.006 + 0.25 gpu-h x 1.5 = 0.072 + 0.012 + 0.375 = 0.459
         00:00  0.5 x 0.072 + 1 x 0.006 + 0.125 x 1.5   = 0.036 + 0.006 + 0.1875 = 0.2295
  s-b3   2 x 0.048 (default's, not streaming's 0.050) + 2 x 0.006 = 0.096 + 0.012 = 0.108
  s-a3   2 x 0.048 + 2 x 0.006 + 1 x 1.50           = 0.096 + 0.012 + 1.5 = 1.608
"""

from decimal import Decimal as D

import psycopg
import pytest

from conftest import DATA

NOV = ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")


def rows_as_dicts(db, sql, *params):
    cur = db.conn.execute(sql, params)
    names = [c.name for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_daily_chargeback(loaded_db):
    rows = loaded_db.query(
        "SELECT day::text, tenant, currency, records, unpriced_records, cpu_seconds, memory_gib_seconds,"
        " gpu_seconds, cpu_cost, memory_cost, gpu_cost, cost"
        " FROM billing.daily_chargeback('2026-11-21T00:00Z', '2026-11-23T00:00Z')")
    assert rows == [
        # A: s-a2 + both halves of s-a1 (the half before 14:00 at the old price).
        ("2026-11-21", "A", "EUR", 3, 0, D("12003.5"), D("24006.8359375"), D("0"),
         D("0.144058"), D("0.036009"), D("0.000000"), D("0.180068")),
        # B: s-b2 + s-b1's half before midnight.
        ("2026-11-21", "B", "EUR", 2, 0, D("4500"), D("9000"), D("900"),
         D("0.084500"), D("0.014500"), D("0.375000"), D("0.474000")),
        # B: s-b1's half after midnight + s-b3 at default's cpu price.
        ("2026-11-22", "B", "EUR", 2, 0, D("9000"), D("10800"), D("450"),
         D("0.132000"), D("0.018000"), D("0.187500"), D("0.337500")),
    ]


def test_daily_chargeback_one_tenant_and_session_time_zone(loaded_db):
    # Days are UTC days whatever the session's time zone (+05:30 would move
    # s-b1's 23:30 half to the 22nd).
    loaded_db.conn.execute("SET TIME ZONE 'Asia/Kolkata'")
    rows = loaded_db.query(
        "SELECT day::text, cost FROM billing.daily_chargeback('2026-11-21T00:00Z', '2026-11-23T00:00Z', 'B')")
    assert rows == [("2026-11-21", D("0.474000")), ("2026-11-22", D("0.337500"))]


def test_monthly_chargeback(loaded_db):
    rows = loaded_db.query(
        "SELECT month::text, tenant, currency, records, unpriced_records, cpu_seconds, memory_gib_seconds,"
        " gpu_seconds, cpu_cost, memory_cost, gpu_cost, cost"
        " FROM billing.monthly_chargeback('2026-01-01T00:00Z', '2027-01-01T00:00Z')")
    assert rows == [
        ("2026-11-01", "A", "EUR", 3, 0, D("12003.5"), D("24006.8359375"), D("0"),
         D("0.144058"), D("0.036009"), D("0.000000"), D("0.180068")),
        ("2026-11-01", "B", "EUR", 4, 0, D("13500"), D("19800"), D("1350"),
         D("0.216500"), D("0.032500"), D("0.562500"), D("0.811500")),
        ("2026-12-01", "A", "EUR", 1, 0, D("7200"), D("7200"), D("3600"),
         D("0.096000"), D("0.012000"), D("1.500000"), D("1.608000")),
    ]


def test_chargeback_at_any_period(loaded_db):
    # Hours: s-a1's halves fall in different hours and under different cards.
    rows = loaded_db.query(
        "SELECT period_start::text, records, cost"
        " FROM billing.chargeback('hour', '2026-11-21T00:00Z', '2026-11-22T00:00Z', 'A')")
    assert rows == [("2026-11-21 09:00:00", 1, D("0.000068")), ("2026-11-21 13:00:00", 1, D("0.100000")),
                    ("2026-11-21 14:00:00", 1, D("0.080000"))]
    # ISO weeks start on Monday: 11-21 (Sat) and 11-22 (Sun) share one, 12-01 (Tue) is the next.
    rows = loaded_db.query(
        "SELECT period_start::text, tenant, records, cost"
        " FROM billing.chargeback('week', '2026-11-01T00:00Z', '2027-01-01T00:00Z')")
    assert rows == [("2026-11-16 00:00:00", "A", 3, D("0.180068")), ("2026-11-16 00:00:00", "B", 4, D("0.811500")),
                    ("2026-11-30 00:00:00", "A", 1, D("1.608000"))]
    # The daily and monthly reports are the same sums.
    assert loaded_db.query("SELECT sum(cost) FROM billing.chargeback('day', %s, %s)", *NOV) == \
        loaded_db.query("SELECT sum(cost) FROM billing.daily_chargeback(%s, %s)", *NOV)


@pytest.mark.parametrize("period", ["fortnight", "minute", None])
def test_chargeback_refuses_an_unknown_period(loaded_db, period):
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match="chargeback period must be hour, day, week, month, quarter or year"):
        loaded_db.conn.execute("SELECT * FROM billing.chargeback(%s, now(), now())", (period,))


def test_chargeback_without_a_price_is_null_not_free(db):
    # Only the first card, and without default's gpu price: s-b1 used gpus.
    db.load_ok("--rates", DATA / "rates-2026-11-01.yaml", "--valid-from", "2026-11-01T00:00:00Z")
    db.conn.execute("UPDATE billing.rate_card SET gpu_hour = NULL WHERE sla = 'default'")
    db.load_ok("--file", DATA / "ledger.jsonl")
    rows = db.query(
        "SELECT day::text, tenant, unpriced_records, cpu_cost, memory_cost, gpu_cost, cost"
        " FROM billing.daily_chargeback('2026-11-21T00:00Z', '2026-11-22T00:00Z')")
    assert rows == [
        # A used no gpu, so no gpu price is needed. All of s-a1 now at the old
        # card: 12000 cpu-s x 0.04 + 24000 GiB-s x 0.005, plus s-a2:
        # cpu (480 + 0.21) / 3600 = 0.13339166..., memory (120 + 0.0341796875) / 3600
        # = 0.03334282..., total 0.16673449...
        ("2026-11-21", "A", 0, D("0.133392"), D("0.033343"), D("0.000000"), D("0.166734")),
        # B: s-b2 (0.0125 + 0.0025) and s-b1's 23:30 half (0.06 + 0.01 + gpu
        # unpriced): the gpu cost and the total are unknown, not understated.
        ("2026-11-21", "B", 1, D("0.072500"), D("0.012500"), None, None),
    ]


def test_usage_before_any_rate_card_is_unpriced(db):
    db.load_ok("--rates", DATA / "rates-2026-11-21T14.yaml", "--valid-from", "2026-11-21T14:00:00Z")
    db.load_ok("--file", DATA / "ledger.jsonl")
    rows = db.query(
        "SELECT tenant, currency, records, unpriced_records, cost"
        " FROM billing.daily_chargeback('2026-11-21T00:00Z', '2026-11-22T00:00Z')")
    assert rows == [
        ("A", "EUR", 1, 0, D("0.080000")),   # s-a1 from 14:00
        ("A", None, 2, 2, None),             # s-a2 and s-a1 before 14:00: no card yet
        ("B", "EUR", 1, 0, D("0.459000")),   # s-b1 from 23:30
        ("B", None, 1, 1, None),             # s-b2 at 10:00
    ]


def test_top_sessions_by_cost(loaded_db):
    rows = rows_as_dicts(loaded_db, "SELECT * FROM billing.top_sessions(%s, %s)", *NOV)
    assert [(r["rank"], r["session_id"], r["cost"]) for r in rows] == [
        (1, "s-b1", D("0.688500")),
        (2, "s-a1", D("0.180000")),
        (3, "s-b3", D("0.108000")),
        (4, "s-b2", D("0.015000")),
        (5, "s-a2", D("0.000068")),
    ]
    top = rows[0]
    assert (top["tenant"], top["consumer"], top["user_name"], top["application"], top["sla"]) == (
        "B", "/B/B1", "bob", "notebook", "interactive")
    assert (top["records"], top["slot_seconds"], top["busy_slot_seconds"], top["cpu_seconds"],
            top["memory_gib_seconds"], top["gpu_seconds"], top["currency"], top["unpriced_records"]) == (
        2, D("5400"), D("2700.5"), D("5400"), D("10800"), D("1350"), "EUR", 0)
    assert top["first_start"].isoformat() == "2026-11-21T23:30:00+00:00"
    assert top["last_end"].isoformat() == "2026-11-22T00:15:00+00:00"
    assert top["end_reason"] == "unregistered"
    assert top["ended"].isoformat() == "2026-11-22T00:15:00+00:00"
    # The second half of s-a1 was priced by the new card: 0.10 + 0.08.
    assert rows[1]["application"] == "etl, nightly" and rows[1]["records"] == 2


def test_top_sessions_by_cpu_seconds_with_limit_and_tenant(loaded_db):
    rows = loaded_db.query(
        "SELECT rank, session_id, cpu_seconds FROM billing.top_sessions(%s, %s, 'cpu_seconds', 3)", *NOV)
    assert rows == [(1, "s-a1", D("12000")), (2, "s-b3", D("7200")), (3, "s-b1", D("5400"))]
    rows = loaded_db.query(
        "SELECT rank, session_id, cpu_seconds FROM billing.top_sessions(%s, %s, 'cpu_seconds', NULL, 'A')", *NOV)
    assert rows == [(1, "s-a1", D("12000")), (2, "s-a2", D("3.5"))]


def test_top_sessions_counts_only_usage_inside_the_period(loaded_db):
    # Only s-b1's half after midnight lies in the 22nd.
    rows = loaded_db.query(
        "SELECT session_id, records, cost FROM billing.top_sessions('2026-11-22T00:00Z', '2026-11-23T00:00Z')")
    assert rows == [("s-b1", 1, D("0.229500")), ("s-b3", 1, D("0.108000"))]


def test_top_sessions_rejects_an_unknown_order(loaded_db):
    import psycopg
    with pytest.raises(psycopg.errors.RaiseException, match="p_order must be 'cost' or 'cpu_seconds'"):
        loaded_db.query("SELECT * FROM billing.top_sessions(%s, %s, 'memory')", *NOV)


def test_idle_allocation(loaded_db):
    rows = loaded_db.query(
        "SELECT tenant, session_id, slot_seconds, busy_slot_seconds, idle_slot_seconds, idle_fraction"
        " FROM billing.idle_allocation(%s, %s)", *NOV)
    assert rows == [
        ("A", None, D("12007"), D("10800"), D("1207"), D("0.1005")),
        ("A", "s-a1", D("12000"), D("10800"), D("1200"), D("0.1000")),
        ("A", "s-a2", D("7"), D("0"), D("7"), D("1.0000")),
        ("B", None, D("13200"), D("6900.5"), D("6299.5"), D("0.4772")),
        ("B", "s-b1", D("5400"), D("2700.5"), D("2699.5"), D("0.4999")),
        ("B", "s-b2", D("600"), D("600"), D("0"), D("0.0000")),
        ("B", "s-b3", D("7200"), D("3600"), D("3600"), D("0.5000")),
    ]


def test_idle_allocation_one_tenant_one_day(loaded_db):
    rows = loaded_db.query(
        "SELECT tenant, session_id, idle_slot_seconds"
        " FROM billing.idle_allocation('2026-11-22T00:00Z', '2026-11-23T00:00Z', 'B')")
    assert rows == [("B", None, D("4500")), ("B", "s-b1", D("900")), ("B", "s-b3", D("3600"))]


def test_sla_time_to_first_executor(loaded_db):
    rows = loaded_db.query(
        "SELECT sla, sessions, with_executor, never_had_executor, avg_ms, p50_ms, p95_ms, max_ms"
        " FROM billing.sla_time_to_first_executor(%s, %s)", *NOV)
    assert rows == [
        ("batch", 1, 1, 0, D("1500.0"), D("1500.0"), D("1500.0"), 1500),
        # 100, 300, 400, 1000 and s-a4 which never had one; p95 interpolates
        # between 400 and 1000 at 0.85: 400 + 0.85 x 600.
        ("interactive", 5, 4, 1, D("450.0"), D("350.0"), D("910.0"), 1000),
        # 200 and 2000: p95 = 200 + 0.95 x 1800.
        ("streaming", 2, 2, 0, D("1100.0"), D("1100.0"), D("1910.0"), 2000),
    ]


def test_sla_reports_select_sessions_by_when_they_ended(loaded_db):
    # s-a3 registered on 11-30 but ended on 12-01.
    rows = loaded_db.query(
        "SELECT sla, sessions, max_ms FROM billing.sla_time_to_first_executor("
        "'2026-12-01T00:00Z', '2027-01-01T00:00Z')")
    assert rows == [("batch", 1, 1000)]
    rows = loaded_db.query(
        "SELECT tenant, sla, sessions FROM billing.sla_preemptions('2026-12-01T00:00Z', '2027-01-01T00:00Z')")
    assert rows == [("A", "batch", 1)]


def test_sla_preemptions(loaded_db):
    rows = loaded_db.query(
        "SELECT tenant, sla, sessions, preempted_sessions, preemptions, slots_preempted"
        " FROM billing.sla_preemptions(%s, %s)", *NOV)
    assert rows == [
        ("A", "batch", 1, 0, 0, 0),
        ("A", "interactive", 4, 1, 1, 2),
        ("B", "interactive", 1, 1, 2, 3),
        ("B", "streaming", 2, 1, 1, 1),
    ]
    assert loaded_db.query(
        "SELECT tenant, sla, preemptions FROM billing.sla_preemptions(%s, %s, 'B')", *NOV) == [
        ("B", "interactive", 2), ("B", "streaming", 1)]


def test_rate_card_effective_view(loaded_db):
    rows = loaded_db.query(
        "SELECT to_char(valid_from AT TIME ZONE 'UTC', 'MM-DD HH24'), sla, cpu_hour, memory_gib_hour, gpu_hour,"
        " to_char(valid_until AT TIME ZONE 'UTC', 'MM-DD HH24')"
        " FROM billing.rate_card_effective ORDER BY valid_from, sla")
    assert rows == [
        ("11-01 00", "batch", D("0.040"), D("0.005"), D("1.20"), "11-21 14"),
        ("11-01 00", "interactive", D("0.060"), D("0.005"), D("1.20"), "11-21 14"),
        ("11-01 00", "streaming", D("0.050"), D("0.005"), D("1.20"), "11-21 14"),
        ("11-21 14", "batch", D("0.048"), D("0.006"), D("1.50"), None),
        ("11-21 14", "interactive", D("0.072"), D("0.006"), D("1.50"), None),
        ("11-21 14", "streaming", D("0.048"), D("0.006"), D("1.50"), None),
    ]
