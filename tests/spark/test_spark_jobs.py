"""Real Spark jobs through sessiond: a Python and a JVM job submitted with
stock spark-submit complete with correct results on executors the daemon
launched and released; bad settings fail the application at start with a
message naming them, and the daemon is unaffected."""

from spark_harness import (ADMIN_TOKEN, APPS, EXAMPLES_JAR, TENANT_A_TOKEN, job_results, task_end_reasons,
                     wait_for)

EXPECTED = sum(x * x for x in range(10000))


def live_processes(daemon):
    """pids of executor processes carrying this daemon's test mark."""
    import os
    from pathlib import Path
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if ("SESSIOND_TEST_DATA=%s" % daemon.data_dir).encode() in (p / "environ").read_bytes():
                    pids.append(int(p.name))
            except OSError:
                pass
    return [pid for pid in pids if pid != os.getpid()]


def test_python_job_runs_on_executors_the_daemon_launched(spark):
    d = spark.daemon()
    app = spark.submit(d, "py-batch", [APPS / "sum_squares.py", 8, 0, 2], consumer="/A", token=TENANT_A_TOKEN)
    assert app.wait() == 0, app.tail()
    assert int(app.result()) == EXPECTED
    sid = app.session_id()
    log = d.log()
    assert "event=executor_launch executor=%s-1" % sid in log
    assert set(job_results(app.event_log())) == {"JobSucceeded"}
    assert task_end_reasons(app.event_log()) == {"Success": 16}
    # Unregistered on stop: the session is gone and its executors with it.
    client = d.client()
    wait_for(lambda: not client.admin.list_sessions(""), what="session gone")
    wait_for(lambda: not live_processes(d), what="executors stopped")
    assert "event=executor_exited executor=%s-1" % sid in d.log()


def test_jvm_job_runs_through_spark_submit(spark):
    d = spark.daemon()
    app = spark.submit(d, "jvm-pi", ["--class", "io.sessionscheduler.examples.SparkPi", EXAMPLES_JAR, 8],
                       consumer="/B/B1")
    assert app.wait() == 0, app.tail()
    # Seeded per slice, so the count is exact run after run.
    assert "samples=800000 inside=627518" in app.out()
    assert abs(float(app.result("Pi is roughly")) - 3.14159) < 0.01
    assert "event=executor_launch executor=%s-1" % app.session_id() in d.log()
    wait_for(lambda: not live_processes(d), what="executors stopped")


def test_bad_settings_fail_the_application_at_start(spark):
    d = spark.daemon()
    cases = [
        ("unknown-consumer", {"consumer": "/nope"}, "/nope"),
        ("wrong-token", {"token": "not-a-token"}, "UNAUTHENTICATED"),
        ("bad-sla", {"sla": "gold"}, "spark.session.sla=gold: must be interactive, streaming or batch"),
        ("typo", {"spark.session.consumr": "/A"}, "unknown setting spark.session.consumr"),
    ]
    apps = []
    for name, kw, _ in cases:
        kw = dict(kw)
        consumer = kw.pop("consumer", "/A")
        sla = kw.pop("sla", "batch")
        token = kw.pop("token", ADMIN_TOKEN)
        apps.append(spark.submit(d, name, [APPS / "sum_squares.py", 2], consumer=consumer, sla=sla, token=token,
                                 **kw))
    for app, (name, _, message) in zip(apps, cases):
        assert app.wait() != 0, "%s should have failed" % name
        assert message in app.err(), "%s: %r not in:\n%s" % (name, message, app.tail())
        assert "RESULT" not in app.out()
    client = d.client()
    assert client.admin.status().ready
    assert client.admin.list_sessions("") == []
