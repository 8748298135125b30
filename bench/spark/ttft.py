"""Interactive time to first task, sessiond against Spark's standalone master.

Runs, one after the other on this machine and on loopback:

  sessiond    sessiond (local backend, one virtual host of SLOTS slots, its
              warm pool of executor JVMs on), a batch PySpark app in /batch
              holding every slot, then notebook drivers in /interactive: one
              (spark.session.idleSlots default 1) runs a warm series (its
              executor keeps a slot between cells) and a handover series (its
              slot busy, so each cell needs a slot back from batch on the
              host where it already has an executor); a second one
              (idleSlots 0, short idle_timeout, warmStart false) runs a cold
              series (no executor: a slot back from batch and a JVM started
              from nothing); a third (idleSlots 0, warmStart true) runs a
              pooled series (the same, but the executor is handed a JVM the
              warm pool started ahead of need).
  standalone  a Spark standalone master and one worker of SLOTS cores from the
              same pyspark install, the same batch app (submitted first, FIFO,
              spark.cores.max unset: it takes every core) and the same
              notebook program running the warm series.

Each cell's time to first task is read from Spark's own event log: the
job's SparkListenerJobStart "Submission Time" to the first
SparkListenerTaskStart "Launch Time" of its stages. sessiond's log (debug
level) dates the steps in between. Writes bench/out/spark-ttft.json, prints
the figures and (re)writes its section of bench/README.md; `--report-only`
redoes the section from the JSON.

A figures run, not a test: a missed target never fails it; only a run that
cannot measure does. Tunables are environment variables, see CONFIG."""

import atexit
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SCHED_BUILD_DIR", ROOT / "build"))
SESSIOND = BUILD / "bin" / "sessiond"
PLUGIN_JAR = BUILD / "jars" / "spark-session-backend.jar"
# Drivers log with milliseconds, so "Adding task set" dates the moment Spark
# hands a job's tasks to the scheduler (see log4j2_config).
LOG4J = None
APPS = Path(__file__).resolve().parent / "apps"
VENV_BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"
JSON_OUT = OUT / "spark-ttft.json"
# TTFT_README lets a trial run leave the real report alone.
README = Path(os.environ.get("TTFT_README", ROOT / "bench" / "README.md"))
BEGIN = "<!-- spark-ttft:begin (written by bench/spark/run.sh from bench/out/spark-ttft.json; rerun it, do not edit) -->"
END = "<!-- spark-ttft:end -->"


def env_num(name, default, kind=float):
    return kind(os.environ.get(name, default))


CONFIG = {
    # The cluster: one host (one worker) of this many slots (cores).
    "slots": env_num("TTFT_SLOTS", 4, int),
    # One batch app: with two, a slot the notebook gives back may go to the
    # one without an executor on the host, which then starts a JVM for it.
    "batch_apps": env_num("TTFT_BATCH_APPS", 1, int),
    # Long tasks: a revoked slot is only free once a task is killed at the
    # grace deadline, the worst case for handing a slot over.
    "batch_task_s": env_num("TTFT_BATCH_TASK_S", 30),
    "warm_cells": env_num("TTFT_CELLS", 20, int),
    "warm_gap_s": env_num("TTFT_GAP_S", 3),
    "handover_cells": env_num("TTFT_HANDOVER_CELLS", 20, int),
    # After a handover cell the extra slot goes back to batch: demandHold
    # (2 s) + idle_timeout, so the next cell has to win it again.
    "handover_gap_s": env_num("TTFT_HANDOVER_GAP_S", 4.5),
    # 20, as for the others: with executors started ahead of their slot a
    # cold cell costs a few seconds, not tens.
    "cold_cells": env_num("TTFT_COLD_CELLS", 20, int),
    "cold_gap_s": env_num("TTFT_COLD_GAP_S", 6),
    # backend.local.warm_pool: JVMs kept started ahead of need; 0 turns the
    # pool off and drops the pooled series.
    "warm_pool": env_num("TTFT_WARM_POOL", 2, int),
    "warm_pool_refill_delay": os.environ.get("TTFT_WARM_POOL_REFILL_DELAY", "3s"),
    # A pooled cell takes one of the pool's JVMs; its replacement starts
    # after the refill delay and needs 5-15 s of this 2-core machine to warm
    # up. With 2 in the pool each replacement has two gaps for that, so
    # each cell should find a warm JVM.
    "pooled_cells": env_num("TTFT_POOLED_CELLS", 20, int),
    "pooled_gap_s": env_num("TTFT_POOLED_GAP_S", 10),
    "timeout_s": env_num("TTFT_TIMEOUT_S", 60),
    # Batch's grace when a notebook wants its slot back: what an operator
    # promising notebooks a handover within 200 ms sets. Batch loses little
    # by it: its driver kills at once the tasks that cannot end in time
    # (killEarly), so a longer grace only keeps the tasks about to end.
    "grace": os.environ.get("TTFT_GRACE", "100ms"),
    "idle_timeout": os.environ.get("TTFT_IDLE_TIMEOUT", "1s"),
    "phases": os.environ.get("TTFT_PHASES", "sessiond,standalone").split(","),
}
ADMIN_TOKEN = "ttft-admin-token-0123456789"
BATCH_TOKEN = "ttft-batch-token-0123456789"
INTERACTIVE_TOKEN = "ttft-interactive-token-0123"
MARK = "SPARK_TTFT_BENCH"


def log(msg):
    print("[spark-ttft %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout, what, interval=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise RuntimeError("timed out after %ds waiting for %s" % (timeout, what))


# -- processes ---------------------------------------------------------------

class Procs:
    """Everything this run started, each in its own process group, so the
    run can stop its own processes (and only those) however it ends."""

    def __init__(self, work):
        self.work = work
        self.procs = []
        # sessiond data directories: what runs with its cwd inside is ours.
        self.reap_dirs = []

    def start(self, name, cmd, env=None, cwd=None):
        out = open(self.work / (name + ".out"), "w")
        err = open(self.work / (name + ".err"), "w")
        p = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, env=env, cwd=cwd or self.work,
                             start_new_session=True)
        p.name = name
        p.err_path = self.work / (name + ".err")
        p.out_path = self.work / (name + ".out")
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, grace=20):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except OSError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait()
        # Python workers and such may outlive the group's leader.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p, grace=5)
        reap_marked(self.work)
        for d in self.reap_dirs:
            reap_under(d)


def reap_marked(work):
    """sessiond's executors lead process groups of their own (they outlive
    a daemon by design); they carry this run's mark, nothing else does."""
    mark = ("%s=%s" % (MARK, work)).encode()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if mark in (d / "environ").read_bytes():
                os.kill(int(d.name), signal.SIGKILL)
        except OSError:
            pass


def reap_under(data_dir):
    """The warm pool's JVMs, and executors handed one, lack the mark in
    /proc/<pid>/environ (a session's env is set inside the JVM after it
    started); sessiond starts them in its data_dir, so their cwd gives them
    away. Each leads its own group, with its Python workers in it."""
    root = str(Path(data_dir).resolve())
    own = os.getpgrp()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(d / "cwd")
            if cwd != root and not cwd.startswith(root + os.sep):
                continue
            pgid = os.getpgid(int(d.name))
            if pgid != own:
                os.killpg(pgid, signal.SIGKILL)
            os.kill(int(d.name), signal.SIGKILL)
        except OSError:
            pass


def spark_env(work):
    env = dict(os.environ)
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["PATH"] = "%s:%s" % (VENV_BIN, env.get("PATH", ""))
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env[MARK] = str(work)
    env.pop("SPARK_HOME", None)
    env.pop("SPARK_CONF_DIR", None)
    return env


def common_conf(events):
    conf = {
        "spark.ui.enabled": "false",
        "spark.driver.memory": "512m",
        "spark.executor.memory": "512m",
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": str(events),
        "spark.eventLog.compress": "false",
    }
    if LOG4J:
        # Executors' logs with milliseconds too: where an executor's start goes.
        conf["spark.executor.extraJavaOptions"] = "-Dlog4j2.configurationFile=file:%s" % LOG4J
    return conf


def log4j2_config(work):
    path = work / "log4j2.properties"
    path.write_text("""\
# Spark's default console logging, with milliseconds (bench/spark/ttft.py).
rootLogger.level = info
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd'T'HH:mm:ss.SSS} %p %c{1}: %m%n%ex
""")
    return path


def submit(procs, name, master, conf, args, work, plugin=False):
    cmd = [VENV_BIN / "spark-submit", "--master", master, "--name", name]
    if LOG4J:
        cmd += ["--driver-java-options", "-Dlog4j2.configurationFile=file:%s" % LOG4J]
    if plugin:
        # As tests/spark does: the cluster manager must be on the driver's own classpath.
        cmd += ["--driver-class-path", PLUGIN_JAR]
    for k, v in conf.items():
        cmd += ["--conf", "%s=%s" % (k, v)]
    # Marks the executors too, so leftovers of this run (and only they) can be reaped.
    cmd += ["--conf", "spark.executorEnv.%s=%s" % (MARK, work)]
    return procs.start(name, cmd + args, env=spark_env(work))


# -- batch -------------------------------------------------------------------

