"""The Spark end-to-end tests' harness: a real sessiond (the integration
harness's Daemon) and real Spark applications started with the stock
spark-submit of the pyspark package, on loopback."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import (  # noqa: E402,F401  (re-exported for the tests)
    ADMIN_TOKEN, BUILD, REFERENCE_TREE, TENANT_A_TOKEN, TENANT_B_TOKEN, Daemon, base_config,
    kill_marked_processes, marked_pids, wait_for)

PLUGIN_JAR = BUILD / "jars" / "spark-session-backend.jar"
EXAMPLES_JAR = BUILD / "jars" / "session-examples.jar"
APPS = Path(__file__).resolve().parent / "apps"
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"


def spark_env():
    """spark-submit's environment: the venv's Python for drivers and workers."""
    env = dict(os.environ)
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["PATH"] = "%s:%s" % (Path(sys.executable).parent, env.get("PATH", ""))
    env.pop("SPARK_HOME", None)
    return env


def spark_config(data_dir, grace="2s", slot_memory="512Mi", hosts=(("h1", 10), ("h2", 10)), extra="",
                 tree=REFERENCE_TREE, warm_pool=0):
    """The integration harness's daemon configuration, sized for Spark. No
    warm pool unless asked for (the local backend's default is 1): its JVMs
    would take CPU from the tests that do not need it."""
    text = base_config(data_dir, tree=tree, grace=grace, extra=extra)
    text = text.replace("  local:\n", "  local:\n    warm_pool: %d\n" % warm_pool, 1)
    text = text.replace("slot: {cpu: 1, memory: 1Gi}", "slot: {cpu: 1, memory: %s}" % slot_memory)
    host_lines = "".join("      - {name: %s, cpu: %d, memory: 40Gi}\n" % h for h in hosts)
    start = text.index("    hosts:\n") + len("    hosts:\n")
    end = start
    for line in text[start:].splitlines(keepends=True):
        if not line.startswith("      - "):
            break
        end += len(line)
    return text[:start] + host_lines + text[end:]


class SparkApp:
    """One spark-submit process with its output and Spark event log."""

    def __init__(self, workdir, name, args, conf):
        self.workdir = Path(workdir)
        self.name = name
        self.events = self.workdir / "events"
        self.events.mkdir(parents=True, exist_ok=True)
        self.out_path = self.workdir / (name + ".out")
        self.err_path = self.workdir / (name + ".err")
        cmd = [str(SPARK_SUBMIT), "--master", conf.pop("master"), "--driver-class-path", str(PLUGIN_JAR),
               "--name", name]
        for k, v in conf.items():
            cmd += ["--conf", "%s=%s" % (k, v)]
        self.cmd = cmd + [str(a) for a in args]
        self.started = time.time()
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.out_path, "w"), stderr=open(self.err_path, "w"),
                                     env=spark_env(), cwd=self.workdir)

    def wait(self, timeout=240):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s did not finish in %ss:\n%s" % (self.name, timeout, self.tail()))

    def running(self):
        return self.proc.poll() is None

    def out(self):
        return self.out_path.read_text()

    def err(self):
        return self.err_path.read_text()

    def tail(self, n=60):
        return "\n".join(self.err().splitlines()[-n:])

    def result(self, key="RESULT"):
        """The value of the job's 'KEY value' line."""
        for line in self.out().splitlines():
            if line.startswith(key + " "):
                return line[len(key) + 1:].strip()
        raise AssertionError("%s printed no %s line; stderr:\n%s" % (self.name, key, self.tail()))

    def tasks_started(self):
        """Task attempts the driver has launched so far (from its INFO log;
        the event log is flushed too rarely to follow a job live)."""
        return self.err().count("INFO TaskSetManager: Starting task ")

    def session_id(self):
        for line in self.err().splitlines():
            if "registered with the session scheduler" in line:
                return line.split("Session ", 1)[1].split(" ", 1)[0]
        return None

    def event_log(self):
        """Spark's own event log of this application, as a list of events."""
        sid = self.session_id()
        # Spark 4 rolls event logs: eventlog_v2_<app>/events_<n>_<app>.
        found = [p for p in self.events.iterdir() if sid and sid in p.name]
        assert found, "no event log for %s in %s" % (sid, self.events)
        files = sorted(found[0].glob("events_*"), key=lambda p: int(p.name.split("_")[1])) \
            if found[0].is_dir() else found
        return [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]


def executor_pids(session_id):
    """pids of the Spark executor JVMs of one session (by their command line)."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"org.apache.spark.executor.CoarseGrainedExecutorBackend" in cmd and session_id.encode() in cmd:
            pids.append(int(p.name))
    return pids


def task_end_reasons(events):
    """{reason: count} over the application's task ends."""
    out = {}
    for e in events:
        if e.get("Event") == "SparkListenerTaskEnd":
            reason = e["Task End Reason"]["Reason"]
            out[reason] = out.get(reason, 0) + 1
    return out


def job_results(events):
    return [e["Job Result"]["Result"] for e in events if e.get("Event") == "SparkListenerJobEnd"]


@pytest.fixture
def spark(tmp_path):
    """Starts sessiond (spark.daemon(...)) and Spark apps (spark.submit(...))
    in tmp_path; stops and cleans up everything afterwards."""

    class Env:
        def __init__(self):
            self.daemons = []
            self.apps = []

        def daemon(self, config_text=None, **kw):
            data = tmp_path / ("data%d" % len(self.daemons))
            d = Daemon(tmp_path / ("d%d" % len(self.daemons)), config_text or spark_config(data, **kw))
            d.data_dir = data
            self.daemons.append(d)
            return d.start()

        def conf(self, daemon, consumer, sla="batch", token=ADMIN_TOKEN, **extra):
            c = {
                "master": "spark-session://%s" % daemon.server,
                "spark.session.consumer": consumer,
                "spark.session.sla": sla,
                "spark.session.token": token,
                "spark.ui.enabled": "false",
                "spark.driver.memory": "512m",
                "spark.executor.memory": "512m",
                "spark.eventLog.enabled": "true",
                "spark.eventLog.dir": str(tmp_path / "apps" / "events"),
                "spark.eventLog.compress": "false",
                # Lets the harness find and reap this test's executors.
                "spark.executorEnv.SESSIOND_TEST_DATA": str(daemon.data_dir),
            }
            c.update({k: str(v) for k, v in extra.items()})
            return c

        def submit(self, daemon, name, args, consumer="/A", sla="batch", token=ADMIN_TOKEN, **extra):
            app = SparkApp(tmp_path / "apps", name, args, self.conf(daemon, consumer, sla, token, **extra))
            self.apps.append(app)
            return app

    env = Env()
    yield env
    for app in env.apps:
        if app.running():
            app.proc.kill()
            app.proc.wait()
    for d in env.daemons:
        d.stop()
        kill_marked_processes(d.data_dir)
