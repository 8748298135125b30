"""The reference scenario of DESIGN.md with real Spark applications in
consumers A, B1 and B2 on 20 slots (two hosts of 10), grace 2 s:

  T0 A wants 20 -> A = 20 (borrows B's 16)
  T1 B1 wants 20 -> B reclaims its 16 from A -> A:B1 = 4:16
  T2 A ends all work -> B1 = 20
  T3 B2 wants 20 -> B2 reclaims its 12 -> B1:B2 = 8:12

Allocations follow it, every preempted job still finishes with the correct
result, and Spark's own event log shows the preempted tasks as killed, never
failed, and no job failing."""

from spark_harness import EXAMPLES_JAR, job_results, task_end_reasons, wait_for

from harness import granted

PI_CLASS = "io.sessionscheduler.examples.SparkPi"


def pi_job(spark, d, name, consumer, slices, task_ms, *gate):
    return spark.submit(d, name, ["--class", PI_CLASS, EXAMPLES_JAR, slices, task_ms, *gate], consumer=consumer,
                        **{"spark.session.demandHold": "3s"})


def test_reference_scenario_with_real_spark(spark, tmp_path):
    d = spark.daemon(grace="2s")
    admin = d.client()
    alloc = {}

    def allocations():
        alloc.update({c: granted(admin, c) for c in ("/A", "/B/B1", "/B/B2")})
        return dict(alloc)

    # T0: A alone takes all 20 slots. B1's driver starts now too but holds
    # its job behind a gate, so its arrival does not wait on a JVM start and
    # always lands while A's first wave of 10 s tasks is running.
    b1_gate = tmp_path / "b1.go"
    a = pi_job(spark, d, "A", "/A", 40, 10000)
    b1 = pi_job(spark, d, "B1", "/B/B1", 200, 8000, b1_gate)
    wait_for(lambda: allocations()["/A"] == 20 and a.tasks_started() >= 20, timeout=120,
             what="A = 20, running its first wave")
    wait_for(lambda: "waiting for" in b1.out(), timeout=120, what="B1's driver up")
    assert allocations() == {"/A": 20, "/B/B1": 0, "/B/B2": 0}

    # T1: B1 arrives; B reclaims its 16 from A after the grace period.
    # B1 has work for well past T3.
    b1_gate.touch()
    wait_for(lambda: allocations() == {"/A": 4, "/B/B1": 16, "/B/B2": 0}, timeout=90, what="A:B1 = 4:16")
    assert a.running(), "A must still be working when B1 takes its share"

    # T2: A ends all its work; B1 takes everything.
    assert a.wait(timeout=300) == 0, a.tail()
    wait_for(lambda: allocations()["/B/B1"] == 20, timeout=90, what="B1 = 20")

    # T3: B2 arrives and reclaims its 12.
    b2 = pi_job(spark, d, "B2", "/B/B2", 60, 6000)
    wait_for(lambda: allocations() == {"/A": 0, "/B/B1": 8, "/B/B2": 12}, timeout=90, what="B1:B2 = 8:12")

    for app in (b1, b2):
        assert app.wait(timeout=400) == 0, app.tail()

    # Correct results despite preemption: each slice is seeded, so the count
    # is the same as without it.
    for app, slices in ((a, 40), (b1, 200), (b2, 60)):
        assert abs(float(app.result("Pi is roughly")) - 3.1416) < 0.01
        assert "samples=%d " % (slices * 100000) in app.out()

    # Spark saw preemption as kills, not failures, and no job failed.
    a_reasons = task_end_reasons(a.event_log())
    assert a_reasons.get("TaskKilled", 0) >= 1, a_reasons
    for app in (a, b1, b2):
        reasons = task_end_reasons(app.event_log())
        assert set(reasons) <= {"Success", "TaskKilled"}, (app.name, reasons)
        assert reasons["Success"] == {"A": 40, "B1": 200, "B2": 60}[app.name]
        assert job_results(app.event_log()) == ["JobSucceeded"], app.name
    # The daemon preempted for ownership, as the scenario says.
    assert "event=decision_revoke" in d.log() and "reason=ownership" in d.log()
