"""Real Spark jobs through sessiond: a Python and a JVM job submitted with
stock spark-submit complete with correct results on executors the daemon
launched and released; bad settings fail the application at start with a
message naming them, and the daemon is unaffected. An authenticated
session's secret reaches only its own executors; an executor without a lease
is turned away."""

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from spark_harness import (ADMIN_TOKEN, APPS, EXAMPLES_JAR, TENANT_A_TOKEN, executor_pids, job_results,
                           marked_pids, spark_config, task_end_reasons, wait_for)

EXPECTED = sum(x * x for x in range(10000))


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
    wait_for(lambda: not marked_pids(d.data_dir), what="executors stopped")
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
    wait_for(lambda: not marked_pids(d.data_dir), what="executors stopped")


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


def test_auth_secret_reaches_only_its_own_executors(spark):
    d = spark.daemon()
    secret = "s3cret-" + os.urandom(8).hex()
    app = spark.submit(d, "authenticated", [APPS / "sum_squares.py", 4, 0], consumer="/A",
                       **{"spark.authenticate": "true", "spark.authenticate.secret": secret,
                          "spark.session.demandHold": "30s"})
    wait_for(lambda: app.session_id() and executor_pids(app.session_id()) or not app.running(), timeout=180,
             what="an executor")
    pids = executor_pids(app.session_id())
    assert pids, app.tail()
    for pid in pids:
        environ = Path("/proc/%d/environ" % pid).read_bytes()
        assert ("_SPARK_AUTH_SECRET=" + secret).encode() in environ
        assert secret.encode() not in Path("/proc/%d/cmdline" % pid).read_bytes()
    assert app.wait() == 0, app.tail()
    assert int(app.result()) == EXPECTED
    # Never in the daemon's log, its metrics or its admin API.
    metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % d.metrics_port).read().decode()
    assert secret not in d.log()
    assert secret not in metrics
    assert secret not in repr(d.client().admin.list_sessions(""))


def test_executor_without_a_lease_is_rejected(spark):
    d = spark.daemon()
    app = spark.submit(d, "guarded", ["--class", "io.sessionscheduler.examples.SparkPi", EXAMPLES_JAR, 40, 2000],
                       consumer="/A")
    wait_for(lambda: app.session_id() and executor_pids(app.session_id()), timeout=180, what="an executor")
    # An impostor: Spark's own executor with the driver's address but an id
    # the daemon never granted.
    cmd = Path("/proc/%d/cmdline" % executor_pids(app.session_id())[0]).read_bytes().split(b"\0")[:-1]
    cmd = [c.decode() for c in cmd]
    cmd[cmd.index("--executor-id") + 1] = "999"
    impostor = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert impostor.returncode != 0
    wait_for(lambda: "Rejected executor 999" in app.err(), timeout=30, what="the driver's rejection")
    assert app.wait() == 0, app.tail()
    assert "Pi is roughly" in app.out()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI needed to make a test certificate")
def test_job_over_tls(spark, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    config = spark_config(tmp_path / "data0").replace(
        "api: {max_frame_bytes: 1048576}", "api: {max_frame_bytes: 1048576, tls: {cert: %s, key: %s}}" % (cert, key))
    d = spark.daemon(config)
    assert "tls=on" in d.log()
    app = spark.submit(d, "tls", [APPS / "sum_squares.py", 4, 0], consumer="/A", **{"spark.session.tls.ca": cert})
    plain = spark.submit(d, "plaintext", [APPS / "sum_squares.py", 4, 0], consumer="/A")
    assert app.wait() == 0, app.tail()
    assert int(app.result()) == EXPECTED
    assert plain.wait() != 0
    assert "cannot reach sessiond" in plain.err()
