"""Slot-level sharing: a batch session and an interactive session with
executors on the same host trade slots — the interactive one's cell takes
slots from the batch one and gives them back after its idle timeout —
without any executor starting or stopping."""

from spark_harness import APPS, EXAMPLES_JAR, spark_config, wait_for

TREE = """\
consumers:
  - {name: A, share: 1, owned: 4}
  - {name: B, share: 1, owned: 4}
"""


def holdings(admin):
    """{consumer: [(executor id, slots, state)]} of live sessions."""
    out = {}
    for s in admin.admin.list_sessions(""):
        out[s.consumer] = sorted((e.executor_id, e.slots, e.state) for e in s.executors if e.state in (1, 2))
    return out


def slots(admin, consumer):
    return sum(e[1] for e in holdings(admin).get(consumer, []))


def test_two_sessions_trade_slots_without_starting_executors(spark, tmp_path):
    d = spark.daemon(spark_config(tmp_path / "data0", grace="1s", hosts=(("h1", 8),), tree=TREE)
                     .replace("  pass_interval: 1ms\n", "  pass_interval: 1ms\n  idle_timeout: 3s\n"))
    admin = d.client()
    batch = spark.submit(d, "batch", ["--class", "io.sessionscheduler.examples.SparkPi", EXAMPLES_JAR, 400, 3000],
                         consumer="/A")
    wait_for(lambda: slots(admin, "/A") == 8, timeout=120, what="batch holds the host")

    cues = tmp_path / "cues"
    cues.mkdir()
    nb = spark.submit(d, "notebook", [APPS / "cells.py", cues, 2, 4, 4], consumer="/B", sla="interactive")
    # Idle, the interactive session keeps one warm slot: its one executor starts now.
    wait_for(lambda: slots(admin, "/B") == 1 and "READY" in nb.out(), timeout=120, what="interactive warm slot")
    wait_for(lambda: all(e[2] == 2 for e in holdings(admin)["/B"]), timeout=60, what="its executor running")
    before = holdings(admin)
    launches = d.log().count("event=executor_launch")
    exits = d.log().count("event=executor_exited")
    assert len(before["/A"]) == 1 and len(before["/B"]) == 1

    # A cell of 4 tasks: B reclaims its owned 4 from A on the same two executors.
    (cues / "cell0").touch()
    wait_for(lambda: slots(admin, "/B") == 4 and slots(admin, "/A") == 4, timeout=60, what="A:B = 4:4")
    wait_for(lambda: "CELL 0" in nb.out(), timeout=120, what="the cell's result")
    assert nb.result("CELL 0") == str(sum(x * x for x in range(1000)))
    # After the idle timeout the interactive session shrinks to its floor and
    # the batch session gets the slots back, on the same executors.
    wait_for(lambda: slots(admin, "/B") == 1 and slots(admin, "/A") == 7, timeout=60, what="A:B = 7:1")
    after = holdings(admin)
    assert [e[0] for e in after["/A"]] == [e[0] for e in before["/A"]]
    assert [e[0] for e in after["/B"]] == [e[0] for e in before["/B"]]

    # The next cell takes them again, still on the same executors.
    (cues / "cell1").touch()
    wait_for(lambda: slots(admin, "/B") == 4 and slots(admin, "/A") == 4, timeout=60, what="A:B = 4:4 again")
    wait_for(lambda: "CELL 1" in nb.out(), timeout=120, what="the second cell's result")
    assert d.log().count("event=executor_launch") == launches
    assert d.log().count("event=executor_exited") == exits

    assert nb.wait(timeout=120) == 0, nb.tail()
    batch.proc.kill()
