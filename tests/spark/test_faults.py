"""Faults with real Spark: a driver killed (its executors are reclaimed
after the lease), sessiond killed with kill -9 mid-job and restarted (the job
finishes, no executor is lost), an executor process killed (Spark re-runs its
tasks and the daemon replaces it while the grant stands)."""

import os
import signal

from spark_harness import EXAMPLES_JAR, executor_pids, spark_config, task_end_reasons, wait_for

PI = ["--class", "io.sessionscheduler.examples.SparkPi", EXAMPLES_JAR]


def short_lease(tmp_path):
    return spark_config(tmp_path / "data0").replace("lease_ttl: 20s", "lease_ttl: 5s")


def test_killed_driver_loses_its_executors_after_the_lease(spark, tmp_path):
    d = spark.daemon(short_lease(tmp_path))
    admin = d.client()
    app = spark.submit(d, "doomed", PI + [100, 20000], consumer="/A")
    wait_for(lambda: app.session_id() and len(executor_pids(app.session_id())) == 2, timeout=120,
             what="the driver's two executors")
    sid = app.session_id()
    app.proc.send_signal(signal.SIGKILL)
    app.proc.wait()
    wait_for(lambda: not admin.admin.list_sessions(""), timeout=30, what="session ended after its lease")
    wait_for(lambda: not executor_pids(sid), timeout=30, what="executors gone")
    assert all(c.allocated.cpu_millis == 0 for c in admin.admin.get_tree().consumers)


def test_kill9_of_sessiond_mid_job_loses_no_executor(spark):
    d = spark.daemon()
    app = spark.submit(d, "survivor", PI + [60, 3000], consumer="/A")
    wait_for(lambda: "Starting task 25.0" in app.err(), timeout=180, what="the job well under way")
    sid = app.session_id()
    pids = sorted(executor_pids(sid))
    assert len(pids) == 2
    # The driver knows the daemon by its address: restart it on the same port.
    d.kill9_and_restart_on_same_port()
    assert app.wait(timeout=300) == 0, app.tail()
    assert "samples=6000000 " in app.out()
    # The same executor processes ran the job to its end: adopted, not relaunched.
    log = d.log()
    assert log.count("event=executor_launch executor=%s-" % sid) == 2
    assert "event=recovered sessions=1 executors=2 adopted=2" in log
    assert "expected=false" not in log
    reasons = task_end_reasons(app.event_log())
    assert set(reasons) == {"Success"}, reasons
    removed = [e for e in app.event_log() if e.get("Event") == "SparkListenerExecutorRemoved"]
    assert not removed, removed


def test_killed_executor_is_replaced_and_its_tasks_rerun(spark):
    d = spark.daemon()
    app = spark.submit(d, "victim", PI + [60, 3000], consumer="/A")
    wait_for(lambda: "Starting task 25.0" in app.err(), timeout=180, what="the job well under way")
    sid = app.session_id()
    victim = executor_pids(sid)[0]
    os.kill(victim, signal.SIGKILL)
    assert app.wait(timeout=300) == 0, app.tail()
    assert "samples=6000000 " in app.out()
    # The grant stood, so the daemon launched a third executor.
    assert "event=executor_launch executor=%s-3" % sid in d.log()
    reasons = task_end_reasons(app.event_log())
    assert reasons["Success"] == 60