class Batch:
    """The batch tenant: apps started before the notebook, and told to stop
    through a file so they end cleanly (sessions unregistered)."""

    def __init__(self, procs, work, master, conf_for, n, task_s, slots, plugin):
        self.procs = procs
        self.stop_file = work / "batch.stop"
        self.status = [work / ("batch-%d.status" % i) for i in range(n)]
        self.apps = []
        for i in range(n):
            # Enough partitions that no round ever ends during the run: every
            # slot stays busy, as under a long ETL job.
            parts = max(64, slots * 50)
            self.apps.append(submit(procs, "batch-%d" % i, master, conf_for(i),
                                    [APPS / "batch.py", parts, task_s, self.status[i], self.stop_file],
                                    work, plugin))

    def running(self):
        total = 0
        for f, app in zip(self.status, self.apps):
            if app.poll() is not None:
                raise RuntimeError("%s exited early (%s); see %s" % (app.name, app.returncode, app.err_path))
            try:
                total += int(f.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total

    def wait_all_busy(self, slots, timeout):
        wait_until(lambda: self.running() >= slots, timeout, "batch tasks on all %d slots" % slots)

    def stop(self):
        self.stop_file.write_text("stop\n")
        deadline = time.time() + 30
        for app in self.apps:
            try:
                app.wait(timeout=max(1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            self.procs.stop(app, grace=10)


# -- interactive -------------------------------------------------------------

def run_cells(procs, name, master, conf, work, series, plugin):
    out = work / (name + ".json")
    spec = {"timeout_s": CONFIG["timeout_s"], "series": series}
    app = submit(procs, name, master, conf, [APPS / "cells.py", json.dumps(spec), out], work, plugin)
    budget = 240 + CONFIG["timeout_s"] * 2 + sum(x["cells"] * (x["gap_s"] + (CONFIG["timeout_s"] if x["loop"] ==
                                                                              "closed" else 0)) for x in series)
    try:
        app.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        procs.stop(app)
        raise RuntimeError("%s did not finish in %ds; see %s" % (name, budget, app.err_path))
    if app.returncode != 0 or not out.exists():
        raise RuntimeError("%s failed (exit %s); see %s" % (name, app.returncode, app.err_path))
    res = json.loads(out.read_text())
    res["driver_log"] = str(app.err_path)
    return res


def task_sets(driver_log):
    """{stage id: ms when the driver's task scheduler got its task set}."""
    out = {}
    for line in Path(driver_log).read_text(errors="replace").splitlines():
        m = re.match(r"(\d{4}-\d\d-\d\dT[\d:.]+) \w+ \w+: Adding task set (\d+)\.0 ", line)
        if m:
            # log4j stamps local time, as a naive datetime reads it.
            out.setdefault(int(m.group(2)), datetime.datetime.fromisoformat(m.group(1)).timestamp() * 1000)
    return out


def read_event_log(events, app_id):
    found = [p for p in events.iterdir() if app_id in p.name]
    if not found:
        raise RuntimeError("no event log for %s in %s" % (app_id, events))
    path = found[0]
    files = sorted(path.glob("events_*"), key=lambda p: int(p.name.split("_")[1])) if path.is_dir() else [path]
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]


def measure(result, events):
    """Per cell: time to first task from the event log, the executor that ran
    it and whether that executor was added after the job was submitted."""
    evs = read_event_log(events, result["app_id"])
    added_sets = task_sets(result["driver_log"]) if result.get("driver_log") else {}
    jobs = {}
    stage_job = {}
    first_task = {}
    added = {}
    for e in evs:
        kind = e.get("Event")
        if kind == "SparkListenerJobStart":
            group = (e.get("Properties") or {}).get("spark.jobGroup.id")
            if group:
                jobs[group] = {"job": e["Job ID"], "submitted": e["Submission Time"], "stages": e["Stage IDs"]}
                for s in e["Stage IDs"]:
                    stage_job[s] = group
        elif kind == "SparkListenerTaskStart":
            group = stage_job.get(e["Stage ID"])
            info = e["Task Info"]
            if group and (group not in first_task or info["Launch Time"] < first_task[group]["Launch Time"]):
                first_task[group] = info
        elif kind == "SparkListenerExecutorAdded":
            added[e["Executor ID"]] = e["Timestamp"]
    cells = []
    for c in result["cells"]:
        job = jobs.get(c["group"])
        row = dict(c)
        row["submitted_ms"] = job["submitted"] if job else None
        t = first_task.get(c["group"])
        if job and t:
            row["ttft_ms"] = t["Launch Time"] - job["submitted"]
            row["executor"] = t["Executor ID"]
            row["cold"] = added.get(t["Executor ID"], 0) > job["submitted"]
            row["timed_out"] = False
        else:
            row["ttft_ms"] = None
            row["executor"] = None
            row["cold"] = None
            # No task ever started: cancelled at the timeout, or failed.
            row["timed_out"] = c["wall_ms"] >= 0.98 * CONFIG["timeout_s"] * 1000
            row["failed"] = not row["timed_out"]
        ts = min((added_sets[st] for st in job["stages"] if st in added_sets), default=None) if job else None
        if ts is not None:
            # Spark's own part (DAGScheduler: stage, task binary broadcast,
            # tasks), then the part of the cluster manager and task scheduler.
            row["to_task_set_ms"] = round(ts - job["submitted"])
            row["task_set_to_launch_ms"] = round(t["Launch Time"] - ts) if job and t else None
        cells.append(row)
    return {"app_id": result["app_id"], "driver_start_s": round((result["ready_ms"] - result["started_ms"]) / 1000, 1),
            "executors_added": len(added), "cells": cells}


def nearest_rank(values, q):
    """Nearest-rank percentile; None (a timeout) sorts above every number."""
    if not values:
        return None
    ordered = sorted(values, key=lambda v: math.inf if v is None else v)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarize(cells, timeout_s):
    ttft = [c["ttft_ms"] for c in cells]
    wall = [None if c["timed_out"] else c["wall_ms"] for c in cells]
    s = {"arrivals": len(cells), "timeouts": sum(1 for c in cells if c["timed_out"]),
         "failed": sum(1 for c in cells if c.get("failed")),
         "cold": sum(1 for c in cells if c["cold"]), "timeout_s": timeout_s}
    for name, vals in (("ttft", ttft), ("wall", wall)):
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            v = nearest_rank(vals, q)
            s["%s_%s_ms" % (name, label)] = v
        done = [v for v in vals if v is not None]
        s["%s_min_ms" % name] = min(done) if done else None
        s["%s_max_ms" % name] = max(done) if done else None
    for part in ("to_task_set_ms", "task_set_to_launch_ms"):
        vals = [c[part] for c in cells if c.get(part) is not None]
        s[part] = {"p50": nearest_rank(vals, 0.5), "max": max(vals) if vals else None}
    if any("warm_jvm" in c for c in cells):
        # Of the cells that started an executor, those whose executor was handed a warm JVM.
        hits = [c["warm_jvm"] for c in cells if c["cold"] and c.get("warm_jvm")]
        s["pool_hits"] = len(hits)
        s["pool_hits_warmed_up"] = sum(1 for h in hits if h.get("warmed_up"))
        s["pool_age_ms"] = {"min": min((h["age_ms"] for h in hits), default=None),
                            "max": max((h["age_ms"] for h in hits), default=None)}
        s["pool_misses"] = [{"cell": c["cell"], "why": c.get("pool_miss")} for c in cells
                            if c["cold"] and not c.get("warm_jvm")]
    slowest = max((c for c in cells if c["ttft_ms"] is not None), key=lambda c: c["ttft_ms"], default=None)
    if slowest:
        s["slowest"] = {k: slowest.get(k) for k in ("cell", "ttft_ms", "to_task_set_ms", "task_set_to_launch_ms")}
    return s


# -- sessiond phase ----------------------------------------------------------

def sessiond_config(work, slots):
    # The interactive tenant owns half the host; batch owns the rest and
    # borrows whatever interactive leaves idle. Debug logging: the grants
    # (debug level) date the steps of each handover. warm_pool_idle is
    # longer than the default 10 min: the cold driver, which does not use
    # the pool, must not outlast the pool's memory of the executors' command
    # before the pooled driver comes.
    owned_i = max(1, slots // 2)
    # Said even when 0: the local backend's default is a pool of 1.
    pool = ("    warm_pool: %d\n    warm_pool_refill_delay: %s\n    warm_pool_idle: 30m\n" % (
        CONFIG["warm_pool"], CONFIG["warm_pool_refill_delay"])) if CONFIG["warm_pool"] > 0 else "    warm_pool: 0\n"
    return f"""\
# Generated by bench/spark/ttft.py.
data_dir: {work / 'data'}
listen: 127.0.0.1:0
metrics_listen: 127.0.0.1:0
log: {{level: debug}}
sessions: {{lease_ttl: 20s, kill_timeout: 2s, exited_retention: 30s, max_wait: 5s}}
scheduler:
  slot: {{cpu: 1, memory: 512Mi}}
  grace: {CONFIG['grace']}
  idle_timeout: {CONFIG['idle_timeout']}
  pass_interval: 1ms
auth:
  tokens:
    - {{token: {ADMIN_TOKEN}, principal: ops, admin: true}}
    - {{token: {BATCH_TOKEN}, principal: etl, consumers: [/batch]}}
    - {{token: {INTERACTIVE_TOKEN}, principal: analysts, consumers: [/interactive]}}
backend:
  type: local
  local:
    hosts:
      - {{name: h1, cpu: {slots}, memory: 16Gi}}
{pool}consumers:
  - {{name: batch, share: 1, owned: {slots - owned_i}}}
  - {{name: interactive, share: 1, owned: {owned_i}}}
"""


def start_sessiond(procs, work):
    (work / "sessiond.yaml").write_text(sessiond_config(work, CONFIG["slots"]))
    p = procs.start("sessiond", [SESSIOND, "--config", work / "sessiond.yaml"])

    def listening():
        if p.poll() is not None:
            raise RuntimeError("sessiond exited with %s; see %s" % (p.returncode, p.err_path))
        return re.search(r"event=listening api=127\.0\.0\.1:(\d+) metrics=127\.0\.0\.1:(\d+)",
                         p.err_path.read_text() + p.out_path.read_text())

    m = wait_until(listening, 20, "sessiond to listen")
    p.port, p.metrics_port = int(m.group(1)), int(m.group(2))
    return p


def pool_counters(metrics_port):
    """The local backend's warm pool operations from /metrics ({} if none)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port, timeout=5) as r:
            text = r.read().decode()
    except Exception:
        return {}
    return {m.group(1): int(float(m.group(2))) for m in re.finditer(
        r'sessiond_backend_operations_total\{backend="local",operation="(warm_\w+)"\} (\S+)', text)}


def start_phase(work):
    """A phase's process table (stopped at exit) and its Spark event log dir."""
    procs = Procs(work)
    atexit.register(procs.stop_all)
    events = work / "events"
    events.mkdir(parents=True, exist_ok=True)
    return procs, events


def sessiond_phase(work):
    procs, events = start_phase(work)
    procs.reap_dirs.append(work / "data")
    d = start_sessiond(procs, work)
    master = "spark-session://127.0.0.1:%d" % d.port
    log("sessiond listening on %d; starting %d batch apps" % (d.port, CONFIG["batch_apps"]))

    def batch_conf(i):
        c = common_conf(events)
        c.update({"spark.session.consumer": "/batch", "spark.session.sla": "batch",
                  "spark.session.token": BATCH_TOKEN})
        return c

    batch = Batch(procs, work, master, batch_conf, CONFIG["batch_apps"], CONFIG["batch_task_s"], CONFIG["slots"],
                  True)
    batch.wait_all_busy(CONFIG["slots"], 240)
    conf = common_conf(events)
    conf.update({"spark.session.consumer": "/interactive", "spark.session.sla": "interactive",
                 "spark.session.token": INTERACTIVE_TOKEN})
    series = [{"name": "warm", "cells": CONFIG["warm_cells"], "gap_s": CONFIG["warm_gap_s"], "loop": "open"}]
    if CONFIG["handover_cells"] > 0:
        series.append({"name": "handover", "cells": CONFIG["handover_cells"], "gap_s": CONFIG["handover_gap_s"],
                       "loop": "closed", "keeper": True})
    log("batch holds all %d slots; interactive driver (%s)" % (CONFIG["slots"], ", ".join(x["name"] for x in series)))
    runs = {}
    t = time.time()
    res = run_cells(procs, "interactive", master, conf, work, series, True)
    runs["sessiond"] = measure(res, events)
    runs["sessiond"]["seconds"] = round(time.time() - t)
    def idle_free_driver(key, series, why, cells, gap_s, **extra):
        """Another notebook driver keeping no idle slot (idleSlots 0), so each
        of its cells needs a new executor, once batch holds every slot again."""
        batch.wait_all_busy(CONFIG["slots"], 120)
        log("batch holds all %d slots again; %s interactive driver (idleSlots=0, %s)" % (CONFIG["slots"], series, why))
        driver_conf = dict(conf, **{"spark.session.idleSlots": "0"}, **extra)
        t = time.time()
        res = run_cells(procs, "interactive-" + series, master, driver_conf, work,
                        [{"name": series, "cells": cells, "gap_s": gap_s, "loop": "closed"}], True)
        runs[key] = measure(res, events)
        runs[key]["seconds"] = round(time.time() - t)

    if CONFIG["cold_cells"] > 0:
        # A JVM started from nothing, as without the pool: the baseline the pooled series is read against.
        idle_free_driver("sessiond_cold", "cold", "no warm pool", CONFIG["cold_cells"], CONFIG["cold_gap_s"],
                         **{"spark.session.executor.warmStart": "false"})
    if CONFIG["pooled_cells"] > 0 and CONFIG["warm_pool"] > 0:
        idle_free_driver("sessiond_pooled", "pooled", "warm pool", CONFIG["pooled_cells"], CONFIG["pooled_gap_s"])
    # Before sessiond stops: its counters go with it.
    counters = pool_counters(d.metrics_port)
    batch.stop()
    procs.stop(d)
    reap_marked(work)
    reap_under(work / "data")
    text = d.err_path.read_text() + d.out_path.read_text()
    stamps = sessiond_stamps(text)
    for key in SESSIOND_RUNS:
        if key in runs:
            pool_use(runs[key], stamps, work / "data")
    runs["_evidence"] = evidence(runs, text, events, [a.err_path for a in batch.apps])
    runs["_evidence"]["pool_counters"] = counters
    return runs


# -- standalone phase --------------------------------------------------------

def master_json(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/json/" % port, timeout=2) as r:
            return json.loads(r.read())
    except Exception:
        return None


def standalone_phase(work):
    procs, events = start_phase(work)
    env = spark_env(work)
    env["SPARK_LOG_DIR"] = str(work)
    port, ui = free_port(), free_port()
    procs.start("master", [VENV_BIN / "spark-class", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                           "--port", port, "--webui-port", ui], env=env)
    wait_until(lambda: master_json(ui), 90, "the standalone master")
    (work / "worker").mkdir(exist_ok=True)
    procs.start("worker", [VENV_BIN / "spark-class", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                           "--cores", CONFIG["slots"], "--memory", "8g", "--webui-port", free_port(),
                           "--work-dir", work / "worker", "spark://127.0.0.1:%d" % port], env=env)
    wait_until(lambda: (master_json(ui) or {}).get("aliveworkers", 0) >= 1, 90, "the standalone worker")
    master = "spark://127.0.0.1:%d" % port
    log("standalone master on %d, one worker of %d cores; starting %d batch apps" % (port, CONFIG["slots"],
                                                                                    CONFIG["batch_apps"]))
    batch = Batch(procs, work, master, lambda i: common_conf(events), CONFIG["batch_apps"], CONFIG["batch_task_s"],
                  CONFIG["slots"], False)
    batch.wait_all_busy(CONFIG["slots"], 240)
    log("batch holds all %d cores; interactive driver" % CONFIG["slots"])
    t = time.time()
    res = run_cells(procs, "interactive", master, common_conf(events), work,
                    [{"name": "warm", "cells": CONFIG["warm_cells"], "gap_s": CONFIG["warm_gap_s"], "loop": "open"}],
                    False)
    run = measure(res, events)
    run["seconds"] = round(time.time() - t)
    state = master_json(ui) or {}
    run["master_at_end"] = {"cores": state.get("cores"), "coresused": state.get("coresused"),
                            "apps": [{"name": a.get("name"), "cores": a.get("cores"), "state": a.get("state")}
                                     for a in state.get("activeapps", [])]}
    batch.stop()
    procs.stop_all()
    return {"standalone": run}


# -- evidence ----------------------------------------------------------------

# The drivers of the sessiond phase, in the order they ran.
SESSIOND_RUNS = ("sessiond", "sessiond_cold", "sessiond_pooled")

# The local backend's warm pool logs prose, not event= lines: named here as
# events of their own so they sort in with the rest.
POOL_LINES = [
    ("warm_handoff", re.compile(r"local backend: executor (?P<executor>\S+) of session (?P<session>\S+): handed to "
                                r"warm pid (?P<pid>\d+) \(started (?P<age>\d+) ms before\)")),
    ("warm_started", re.compile(r"local backend: warm pool: started pid (?P<pid>\d+)")),
    ("warm_exited", re.compile(r"local backend: warm pool: pid (?P<pid>\d+) exited before any hand-off")),
    ("warm_refused", re.compile(r"local backend: executor (?P<executor>\S+): warm pid (?P<pid>\d+) did not take")),
    ("warm_let_go", re.compile(r"local backend: warm pool: .*letting go")),
]


def sessiond_stamps(text):
    out = []
    for line in text.splitlines():
        m = re.match(r"(\d{4}-\d\d-\d\dT[\d:.]+)\s+\w+\s+(?:event=(\S+))?", line)
        if not m:
            continue
        ev = m.group(2) or next((name for name, rx in POOL_LINES if rx.search(line)), None)
        if ev:
            # spdlog stamps local time, as a naive datetime reads it.
            ts = datetime.datetime.fromisoformat(m.group(1)).timestamp()
            out.append((ts * 1000, ev, line))
    return out


def pool_line(ev, line):
    rx = dict(POOL_LINES)[ev]
    return rx.search(line).groupdict()


def warm_up(executor_log):
    """From a handed-off executor's log (WarmExecutor's lines): how long its
    warm-up took and whether it had ended before the hand-off came."""
    try:
        text = Path(executor_log).read_text(errors="replace")
    except OSError:
        return {}
    done = re.search(r"warm executor: warm-up done after (\d+) ms", text)
    handed = re.search(r"warm executor: handed off after (\d+) ms of waiting", text)
    return {"warm_up_ms": int(done.group(1)) if done else None,
            "warmed_up": bool(done and (not handed or done.start() < handed.start())),
            "waited_ms": int(handed.group(1)) if handed else None}


def pool_use(run, stamps, data_dir):
    """Marks each cell whose executor was handed a JVM of the warm pool
    ("warm_jvm": pid, its age, its warm-up) and, for a cell that started an
    executor without one, what the pool's log says about why."""
    sid = run["app_id"]
    launches, handoffs = {}, {}
    for ts, ev, line in stamps:
        if ev == "executor_launch" and "session=%s " % sid in line:
            launches.setdefault(re.search(r"executor=(\S+)", line).group(1), ts)
        elif ev == "warm_handoff":
            f = pool_line(ev, line)
            if f["session"] == sid:
                handoffs[f["executor"]] = {"at_ms": round(ts), "pid": int(f["pid"]), "age_ms": int(f["age"])}
    run["executors_from_pool"] = len(handoffs)
    pool = [(ts, ev, line) for ts, ev, line in stamps if ev.startswith("warm_")]
    for c in run["cells"]:
        if c.get("executor") is None:
            continue
        eid = "%s-%s" % (sid, c["executor"])
        h = handoffs.get(eid)
        c["warm_jvm"] = dict(h, **warm_up(Path(data_dir) / "executors" / eid / "executor.log")) if h else None
        if not h and c["cold"]:
            c["pool_miss"] = pool_miss(eid, launches.get(eid, c["submitted_ms"]), pool)


def pool_miss(eid, launched, pool):
    """Why a launch found no JVM in the pool, from the pool's last log line
    before it (or a refused hand-off right at it)."""
    refused = next((l for t, e, l in pool if e == "warm_refused" and pool_line(e, l)["executor"] == eid), None)
    if refused:
        return "the warm JVM (pid %s) did not take the hand-off, so the executor started cold" % pool_line(
            "warm_refused", refused)["pid"]
    before = [(t, e, l) for t, e, l in pool if t <= launched]
    after = next((t for t, e, l in pool if e == "warm_started" and t > launched), None)
    if not before:
        return "the pool had started no JVM yet"
    t, e, l = before[-1]
    then = (", its replacement started %s after this launch" % fmt_ms(after - launched) if after is not None
            else ", and no replacement started after")
    if e == "warm_handoff":
        return "the pool was empty: its last JVM went to executor %s %s before%s" % (
            pool_line(e, l)["executor"], fmt_ms(launched - t), then)
    if e == "warm_exited":
        return "the pool's JVM (pid %s) had exited before any hand-off, %s before%s" % (
            pool_line(e, l)["pid"], fmt_ms(launched - t), then)
    if e == "warm_let_go":
        return "the pool had let its JVMs go %s before (unused)%s" % (fmt_ms(launched - t), then)
    return "no JVM of the pool was ready (its last line, %s before: %s)" % (fmt_ms(launched - t), l.split(" ", 2)[-1])


def breakdown(run, stamps):
    """Where each handover, cold or pooled cell's wait went, in ms after the
    job's submission, from sessiond's log: the revocation of a batch slot,
    the slot taken back (at the grace deadline, or earlier if batch released
    it), the grant to the interactive session and, for a cold or pooled
    cell, the executor's launch and its hand-off to a warm JVM."""
    sid = run["app_id"]
    rows = []
    for c in run["cells"]:
        if c["series"] not in ("handover", "cold", "pooled") or c["ttft_ms"] is None:
            continue
        t0, end = c["submitted_ms"], c["submitted_ms"] + c["ttft_ms"]
        row = {"cell": c["cell"], "series": c["series"], "ttft_ms": c["ttft_ms"]}
        for ts, ev, line in stamps:
            if not t0 - 300 <= ts <= end:
                continue
            key = None
            if ev == "decision_revoke" and "beneficiary=/interactive" in line:
                key = "revoke_ms"
            elif ev in ("decision_reclaim", "slots_released") and "consumer=/batch" in line:
                key = "slot_back_ms"
            elif ev == "decision_grant" and "session=%s " % sid in line:
                key = "grant_ms"
            elif ev == "executor_launch" and "session=%s " % sid in line:
                key = "executor_launch_ms"
            elif ev == "warm_handoff" and pool_line(ev, line)["session"] == sid:
                key = "handoff_ms"
            if key and key not in row:
                row[key] = round(ts - t0)
        rows.append(row)
    return rows


def app_tasks(events):
    """{app id: [(launch ms, end ms, reason, task id)]} from every event log of the
    phase. A task whose end was never logged (its app stopped first) ends
    with its executor or its app."""
    apps = {}
    for d in events.iterdir():
        app = d.name.replace("eventlog_v2_", "").split(".")[0]
        files = sorted(d.glob("events_*"), key=lambda p: int(p.name.split("_")[1])) if d.is_dir() else [d]
        open_, done, last = {}, [], 0
        for f in files:
            for line in f.read_text().splitlines():
                e = json.loads(line)
                kind = e.get("Event")
                last = max(last, e.get("Timestamp") or 0)
                if kind == "SparkListenerTaskStart":
                    i = e["Task Info"]
                    open_[i["Task ID"]] = (i["Launch Time"], i["Executor ID"])
                elif kind == "SparkListenerTaskEnd":
                    i = e["Task Info"]
                    start = open_.pop(i["Task ID"], (i["Launch Time"], None))[0]
                    done.append((start, i["Finish Time"], e["Task End Reason"]["Reason"], i["Task ID"]))
                elif kind == "SparkListenerExecutorRemoved":
                    for tid, (start, ex) in list(open_.items()):
                        if ex == e["Executor ID"]:
                            done.append((start, e["Timestamp"], "ExecutorRemoved", tid))
                            del open_[tid]
                elif kind == "SparkListenerApplicationEnd":
                    last = e["Timestamp"]
        done += [(start, last, "AppEnded", tid) for tid, (start, _) in open_.items()]
        apps[app] = done
    return apps


def concurrency(tasks):
    """Tasks running at once on the host over every app of the phase: more
    than the host's slots means a revoked task ran on after its slot was
    given away. Launch and finish stamps come from different driver
    threads, so overlaps under a second are ignored."""
    points = sorted([(t[0], 1) for ts in tasks.values() for t in ts] +
                    [(t[1], -1) for ts in tasks.values() for t in ts])
    n, since, spans, peak = 0, None, [], 0
    for ts, step in points:
        n += step
        peak = max(peak, n)
        if n > CONFIG["slots"] and since is None:
            since = ts
        elif n <= CONFIG["slots"] and since is not None:
            if ts - since >= 1000:
                spans.append((since, ts))
            since = None
    return {"peak_tasks": peak, "oversubscribed_spans": len(spans),
            "oversubscribed_s": round(sum(b - a for a, b in spans) / 1000, 1),
            "longest_span_s": round(max((b - a for a, b in spans), default=0) / 1000, 1)}


def duration_ms(text):
    m = re.fullmatch(r"(\d+)\s*(ms|s|m|min)?", text.strip())
    return int(m.group(1)) * {"ms": 1, None: 1000, "s": 1000, "m": 60000, "min": 60000}[m.group(2)]


def kill_requests(driver_logs):
    """{session: [(ms, task id)]}: when each batch driver asked Spark to kill
    a task for a revocation (its log, with milliseconds)."""
    out = {}
    for path in driver_logs:
        text = Path(path).read_text(errors="replace") if Path(path).exists() else ""
        sid = re.search(r"Session (\S+) registered with the session scheduler", text)
        rows = out.setdefault(sid.group(1) if sid else str(path), [])
        for m in re.finditer(r"^(\S+) \w+ SessionSchedulerBackend: Killing task (\d+) on executor", text, re.M):
            try:
                rows.append((datetime.datetime.fromisoformat(m.group(1)).timestamp() * 1000, int(m.group(2))))
            except ValueError:
                pass
    return out


def revocations(stamps, tasks, kills):
    """What became of each revocation of a batch slot: released early (the
    slot was idle), a task killed for it (when the kill was asked for and
    when the task ended, against the grace deadline), or neither: the
    victim's task went on past the deadline while sessiond had already
    handed its slot over."""
    grace = duration_ms(CONFIG["grace"])
    out = []
    for ts, ev, line in stamps:
        if ev != "decision_revoke" or "consumer=/batch" not in line:
            continue
        sid = re.search(r"session=(\S+)", line).group(1)
        deadline = ts + grace
        back = next(((t, e) for t, e, l in stamps if t >= ts and e in ("decision_reclaim", "slots_released")
                     and "session=%s " % sid in l), (None, None))
        row = {"at_ms": round(ts), "session": sid, "slot_back_after_ms": round(back[0] - ts) if back[0] else None,
               # The driver gave the slot back itself (a task had ended, or was killed, in time).
               "released_before_deadline": bool(back[1] == "slots_released" and back[0] < deadline)}
        asked = [(t, tid) for t, tid in kills.get(sid, []) if ts <= t <= deadline + 500]
        running = sorted((t[1], t[2]) for t in tasks.get(sid, []) if t[0] <= ts < t[1])
        if asked:
            row["outcome"] = "killed"
            row["kill_asked_ms"] = round(asked[0][0] - deadline)
            end = next((t[1] for t in tasks.get(sid, []) if t[3] == asked[0][1]), None)
            if end is not None:
                row["kill_landed_ms"] = round(end - deadline)
        elif back[1] == "slots_released" and back[0] < deadline:
            row["outcome"] = "released early"
        elif not running:
            row["outcome"] = "nothing running"
        else:
            row["outcome"] = "not killed"
            row["ran_past_deadline_ms"] = round(running[0][0] - deadline)
        out.append(row)
    return out


def evidence(runs, sessiond_log, events, batch_errs):
    stamps = sessiond_stamps(sessiond_log)
    rows = []
    for key in SESSIOND_RUNS:
        if key in runs:
            rows += breakdown(runs[key], stamps)
    tasks = app_tasks(events)
    revs = revocations(stamps, tasks, kill_requests(batch_errs))
    # Each kill logs twice (backend and task scheduler): count the backend's line.
    kills = sum(len(re.findall(r"SessionSchedulerBackend: Killing task", p.read_text())) for p in batch_errs
                if p.exists())
    # The log lines of the first handover, cold and pooled cell, as quoted evidence.
    sample = []
    for series, key in (("handover", "sessiond"), ("cold", "sessiond_cold"), ("pooled", "sessiond_pooled")):
        row = next((r for r in rows if r["series"] == series), None)
        run = runs.get(key) if row else None
        cell = next((c for c in run["cells"] if c["cell"] == row["cell"]), None) if run else None
        if cell:
            t0 = cell["submitted_ms"]
            sample.append("# %s cell %d: job submitted %s, first task %s ms later" % (
                series, cell["cell"], datetime.datetime.fromtimestamp(t0 / 1000, datetime.timezone.utc)
                .strftime("%H:%M:%S.%f")[:-3], cell["ttft_ms"]))
            sample += [l for ts, ev, l in stamps if t0 - 300 <= ts <= t0 + cell["ttft_ms"] + 100 and ev in (
                "decision_revoke", "decision_reclaim", "decision_grant", "slots_released", "executor_launch",
                "warm_handoff", "warm_refused")]
    outcomes = {}
    for r in revs:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    pool_log = {}
    for ts, ev, l in stamps:
        if ev.startswith("warm_"):
            pool_log[ev] = pool_log.get(ev, 0) + 1
    return {"breakdown": rows, "revocations": revs, "outcomes": outcomes, "batch_tasks_killed_by_plugin": kills,
            "host": concurrency(tasks), "log_sample": sample, "pool_log": pool_log}


# -- report ------------------------------------------------------------------

VARIANTS = [
    # key, run, series, label
    ("sessiond_warm", "sessiond", "warm", "sessiond, warm: an executor on the host with its idle slot"),
    ("sessiond_handover", "sessiond", "handover", "sessiond, handover: an executor on the host, the slot lent to batch"),
    ("sessiond_cold", "sessiond_cold", "cold", "sessiond, cold: no executor, the slot lent to batch"),
    ("sessiond_pooled", "sessiond_pooled", "pooled",
     "sessiond, pooled: no executor, the slot lent to batch, a JVM from the warm pool"),
    ("standalone", "standalone", "warm", "standalone master, FIFO"),
]
FIRSTS = [
    ("sessiond", "sessiond: the driver's first cell (idleSlots 1)"),
    ("sessiond_cold", "sessiond: the cold driver's first cell (idleSlots 0)"),
    ("sessiond_pooled", "sessiond: the pooled driver's first cell (idleSlots 0)"),
    ("standalone", "standalone: the driver's first cell"),
]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "?"


class LoadSampler:
    """The 1-minute load average every 5 s while the run lasts: how busy the
    shared machine was during the measurement, not only before it."""

    def __init__(self):
        import threading
        self.samples = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.wait(5):
            self.samples.append(float(open("/proc/loadavg").read().split()[0]))

    def stop(self):
        self.done.set()
        v = sorted(self.samples) or [0.0]
        return {"min": v[0], "median": v[len(v) // 2], "max": v[-1], "samples": len(self.samples)}


def digest(path):
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def machine():
    java = sh("ps -eo comm= | grep -c '^java$'")
    dirty = sh("git -C '%s' status --porcelain --untracked-files=no -- service plugins client idl" % ROOT)
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu": sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor(),
        "cores": os.cpu_count(),
        "memory": sh("free -h | awk '/^Mem:/ {print $2}'"),
        "kernel": " ".join(platform.uname()[i] for i in (0, 2)),
        "java": sh("java -version 2>&1 | head -1"),
        "pyspark": sh("'%s' -c 'import pyspark; print(pyspark.__version__)'" % sys.executable),
        "load_average_start": " ".join(open("/proc/loadavg").read().split()[:3]),
        # Other people's Spark runs share the machine: say how many JVMs ran.
        "other_java_processes_at_start": int(java) if java.isdigit() else None,
        "commit": sh("git -C '%s' rev-parse --short HEAD" % ROOT),
        # The build measured, which need not be the commit: build/ is shared.
        "build": {"sessiond_sha256": digest(SESSIOND), "plugin_jar_sha256": digest(PLUGIN_JAR),
                  "built": datetime.datetime.fromtimestamp(os.path.getmtime(PLUGIN_JAR),
                                                           datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "uncommitted_source_changes": len(dirty.splitlines()) if dirty != "?" else None},
    }


def fmt_ms(v, timeout_s=None):
    if v is None:
        return "> %d s (timeout)" % timeout_s if timeout_s else "n/a"
    return "%.1f s" % (v / 1000) if v >= 2000 else "%d ms" % round(v)


def build_report(runs, mach, seconds):
    T = CONFIG["timeout_s"]
    summary, firsts = {}, {}
    for key, run, series, _ in VARIANTS:
        if run in runs:
            cells = [c for c in runs[run]["cells"] if c["series"] == series]
            if cells:
                summary[key] = summarize(cells, T)
    for run, _ in FIRSTS:
        if run in runs:
            firsts[run] = runs[run]["cells"][0]
    rep = {"config": CONFIG, "machine": mach, "total_seconds": round(seconds), "runs": runs, "summary": summary,
           "first_cells": firsts, "ratios": {}, "targets": []}
    st = summary.get("standalone")
    for key in (v[0] for v in VARIANTS if v[0] != "standalone"):
        if st and key in summary:
            for p in ("p50", "p99"):
                a, b = st["ttft_%s_ms" % p], summary[key]["ttft_%s_ms" % p]
                if b:
                    # A standalone timeout stands in for a longer wait: the ratio is then a lower bound.
                    rep["ratios"]["%s_%s" % (key, p)] = {"ratio": (a if a is not None else T * 1000) / b,
                                                        "at_least": a is None}

    def target(key, what, limit):
        if key in summary:
            v = summary[key]["ttft_p99_ms"]
            rep["targets"].append({"variant": key, "target": what, "limit_ms": limit, "measured_ms": v,
                                   "met": v is not None and v < limit})

    target("sessiond_warm", "p99 < 200 ms with an executor on the host (its idle slot kept)", 200)
    target("sessiond_handover", "p99 < 200 ms with an executor on the host (its slot lent to batch)", 200)
    target("sessiond_handover", "p99 < 2 s through sessiond (slot back from batch, no JVM to start)", 2000)
    target("sessiond_cold", "p99 < 2 s through sessiond (slot back from batch and a new executor)", 2000)
    target("sessiond_pooled", "p99 < 2 s through sessiond (slot back from batch and a new executor)", 2000)
    return rep


def warm_miss(t):
    """Why warm cells were slow: where the slowest one's time went."""
    w = t.get("slowest") or {}
    b = t.get("task_set_to_launch_ms") or {}
    if w.get("to_task_set_ms") is None:
        return ""
    return (" The slowest cell (%d) took %s, of which %s passed before Spark's DAGScheduler handed its task set to "
            "the task scheduler, and %s from there to the launch; over all warm cells the task set → launch part "
            "was %s at the median and %s at most. The time went to Spark's driver on a 2-core machine shared with "
            "other work, not to waiting for a slot." % (
                w["cell"], fmt_ms(w["ttft_ms"]), fmt_ms(w["to_task_set_ms"]), fmt_ms(w["task_set_to_launch_ms"]),
                fmt_ms(b.get("p50")), fmt_ms(b.get("max"))))


def span(lo, hi):
    return fmt_ms(lo) if lo == hi else "%s to %s" % (fmt_ms(lo), fmt_ms(hi))


def rel(ms):
    return "%s %s" % (fmt_ms(abs(ms)), "after" if ms >= 0 else "before")


def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def ordinal(n):
    return "%d%s" % (n, {1: "st", 2: "nd", 3: "rd"}.get(n if n < 20 else n % 10, "th"))


def median(values):
    v = sorted(x for x in values if x is not None)
    return v[len(v) // 2] if v else None


def findings(rep):
    """Plain statements from the figures: which targets were met, and why not."""
    c, s, ev = rep["config"], rep["summary"], rep.get("evidence") or {}
    T = c["timeout_s"]
    out = []
    rows = ev.get("breakdown", [])

    def steps(series):
        r = [x for x in rows if x["series"] == series]
        if not r:
            return ""
        parts = [("revocation of a batch slot", "revoke_ms"), ("the slot back from batch", "slot_back_ms"),
                 ("granted to the notebook", "grant_ms"), ("executor launched", "executor_launch_ms"),
                 ("handed to a warm JVM", "handoff_ms"), ("first task", "ttft_ms")]
        return " Median steps after the job's submission (sessiond's log, %s): %s." % (
            plural(len(r), "cell"), ", ".join("%s %s ms" % (label, median(x.get(k) for x in r)) for label, k in parts
                              if median(x.get(k) for x in r) is not None))

    def started_ahead(series):
        """Median (launch, slot back, first task) in ms when the executor was
        launched before the slot came back (sessions.start_ahead), else None."""
        r = [x for x in rows if x["series"] == series]
        launch = median(x.get("executor_launch_ms") for x in r)
        back = median(x.get("slot_back_ms") for x in r)
        first = median(x.get("ttft_ms") for x in r)
        if launch is None or back is None or first is None or launch >= back:
            return None
        return launch, back, first

    if "sessiond_warm" in s:
        t = s["sessiond_warm"]
        met = t["ttft_p99_ms"] is not None and t["ttft_p99_ms"] < 200
        out.append("- **Warm, sessiond:** p50 %s, p99 %s over %d cells (%d on a new executor): the 200 ms target "
                   "is **%s**. The session keeps one slot while idle (`spark.session.idleSlots` default 1), so a "
                   "cell needs no revocation and no JVM: its task goes out in Spark's own offer round.%s" % (
                       fmt_ms(t["ttft_p50_ms"]), fmt_ms(t["ttft_p99_ms"], T), t["arrivals"], t["cold"],
                       "met" if met else "missed",
                       "" if met else warm_miss(t)))
    def slow_handovers():
        slow = sorted(x["ttft_ms"] for x in rows if x["series"] == "handover" and (x.get("ttft_ms") or 0) >= 200)
        if not slow:
            return ""
        return (" %d of %d cells took longer (%s): their slot came back only when a batch task there ended by "
                "itself within the grace (the driver kills early only what cannot end in time, so that work is "
                "kept), or at the deadline when the stage had fewer than 3 finished tasks to measure by. A shorter "
                "grace for batch (`scheduler.grace: {batch: ...}`) bounds that wait." % (
                    len(slow), len([x for x in rows if x["series"] == "handover"]),
                    ", ".join(fmt_ms(v) for v in slow)))

    if "sessiond_handover" in s:
        t = s["sessiond_handover"]
        met = t["ttft_p99_ms"] is not None and t["ttft_p99_ms"] < 200
        met2 = t["ttft_p99_ms"] is not None and t["ttft_p99_ms"] < 2000
        out.append("- **Handover, sessiond:** p50 %s, p99 %s: the 200 ms target is **%s**, the 2 s one **%s**. "
                   "The slot is lent to batch, so a cell revokes it, and batch's running task there (%g s of sleep) "
                   "cannot end within the grace period (%s). The batch driver kills it as soon as the revocation "
                   "arrives and gives the slot back with the kill, not when the task ends: a grace shorter than "
                   "its kill margin (a quarter of the grace, at least 250 ms) leaves nothing to wait for, and with "
                   "a longer one its stage's finished tasks say the task cannot end in time "
                   "(`spark.session.revocation.killEarly`, on by default).%s The grant reaches the "
                   "notebook's driver through the directives long poll and the task goes out within milliseconds; "
                   "no JVM starts: the slot joins the executor the notebook already has.%s" % (
                       fmt_ms(t["ttft_p50_ms"]), fmt_ms(t["ttft_p99_ms"], T), "met" if met else "missed",
                       "met" if met2 else "missed", c["batch_task_s"], c["grace"],
                       "" if met else slow_handovers(),
                       steps("handover")))
    pool_on = (c.get("warm_pool") or 0) > 0
    if "sessiond_cold" in s:
        t = s["sessiond_cold"]
        met = t["ttft_p99_ms"] is not None and t["ttft_p99_ms"] < 2000
        out.append("- **Cold, sessiond:** %d of %s had to start an executor; p50 %s, p99 %s: the 2 s target "
                   "is **%s**.%s%s%s" % (
                       t["cold"], plural(t["arrivals"], "cell"), fmt_ms(t["ttft_p50_ms"], T), fmt_ms(t["ttft_p99_ms"], T),
                       "met" if met else "missed", steps("cold"),
                       (" The executor was started ahead (`sessions.start_ahead`): launched %d ms after the job, "
                        "while batch's slot was still being revoked, so its JVM start overlapped the grace period "
                        "and the cell waited for the longer of the two, not their sum.%s" % (
                            started_ahead("cold")[0],
                            "" if met else " Here that is the JVM: starting from nothing, registering with the "
                            "driver and initialising take longer than the grace on 2 cores shared with the batch "
                            "JVMs.")) if started_ahead("cold") else
                       "" if met else " The slot comes back in about the grace period, as above; the rest is "
                       "Spark's executor JVM starting, registering with the driver and initialising before it takes "
                       "a task, on 2 cores shared with the batch JVMs and other people's tests.",
                       " This driver opts out of the warm pool (`spark.session.executor.warmStart=false`), so each "
                       "of its JVMs starts from nothing, as it would without the pool, except that it maps its "
                       "classes from the local backend's class-data archive (`class_data`, on by default; made in "
                       "the background from the classes batch's first executor loaded) instead of reading and "
                       "verifying them from jars: without one a cold cell took p50 3.4 s, p99 4.2 s here."
                       if pool_on else ""))
    if "sessiond_pooled" in s:
        t = s["sessiond_pooled"]
        met = t["ttft_p99_ms"] is not None and t["ttft_p99_ms"] < 2000
        hits = t.get("pool_hits") or 0
        jvms = [x["warm_jvm"] for x in rep["runs"].get("sessiond_pooled", {}).get("cells", [])
                if x["series"] == "pooled" and x["cold"] and x.get("warm_jvm")]
        warm_ups = [j["warm_up_ms"] for j in jvms if j.get("warm_up_ms") is not None]
        age = t.get("pool_age_ms") or {}
        text = ("- **Pooled, sessiond:** %d of %s had to start an executor, %d of them on a JVM from the warm pool"
                % (t["cold"], plural(t["arrivals"], "cell"), hits))
        if hits:
            text += (" (%d warmed up by the hand-off; started %s before it)" % (
                t.get("pool_hits_warmed_up") or 0, span(age.get("min"), age.get("max"))))
        text += "; p50 %s, p99 %s: the 2 s target is **%s**" % (
            fmt_ms(t["ttft_p50_ms"], T), fmt_ms(t["ttft_p99_ms"], T), "met" if met else "missed")
        cold = s.get("sessiond_cold")
        if cold:
            text += ", against p50 %s, p99 %s for the cold JVMs above" % (
                fmt_ms(cold["ttft_p50_ms"], T), fmt_ms(cold["ttft_p99_ms"], T))
        text += "." + steps("pooled")
        r = [x["ttft_ms"] - x["handoff_ms"] for x in rows if x["series"] == "pooled" and "handoff_ms" in x]
        ahead = started_ahead("pooled")
        if ahead:
            text += (" The executor was started ahead (`sessions.start_ahead`): handed its warm JVM during batch's "
                     "grace period, it had registered with the driver before the slot came back, and the first "
                     "task went out %d ms after the slot did." % (ahead[2] - ahead[1]))
        elif r:
            text += (" From the hand-off to the first task took %s at the median (%s at most): the executor "
                     "itself starting in the warm JVM, registering with the driver and initialising, before it "
                     "takes a task." % (fmt_ms(median(r)), fmt_ms(max(r))))
        text += (" Cells were %g s apart: a hand-off makes the pool start the replacement %s later (its "
                 "`warm_pool_refill_delay`), and the replacement needs its warm-up%s before it is as fast." % (
                     c.get("pooled_gap_s", 0), c.get("warm_pool_refill_delay", "?"),
                     " (%s for the JVMs this driver got)" % span(min(warm_ups), max(warm_ups))
                     if warm_ups else ""))
        for miss in t.get("pool_misses") or []:
            text += " Cell %d started its executor without a warm JVM: %s." % (miss["cell"], miss["why"] or "?")
        out.append(text)
    counters = ev.get("pool_counters") or {}
    if pool_on and counters:
        out.append("- **Warm pool, whole sessiond phase** (sessiond's `/metrics` at its end): %d JVMs started, %d "
                   "handed to executors, %s found none ready%s, %d exited before a hand-off, %d let go." % (
                       counters.get("warm_started", 0), counters.get("warm_taken", 0),
                       plural(counters.get("warm_missed", 0), "launch").replace("launchs", "launches"), " (%sthe first launch, batch's, which teaches the pool the command)" % (
                           "among them " if counters.get("warm_missed", 0) > 1 else "")
                       if counters.get("warm_missed") else "", counters.get("warm_exited", 0),
                       counters.get("warm_let_go", 0)))
    if "standalone" in s:
        t = s["standalone"]
        f = rep["first_cells"].get("standalone")
        out.append("- **Standalone:** %d of %s timed out (> %d s)%s. With FIFO across applications and "
                   "`spark.cores.max` unset, the first batch app is given every core of the worker and keeps its "
                   "executor until it ends; a finished batch task frees nothing for the notebook, which gets no "
                   "executor at all. A standalone user avoids this only by splitting the cluster by hand "
                   "(`spark.cores.max` per app), which leaves cores idle whenever the notebook is." % (
                       t["timeouts"], plural(t["arrivals"], "cell"), T,
                       "" if not f else ", and so did its first cell" if f["timed_out"] else
                       "; its first cell waited %s" % fmt_ms(f["ttft_ms"])))
    revs = ev.get("revocations") or []
    if revs:
        o = ev["outcomes"]
        kills = [r["kill_landed_ms"] for r in revs if "kill_landed_ms" in r]
        asked = [r["kill_asked_ms"] for r in revs if "kill_asked_ms" in r]
        past = [r["ran_past_deadline_ms"] for r in revs if "ran_past_deadline_ms" in r]
        host = ev["host"]
        text = ("- **Revocations of batch slots (sessiond side), %d in all:** %d released early (a task there ended in time, or the slot was idle), "
                "%d with a batch task killed for it%s"
                % (len(revs), o.get("released early", 0), o.get("killed", 0),
                   " (the driver asked for the kill %s the deadline and the task ended %s it, at the median; "
                   "Spark gives a killed Python task `spark.python.task.killTimeout` before it kills the worker)"
                   % (rel(median(asked)), rel(median(kills))) if asked and kills else ""))
        if o.get("nothing running"):
            text += ", %d with no batch task running on the slot" % o["nothing running"]
        if past:
            text += (", and **%d where no task was killed**: the revoked batch task ran on to its natural end, %s "
                     "past the deadline%s, beside the notebook's task. sessiond hands the slot over at the "
                     "deadline without waiting for the victim, so this does not delay the notebook here; on a real "
                     "host it is CPU the victim goes on using after its slot was given away." % (
                         o.get("not killed", 0), fmt_ms(median(past)), "" if len(past) < 2 else
                         " at the median, %s at most" % fmt_ms(max(past))))
        else:
            text += "; in none was a running batch task left unkilled."
        if host["oversubscribed_s"]:
            text += (" Over the whole run the host ran more tasks than its %d slots for %.1f s (longest %.1f s, "
                     "peak %d tasks)." % (c["slots"], host["oversubscribed_s"], host["longest_span_s"],
                                          host["peak_tasks"]))
        out.append(text)
    return out


def render_section(rep):
    c, m, s = rep["config"], rep["machine"], rep["summary"]
    T = c["timeout_s"]
    owned_i = max(1, c["slots"] // 2)
    # A JSON of a run from before the warm pool has no warm_pool in its config.
    pool_on = (c.get("warm_pool") or 0) > 0
    pooled = pool_on and "sessiond_pooled" in s
    n_series = 3 + (1 if pooled else 0)
    L = [BEGIN, "", "## Interactive time to first task: sessiond vs standalone", "",
         "Written by `bash bench/spark/run.sh` (`bench/spark/`); raw figures in `bench/out/spark-ttft.json`, logs "
         "and Spark event logs in `bench/out/spark-ttft/` (not committed). Figures, not a test: a missed target "
         "does not fail the run.", "",
         "How long does a notebook cell wait for its first task while batch jobs hold every core?", "",
         "### Setup", "",
         "- One machine, everything on loopback, the same pyspark %s install and JVM on both sides. The cluster "
         "is one host of **%d slots**: sessiond's local backend with one virtual host of %d cpu, or a standalone "
         "Master with one Worker started with `--cores %d`." % (m["pyspark"], c["slots"], c["slots"], c["slots"]),
         "- **Batch:** %s (`bench/spark/apps/batch.py`) submitted first: jobs of %d partitions whose tasks "
         "sleep %g s, round after round, so every slot stays busy for the whole run. The notebook starts only "
         "once running batch tasks fill all %d slots." % (
             plural(c["batch_apps"], "PySpark app"), max(64, c["slots"] * 50), c["batch_task_s"], c["slots"]),
         "- **Notebook:** one long-lived PySpark driver (`bench/spark/apps/cells.py`): a first cell as soon as "
         "the session exists, then series of cells, each a one-partition job (`parallelize([n], 1).map(...)"
         ".collect()`) in its own job group. A cell without a task after %d s is cancelled and counted as a "
         "timeout." % T,
         "- **Time to first task** comes from Spark's own event log: `SparkListenerJobStart` \"Submission Time\" "
         "to the earliest `SparkListenerTaskStart` \"Launch Time\" of the job's stages (both stamped by the "
         "driver, in ms). *Wall* is the cell as the notebook sees it, Python call to result.",
         "- **sessiond** (`build/bin/sessiond`, the plugin jar, `--master spark-session://...`): consumers "
         "`/batch` (owns %d, borrows the rest) and `/interactive` (owns %d), a token per tenant; batch apps "
         "`spark.session.sla=batch`, the notebook `spark.session.sla=interactive`; `scheduler.grace` %s, "
         "`scheduler.idle_timeout` %s, slot 1 cpu + 512 MiB.%s %s series:" % (
             c["slots"] - owned_i, owned_i, c["grace"], c["idle_timeout"],
             (" The local backend's **warm pool** is on (`backend.local.warm_pool` %d, `warm_pool_refill_delay` "
              "%s): the plugin sends with each session's executors a `warm_command` (the executors' java, classpath, "
              "heap and JVM options, the plugin jar, main class `WarmExecutor`); the pool keeps %s of it started "
              "ahead of need, which loads and links Spark's classes and then waits. An executor launched with "
              "that command is handed the waiting JVM (its env and arguments; it becomes the executor, same pid) "
              "instead of starting one, and the pool starts a replacement after the refill delay. The pool learns "
              "a command from the first executor launched with it, which itself starts cold." % (
                  c["warm_pool"], c.get("warm_pool_refill_delay", "?"), plural(c["warm_pool"], "JVM")))
             if pool_on else "", {3: "Three", 4: "Four"}[n_series]),
         "  - *warm*: %s %g s apart on a fixed clock. The session keeps one slot on its executor between "
         "cells (`spark.session.idleSlots`, default 1 for interactive), so each cell finds an executor on the "
         "host and a free slot on it." % (plural(c["warm_cells"], "cell"), c["warm_gap_s"]),
         "  - *handover*: %s, each %g s after the previous one ended, while a long background job of the "
         "same notebook occupies its slot: each cell needs a second slot, lent to batch meanwhile. It must be "
         "revoked from batch and joins the notebook's executor (no JVM starts)." % (
             plural(c["handover_cells"], "cell"), c["handover_gap_s"]),
         "  - *cold*: a second driver with `spark.session.idleSlots=0`%s, %s, each %g s after the previous "
         "ended (longer than `demandHold` 2 s + idle_timeout): each finds no executor at all, so its slot is "
         "revoked from batch and an executor JVM is started%s." % (
             " and `spark.session.executor.warmStart=false`" if pool_on else "", plural(c["cold_cells"], "cell"),
             c["cold_gap_s"], " from nothing (this driver does not use the warm pool)" if pool_on else "")]
    if pooled:
        L.append("  - *pooled*: after the cold one, a third driver with `spark.session.idleSlots=0` and "
                 "`spark.session.executor.warmStart` left at true, %s, each %g s after the previous ended: as "
                 "for *cold*, each finds no executor, so its slot is revoked from batch, but the executor is "
                 "handed a JVM from the warm pool. The gaps leave the pool time to start and warm the "
                 "replacement of each JVM a cell took (the refill delay, %s, then the new JVM's warm-up; "
                 "with %s in the pool, a replacement has %d gaps for it)." % (
                     plural(c["pooled_cells"], "cell"), c["pooled_gap_s"], c.get("warm_pool_refill_delay", "?"),
                     plural(c["warm_pool"], "JVM"), c["warm_pool"]))
    L += [
         "- **standalone** (`spark-class org.apache.spark.deploy.master.Master` and `...worker.Worker`): what a "
         "typical user runs: FIFO across applications, `spark.cores.max` unset, no dynamic allocation; the same "
         "batch apps and the same notebook program running the warm series (%s on the clock: arrivals do "
         "not wait for the previous cell, so one stuck cell does not hide the waits of the next)." % plural(
             c["warm_cells"], "cell"),
         "", "### Results", "",
         "| series | cells | time to first task p50 | p99 | timeouts | new executors%s | job → task set p50 / max "
         "| task set → launch p50 / max | wall p50 | wall p99 |" % (" (from the warm pool)" if pool_on else ""),
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, _, _, label in VARIANTS:
        if key in s:
            t = s[key]
            a, b = t.get("to_task_set_ms") or {}, t.get("task_set_to_launch_ms") or {}
            L.append("| %s | %d | **%s** | **%s** | %d | %s | %s / %s | %s / %s | %s | %s |" % (
                label, t["arrivals"], fmt_ms(t["ttft_p50_ms"], T), fmt_ms(t["ttft_p99_ms"], T), t["timeouts"],
                "%d (%d)" % (t["cold"], t["pool_hits"]) if t.get("pool_hits") is not None else t["cold"],
                fmt_ms(a.get("p50")), fmt_ms(a.get("max")), fmt_ms(b.get("p50")), fmt_ms(b.get("max")),
                fmt_ms(t["wall_p50_ms"], T), fmt_ms(t["wall_p99_ms"], T)))
    counts = sorted({t["arrivals"] for t in s.values()})
    L += ["", "Percentiles are nearest-rank, so below 100 cells the p99 is the slowest cell (%s). A timeout "
          "counts as slower than any measured cell." % "; ".join(
              "with %d, p50 is the %s" % (n, ordinal(max(1, math.ceil(n / 2)))) for n in counts),
          "",
          "*Job → task set* is Spark's own part, the same under any cluster manager: the DAGScheduler builds "
          "the stage, broadcasts the task binary and creates the tasks (from the driver's \"Adding task set\" log "
          "line, logged with milliseconds for this run). *Task set → launch* is the part of the task scheduler "
          "and the cluster manager: waiting for a slot, an executor or both.",
          "", "First cells (the session has just started):", ""]
    for run, label in FIRSTS:
        f = rep["first_cells"].get(run)
        if f:
            w = f.get("warm_jvm")
            pool = ", handed a JVM of the warm pool started %s before" % fmt_ms(w["age_ms"]) if w else (
                ", a JVM started from nothing" if "warm_jvm" in f and pool_on else "")
            L.append("- %s: %s%s" % (label, fmt_ms(f["ttft_ms"], T),
                                     "" if f["cold"] is None else
                                     " (on an executor started for it%s)" % pool if f["cold"] else
                                     " (its executor had registered while the driver started%s)" % pool))
    if rep["ratios"]:
        L += ["", "**Standalone ÷ sessiond**, time to first task (\"≥\": standalone timed out, so the timeout "
              "stands in for a longer wait):", "", "| standalone ÷ | p50 | p99 |", "|---|---:|---:|"]
        for key, _, _, label in VARIANTS:
            r50, r99 = rep["ratios"].get(key + "_p50"), rep["ratios"].get(key + "_p99")
            if r50 and r99:
                def f(r):
                    return "%s%s×" % ("≥ " if r["at_least"] else "",
                                      "{:,.0f}".format(r["ratio"]) if r["ratio"] >= 10 else "%.1f" % r["ratio"])
                L.append("| %s | %s | %s |" % (label, f(r50), f(r99)))
    L += ["", "### Targets", "", "| series | target (the issue's) | measured p99 | |", "|---|---|---:|---|"]
    for tg in rep["targets"]:
        L.append("| %s | %s | %s | %s |" % (tg["variant"].replace("sessiond_", ""), tg["target"],
                                            fmt_ms(tg["measured_ms"], T), "met" if tg["met"] else "**missed**"))
    L += ["", "### What the figures say", ""] + findings(rep)
    ev = rep.get("evidence") or {}
    if ev.get("log_sample"):
        shown = [l.split()[1] for l in ev["log_sample"] if l.startswith("# ")]
        L += ["", "sessiond's log around the first %s cell (grants are debug lines%s):" % (
            " and ".join(filter(None, [", ".join(shown[:-1]), shown[-1]])) if shown else "", "; the hand-off to a warm JVM is the local backend's" if "pooled" in shown
            else ""), "",
              "```"] + ev["log_sample"] + ["```"]
    L += ["", "### Machine", "",
          "%s, %s cores, %s RAM, %s, %s; pyspark %s; %s. Load average %s at the start, %s at the end, 1-minute "
          "load %s during the run (min / median / max of 5 s samples); %s other Java processes were running "
          "when it started: the machine is shared with other people's Spark tests, so every figure includes CPU "
          "contention, and every JVM that starts (a driver, an executor) competes for the same 2 cores as the "
          "cells being measured. The whole run took %d s." % (
              m["cpu"], m["cores"], m["memory"], m["kernel"], m["java"], m["pyspark"], m["date_utc"],
              m["load_average_start"], m.get("load_average_end", "?"),
              "%(min).1f / %(median).1f / %(max).1f" % m["load_1min_during_run"] if m.get("load_1min_during_run")
              else "?", m["other_java_processes_at_start"], rep["total_seconds"]),
          "",
          "Build measured: commit %s%s; `sessiond` sha256 %s…, plugin jar sha256 %s… (built %s), copied into the "
          "run's directory first so a rebuild of the shared `build/` cannot change them mid-run." % (
              m["commit"], " with uncommitted changes in %d source files" % m["build"]["uncommitted_source_changes"]
              if (m.get("build") or {}).get("uncommitted_source_changes") else "",
              (m.get("build") or {}).get("sessiond_sha256", "?"), (m.get("build") or {}).get("plugin_jar_sha256", "?"),
              (m.get("build") or {}).get("built", "?")),
          "", "### Running it", "",
          "```sh",
          "bash bench/spark/run.sh                        # both sides, about %d min; uses build/ (built if missing)"
          % max(1, round(rep["total_seconds"] / 60)),
          "TTFT_PHASES=sessiond bash bench/spark/run.sh   # one side only",
          "TTFT_README=/tmp/x.md bash bench/spark/run.sh  # a trial run that leaves this file alone",
          "bash bench/spark/run.sh --report-only          # rewrite this section from bench/out/spark-ttft.json",
          "```", "",
          "`bench/run.sh` regenerates this file from `bench/report.cpp` and drops this section; "
          "`--report-only` puts it back from the last run's JSON.", "",
          "Tunables (environment, defaults in brackets): `TTFT_SLOTS` [4], `TTFT_BATCH_APPS` [1], "
          "`TTFT_BATCH_TASK_S` [30], `TTFT_CELLS` [20], `TTFT_GAP_S` [3], `TTFT_HANDOVER_CELLS` [20], "
          "`TTFT_HANDOVER_GAP_S` [4.5], `TTFT_COLD_CELLS` [20], `TTFT_COLD_GAP_S` [6], `TTFT_WARM_POOL` [2; 0: no "
          "pool, no pooled series], `TTFT_WARM_POOL_REFILL_DELAY` [3s], `TTFT_POOLED_CELLS` [20], `TTFT_POOLED_GAP_S` "
          "[10], `TTFT_TIMEOUT_S` [60], "
          "`TTFT_GRACE` [100ms], `TTFT_IDLE_TIMEOUT` [1s], `TTFT_PHASES` [sessiond,standalone]. The venv is "
          "`~/.cache/session-scheduler/venv` (pyspark), as for `tests/spark`.", "", END]
    return "\n".join(L) + "\n"


def write_section(rep):
    section = render_section(rep)
    text = README.read_text() if README.exists() else ""
    head = BEGIN.split(" (")[0]
    if head in text:
        start = text.index(head)
        end = text.index(END, start) + len(END)
        text = text[:start] + section.rstrip("\n") + text[end:]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    README.write_text(text)


def print_figures(rep):
    T = rep["config"]["timeout_s"]
    print("interactive time to first task (Spark event log), one host of %d slots, batch holding every slot:"
          % rep["config"]["slots"])
    for key, _, _, label in VARIANTS:
        t = rep["summary"].get(key)
        if t:
            print("  %-18s cells=%-3d p50=%-10s p99=%-18s timeouts=%d new_executors=%d%s" % (
                key, t["arrivals"], fmt_ms(t["ttft_p50_ms"], T), fmt_ms(t["ttft_p99_ms"], T), t["timeouts"],
                t["cold"], "" if t.get("pool_hits") is None else " from_warm_pool=%d" % t["pool_hits"]))
    for run, label in FIRSTS:
        f = rep["first_cells"].get(run)
        if f:
            print("  first cell, %-14s %s" % (run + ":", fmt_ms(f["ttft_ms"], T)))
    for k, r in rep["ratios"].items():
        print("  standalone / %s = %s%.1fx" % (k, ">= " if r["at_least"] else "", r["ratio"]))
    for tg in rep["targets"]:
        print("  target %s, %s: %s (%s)" % (tg["variant"], tg["target"], "met" if tg["met"] else "MISSED",
                                           fmt_ms(tg["measured_ms"], T)))
    ev = rep.get("evidence") or {}
    if ev.get("pool_counters") or ev.get("pool_log"):
        print("  warm pool: %s" % ", ".join("%s %d" % kv for kv in sorted((ev.get("pool_counters") or
                                                                          ev["pool_log"]).items())))
    if ev.get("host"):
        print("  revocations of batch slots: %s; host over its slots %.1f s (longest %.1f s)" % (
            ", ".join("%s %d" % kv for kv in sorted(ev["outcomes"].items())) or "none",
            ev["host"]["oversubscribed_s"], ev["host"]["longest_span_s"]))
    print("report: %s; section in %s; run took %d s" % (JSON_OUT, README, rep["total_seconds"]))


def main():
    global SESSIOND, PLUGIN_JAR, LOG4J
    if "--report-only" in sys.argv:
        rep = json.loads(JSON_OUT.read_text())
        # The analysis of sessiond's and the drivers' logs is redone when the
        # last run's logs are still there; the measured cells are not.
        w = OUT / "spark-ttft" / "sessiond"
        if (w / "sessiond.err").exists() and rep.get("evidence"):
            runs = {k: rep["runs"][k] for k in SESSIOND_RUNS if k in rep["runs"]}
            if all((w / "events" / ("eventlog_v2_" + r["app_id"])).exists() for r in runs.values()):
                counters = rep["evidence"].get("pool_counters")
                rep["evidence"] = evidence(runs, (w / "sessiond.err").read_text(), w / "events",
                                           sorted(w.glob("batch-*.err")))
                if counters is not None:
                    # Read from sessiond's /metrics during the run: not in any log.
                    rep["evidence"]["pool_counters"] = counters
        rep["findings"] = findings(rep)
        JSON_OUT.write_text(json.dumps(rep, indent=1))
        write_section(rep)
        print_figures(rep)
        return
    for f in (SESSIOND, PLUGIN_JAR):
        if not f.exists():
            sys.exit("spark-ttft: %s is missing; build first (cmake --build build)" % f)
    work = OUT / "spark-ttft"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    # Others may rebuild build/ while this runs: every process of the run
    # uses one copy of the binaries, the one whose hashes the report names.
    snap = work / "build"
    snap.mkdir()
    SESSIOND = Path(shutil.copy2(SESSIOND, snap / "sessiond"))
    PLUGIN_JAR = Path(shutil.copy2(PLUGIN_JAR, snap / "spark-session-backend.jar"))
    LOG4J = log4j2_config(work)
    mach = machine()
    load = LoadSampler()
    t0 = time.time()
    runs = {}
    for phase in CONFIG["phases"]:
        (work / phase).mkdir()
        if phase == "sessiond":
            runs.update(sessiond_phase(work / phase))
        elif phase == "standalone":
            runs.update(standalone_phase(work / phase))
        else:
            sys.exit("spark-ttft: unknown phase %r (sessiond, standalone)" % phase)
    evidence_ = runs.pop("_evidence", None)
    rep = build_report(runs, mach, time.time() - t0)
    rep["machine"]["load_average_end"] = " ".join(open("/proc/loadavg").read().split()[:3])
    rep["machine"]["load_1min_during_run"] = load.stop()
    rep["evidence"] = evidence_
    rep["findings"] = findings(rep)
    OUT.mkdir(parents=True, exist_ok=True)
    JSON_OUT.write_text(json.dumps(rep, indent=1))
    write_section(rep)
    print_figures(rep)


if __name__ == "__main__":
    # Ended from outside: still stop what this run started (atexit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
