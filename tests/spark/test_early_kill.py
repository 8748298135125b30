"""A revoked slot whose task cannot end before the grace deadline is handed
over at once: the batch driver, knowing from its stage's finished tasks that
the task would still be running at the deadline, kills it then rather than
at the deadline, and gives the slot back with the kill. The notebook's cell
runs long before the grace is over; batch still finishes with the right
result and Spark counts the task as killed, not failed."""

from spark_harness import APPS, spark_config, task_end_reasons, job_results, wait_for

GRACE_S = 15
TASK_S = 25  # longer than the grace: a revoked task cannot end in time
CELL_TASK_S = 12
TREE = """\
consumers:
  - {name: A, share: 1, owned: 3}
  - {name: B, share: 1, owned: 2}
"""


def slots(admin, consumer):
    return sum(e.slots for s in admin.admin.list_sessions("") if s.consumer == consumer
               for e in s.executors if e.state in (1, 2))


def test_a_task_that_cannot_end_in_time_is_killed_at_once(spark, tmp_path):
    d = spark.daemon(spark_config(tmp_path / "data0", grace="%ds" % GRACE_S, hosts=(("h1", 5),), tree=TREE))
    admin = d.client()
    cues = tmp_path / "cues"
    cues.mkdir()
    # The notebook first: idle, it keeps one slot and its executor on h1.
    nb = spark.submit(d, "notebook", [APPS / "cells.py", cues, 1, 2, CELL_TASK_S], consumer="/B", sla="interactive")
    wait_for(lambda: slots(admin, "/B") == 1 and "READY" in nb.out(), timeout=120, what="the notebook's warm slot")
    # Batch takes the other 4 (one of them B's, lent), tasks of TASK_S.
    batch = spark.submit(d, "batch", [APPS / "sum_squares.py", 8, TASK_S], consumer="/A")
    wait_for(lambda: slots(admin, "/A") == 4, timeout=120, what="batch holds the rest of h1")
    # Once its first round has ended (the stage's measure) and the second runs.
    wait_for(lambda: batch.err().count("INFO TaskSetManager: Finished task ") >= 4 and batch.tasks_started() >= 8,
             timeout=180, what="batch's second round of tasks")

    # A cell of 2 tasks of CELL_TASK_S: B reclaims its lent slot, with a
    # grace of GRACE_S. Its second task starts when that slot comes back.
    (cues / "cell0").touch()
    assert nb.wait(timeout=120) == 0, nb.tail()
    assert nb.result("CELL 0") == str(sum(x * x for x in range(1000)))
    events = nb.event_log()
    submitted = [e["Submission Time"] for e in events if e.get("Event") == "SparkListenerJobStart"]
    launched = sorted(e["Task Info"]["Launch Time"] for e in events if e.get("Event") == "SparkListenerTaskStart")
    assert len(submitted) == 1 and len(launched) == 2, (submitted, launched)
    second = (launched[1] - submitted[0]) / 1000.0
    # At the deadline (or when the first task ends on the one slot) would be
    # CELL_TASK_S or more.
    assert second < CELL_TASK_S - 4, "the second task waited %.1f s for the revoked slot" % second
    assert "reason=ownership" in d.log()
    assert "Killing task" in batch.err(), batch.tail()

    assert batch.wait(timeout=300) == 0, batch.tail()
    assert batch.result() == str(sum(x * x for x in range(10000)))
    reasons = task_end_reasons(batch.event_log())
    assert reasons.get("TaskKilled", 0) >= 1 and set(reasons) <= {"Success", "TaskKilled"}, reasons
    assert job_results(batch.event_log()) == ["JobSucceeded"]
