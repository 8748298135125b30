"""Executors from the local backend's warm pool (backend.local.warm_pool):
a JVM started ahead of need becomes the next executor of any session whose
executors run the same JVM, runs its tasks (the application jar it fetches
into its working directory included), keeps the session's secret out of
/proc, and is adopted like any executor after sessiond is killed with
kill -9."""

import os
import re
import signal
import urllib.request
from pathlib import Path

import pytest
from spark_harness import EXAMPLES_JAR, spark_config, task_end_reasons, wait_for

PI = ["--class", "io.sessionscheduler.examples.SparkPi", EXAMPLES_JAR]


def warm_config(data_dir):
    return spark_config(data_dir, hosts=(("h1", 4),), warm_pool=1).replace(
        "    warm_pool: 1\n", "    warm_pool: 1\n    warm_pool_refill_delay: 1s\n", 1)


def processes_under(data_dir):
    """pids whose working directory is inside the daemon's data directory:
    pool JVMs and executors (a pool JVM's environ carries none of the
    session's marks, so the harness's marked_pids cannot find them)."""
    root = str(Path(data_dir).resolve())
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "cwd").startswith(root):
                    pids.append(int(p.name))
            except OSError:
                continue
    return pids


@pytest.fixture
def reaper():
    dirs = []
    yield dirs.append
    for d in dirs:
        for pid in processes_under(d):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


def handed_off(log, sid):
    return re.findall(r"executor (%s-\d+) of session \S+: handed to warm pid (\d+)" % re.escape(sid), log)


def warm_ready(data_dir):
    return any("warm-up done" in p.read_text(errors="replace")
               for p in (Path(data_dir) / "warm").glob("w*/executor.log") if not p.parent.is_symlink())


def backend_counter(d, op):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % d.metrics_port).read().decode()
    m = re.search(r'sessiond_backend_operations_total\{backend="local",operation="%s"\} (\S+)' % op, text)
    return float(m.group(1)) if m else 0.0


def test_a_warm_jvm_becomes_the_next_sessions_executor(spark, tmp_path, reaper):
    data = tmp_path / "data0"
    reaper(data)
    d = spark.daemon(warm_config(data))
    secret = "s3cret-" + os.urandom(8).hex()
    auth = {"spark.authenticate": "true", "spark.authenticate.secret": secret}
    first = spark.submit(d, "cold", PI + [4], consumer="/A", **auth)
    assert first.wait() == 0, first.tail()
    assert not handed_off(d.log(), first.session_id()), "nothing was warm yet"
    # The first launch taught the pool this JVM; its process warms up meanwhile.
    wait_for(lambda: warm_ready(data), timeout=180, what="a warm JVM ready")

    second = spark.submit(d, "warm", PI + [8], consumer="/A", **auth)
    assert second.wait() == 0, second.tail()
    # Seeded per slice: exact. SparkPi's classes come from the application jar
    # the executor fetched into its working directory, so this also shows the
    # JVM's idea of that directory survived the move to the executor's own.
    assert "samples=800000 inside=627518" in second.out()
    sid = second.session_id()
    handed = handed_off(d.log(), sid)
    assert handed, d.log()[-3000:]
    executor, pid = handed[0]
    log = (data / "executors" / executor / "executor.log").read_text()
    assert "warm executor: handed off" in log
    assert "session-examples.jar" in log
    assert set(task_end_reasons(second.event_log())) == {"Success"}
    # The secret went through the hand-off: never in a command line, an
    # environ of /proc, the log or the metrics.
    assert secret not in log
    assert secret not in d.log()
    assert backend_counter(d, "warm_taken") >= 1
    assert backend_counter(d, "warm_missed") >= 1


def test_kill9_of_sessiond_keeps_a_handed_off_executor(spark, tmp_path, reaper):
    data = tmp_path / "data0"
    reaper(data)
    d = spark.daemon(warm_config(data))
    warmup = spark.submit(d, "teach", PI + [2], consumer="/A")
    assert warmup.wait() == 0, warmup.tail()
    wait_for(lambda: warm_ready(data), timeout=180, what="a warm JVM ready")

    app = spark.submit(d, "survivor", PI + [40, 2000], consumer="/A", **{"spark.session.maxSlots": "2"})
    wait_for(lambda: "Starting task 10.0" in app.err(), timeout=180, what="the job well under way")
    sid = app.session_id()
    handed = handed_off(d.log(), sid)
    assert handed, d.log()[-3000:]
    pid = int(handed[0][1])
    d.kill9_and_restart_on_same_port()
    assert app.wait(timeout=300) == 0, app.tail()
    assert "samples=4000000 " in app.out()
    log = d.log()
    adopted = r"executor %s of session \S* ?adopted \(pid %d\)" % (re.escape(handed[0][0]), pid)
    assert re.search(adopted, log), log[-3000:]
    assert "expected=false" not in log
    reasons = task_end_reasons(app.event_log())
    assert set(reasons) == {"Success"}, reasons
    removed = [e for e in app.event_log() if e.get("Event") == "SparkListenerExecutorRemoved"]
    assert not removed, removed
