#!/usr/bin/env python3
"""The main job's Spark demo against a running sessiond: a batch application
in one tenant fills the cluster, then a notebook-style interactive session
arrives in another tenant that owns part of it and takes its share back.

Everything is stock Spark: the batch job is examples/spark/batch_job.py
submitted with spark-submit --master spark-session://HOST:PORT, the
interactive one a PySpark driver built with session_scheduler.spark's
spark_session(). Prints a timeline of the slots each consumer holds (polled
from the admin API every half second), the interactive session's time to
its first task, and whether every job returned the right result. Exits
non-zero when one did not."""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "build" / "python"), str(ROOT / "client" / "python")]

import session_scheduler as ss  # noqa: E402
from session_scheduler.spark import find_plugin_jar  # noqa: E402

BATCH_JOB = ROOT / "examples" / "spark" / "batch_job.py"
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
# Small everywhere: the demo must run beside other work on two cores.
SMALL = {"spark.ui.enabled": "false", "spark.driver.memory": "512m", "spark.executor.memory": "512m"}


def sum_squares(n):
    return (n - 1) * n * (2 * n - 1) // 6


class Timeline:
    """Polls the admin API and prints a line whenever the slots held per
    consumer change; events from the demo are printed on the same clock."""

    def __init__(self, client, interval=0.5):
        self.client = client
        self.interval = interval
        self.t0 = time.time()
        self.lock = threading.Lock()
        self.alloc = {}
        self.revoking = 0
        self.first_executor_s = {}  # session id -> registered to first executor running, seconds
        self.stop_flag = threading.Event()
        self.alloc, self.revoking, _ = self._sample()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        tree = self.client.admin.get_tree()
        status = self.client.admin.status()
        alloc = {c.path: c.allocated.cpu_millis // 1000 for c in tree.consumers if c.leaf}
        for s in self.client.admin.list_sessions(""):
            if s.first_executor_ms and s.session_id not in self.first_executor_s:
                self.first_executor_s[s.session_id] = (s.first_executor_ms - s.registered_ms) / 1000
        return alloc, status.pending_revocations, status.executors

    def _run(self):
        last = None
        while not self.stop_flag.wait(self.interval):
            try:
                alloc, revoking, executors = self._sample()
            except ss.SchedulerError as e:
                self.say("admin API: %s" % e)
                continue
            with self.lock:
                self.alloc, self.revoking = alloc, revoking
            if (alloc, revoking, executors) != last:
                last = (alloc, revoking, executors)
                self.say("", executors=executors)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_flag.set()
        self.thread.join()

    def slots(self, consumer):
        with self.lock:
            return self.alloc.get(consumer, 0)

    def say(self, what, executors=None):
        with self.lock:
            cells = "  ".join("%s=%d" % (p, n) for p, n in sorted(self.alloc.items()))
            extra = ("  revoking=%d" % self.revoking) if self.revoking else ""
            execs = ("  executors=%d" % executors) if executors is not None else ""
            print("t=%6.1fs  %s%s%s  %s" % (time.time() - self.t0, cells, extra, execs, what), flush=True)


class App:
    """A child process (a Spark driver) with its output in files; started in
    its own process group so the demo can stop it and what it spawned."""

    def __init__(self, name, cmd, env, workdir):
        self.name = name
        self.out = workdir / (name + ".out")
        self.err = workdir / (name + ".err")
        self.proc = subprocess.Popen(cmd, stdout=open(self.out, "w"), stderr=open(self.err, "w"), env=env,
                                     cwd=workdir, start_new_session=True)

    def lines(self, key):
        return [l.split(None, 1)[1] for l in self.out.read_text().splitlines() if l.startswith(key + " ")]

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def tail(self, n=25):
        return "\n".join(self.err.read_text().splitlines()[-n:])


def driver_env(token):
    env = dict(os.environ)
    # Drivers and their executors' Python workers run this venv's Python.
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["PATH"] = "%s:%s" % (Path(sys.executable).parent, env.get("PATH", ""))
    env["PYTHONPATH"] = "%s:%s" % (ROOT / "build" / "python", ROOT / "client" / "python")
    # The token travels in the environment (the plugin's fallback), not on
    # command lines every user of the machine can read.
    env["SESSIOND_TOKEN"] = token
    env.pop("SPARK_HOME", None)
    return env


def task_ends(events_dir):
    """{reason: count} over the task ends of the Spark event logs under a directory."""
    out = {}
    for f in sorted(p for p in Path(events_dir).rglob("*") if p.is_file()):
        for line in f.read_text(errors="replace").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("Event") == "SparkListenerTaskEnd":
                reason = e["Task End Reason"]["Reason"]
                out[reason] = out.get(reason, 0) + 1
    return out


def wait_until(cond, what, timeout, apps=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        for app in apps:
            if app.proc.poll() is not None and app.proc.returncode != 0:
                raise SystemExit("demo: %s exited with %d while waiting for %s:\n%s"
                                 % (app.name, app.proc.returncode, what, app.tail()))
        time.sleep(0.2)
    raise SystemExit("demo: timed out after %ds waiting for %s" % (timeout, what))


def interactive_driver(args):
    """The notebook-style session, in its own process as a kernel would be."""
    from session_scheduler.spark import spark_session

    conf = dict(SMALL)
    conf.update(json.loads(args.conf_json))
    t = time.time()
    spark = spark_session(args.consumer, sla="interactive", server=args.server, app_name="notebook",
                          jar=args.jar, conf=conf)
    sc = spark.sparkContext
    print("READY %s %.1f" % (sc.applicationId, time.time() - t), flush=True)
    # PySpark has no listener for task starts, so a thread watches Spark's
    # status tracker while a one-task job runs: the task counts as started
    # once its stage shows it active or done.
    started = []
    done = threading.Event()

    def watch(t0):
        tracker = sc.statusTracker()
        while not done.is_set():
            for stage in tracker.getActiveStageIds():
                info = tracker.getStageInfo(stage)
                if info and (info.numActiveTasks or info.numCompletedTasks):
                    started.append(time.time() - t0)
                    return
            time.sleep(0.05)

    t = time.time()
    watcher = threading.Thread(target=watch, args=(t,), daemon=True)
    watcher.start()
    first = sc.parallelize([20], 1).map(lambda x: x + 1).collect()
    result_s = time.time() - t
    done.set()
    watcher.join()
    print("FIRST_TASK %.2f %.2f %s" % (started[0] if started else result_s, result_s, first[0]), flush=True)

    # A wider cell: as many tasks as the consumer's tenant owns, so its
    # session grows by taking back more of what the batch tenant borrowed.
    def slow(part):
        time.sleep(args.sleep)
        return (x * x for x in part)

    t = time.time()
    total = sc.parallelize(range(args.n), args.partitions).mapPartitions(slow).sum()
    print("WIDE %.2f %d" % (time.time() - t, total), flush=True)
    spark.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default=os.environ.get("SESSIOND_SERVER", "127.0.0.1:7420"))
    p.add_argument("--token-file", default="data/admin.token", help="admin token (or $SESSIOND_TOKEN)")
    p.add_argument("--jar", default=None, help="the plugin jar (default: build/jars/spark-session-backend.jar)")
    p.add_argument("--workdir", default="data/spark-demo", help="drivers' output and Spark event logs")
    p.add_argument("--batch-consumer", default="/A")
    p.add_argument("--interactive-consumer", default="/B/B1")
    p.add_argument("--batch-apps", type=int, default=1,
                   help="batch applications, each a spark-submit running Spark jobs (rounds) until the "
                        "notebook is done")
    p.add_argument("--rounds", type=int, default=2, help="rounds each batch application runs at least")
    p.add_argument("--partitions", type=int, default=16)
    # Longer than the 3s grace of examples/daemon/demo.yaml, so some preempted
    # tasks are killed at the deadline and re-run: the results must not change.
    p.add_argument("--sleep", type=float, default=5.0, help="seconds each batch task sleeps")
    p.add_argument("--interactive-partitions", type=int, default=6)
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Spark setting for every application (e.g. an executor env mark)")
    p.add_argument("--interactive-driver", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--conf-json", default="{}", help=argparse.SUPPRESS)
    p.add_argument("--consumer", help=argparse.SUPPRESS)
    p.add_argument("-n", type=int, default=100000, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.interactive_driver:
        # Internal: the interactive session's own process (see below).
        return interactive_driver(args)

    token = os.environ.get("SESSIOND_TOKEN") or Path(args.token_file).read_text().strip()
    jar = args.jar or find_plugin_jar()
    extra = dict(kv.split("=", 1) for kv in args.conf)
    client = ss.connect(args.server, token=token)
    status = client.admin.status()
    capacity = status.capacity.cpu_millis // 1000
    print("sessiond %s at %s: %d slots on %s" % (status.version, args.server, capacity,
                                                 ", ".join("%s (%d)" % (h.name, h.capacity.cpu_millis // 1000)
                                                           for h in status.hosts)), flush=True)
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = driver_env(token)

    timeline = Timeline(client).start()
    # A previous run killed halfway leaves sessions that expire with their lease.
    wait_until(lambda: sum(timeline.alloc.values()) == 0, "earlier sessions to end", 60)

    apps = []
    stop_file = workdir / "stop-batch"
    stop_file.unlink(missing_ok=True)
    try:
        batch = []
        for i in range(args.batch_apps):
            name = "batch-%d" % (i + 1)
            events = workdir / "events" / name
            shutil.rmtree(events, ignore_errors=True)  # a previous run's logs would be counted
            events.mkdir(parents=True)
            conf = dict(SMALL, **{
                "spark.session.consumer": args.batch_consumer,
                "spark.session.sla": "batch",
                "spark.eventLog.enabled": "true",
                "spark.eventLog.dir": str(events),
                "spark.eventLog.compress": "false",
                # Keeps the executors through the tail of one round and the
                # start of the next, rather than a JVM restart per round.
                "spark.session.demandHold": "30s",
            })
            conf.update(extra)
            cmd = [str(SPARK_SUBMIT), "--master", "spark-session://%s" % args.server, "--driver-class-path", jar,
                   "--name", name]
            for k, v in conf.items():
                cmd += ["--conf", "%s=%s" % (k, v)]
            cmd += [str(BATCH_JOB), "--partitions", str(args.partitions), "--sleep", str(args.sleep),
                    "--rounds", str(args.rounds), "--until", str(stop_file), "-n", str(args.n)]
            app = App(name, cmd, env, workdir)
            app.events = events
            batch.append(app)
            apps.append(app)
            timeline.say("%s: spark-submit in %s (sla batch, rounds of %d tasks sleeping %.0fs)"
                         % (name, args.batch_consumer, args.partitions, args.sleep))

        def batch_holds_everything():
            if timeline.slots(args.batch_consumer) < capacity:
                return False
            # Held and used: its executors run tasks, so what follows preempts real work.
            sessions = client.admin.list_sessions(args.batch_consumer)
            execs = [e for s in sessions for e in s.executors if e.slots > 0]
            return execs and all(e.state == ss.api.ExecutorState.RUNNING and e.acknowledged for e in execs)

        wait_until(batch_holds_everything, "the batch tenant to hold every slot", 180, batch)
        timeline.say("%s holds all %d slots with running executors" % (args.batch_consumer, capacity))

        cmd = [sys.executable, str(Path(__file__).resolve()), "--interactive-driver", "--server", args.server,
               "--consumer", args.interactive_consumer, "--jar", jar, "--conf-json", json.dumps(extra),
               "--partitions", str(args.interactive_partitions), "--sleep", "3", "-n", str(args.n)]
        asked = time.time()
        inter = App("notebook", cmd, env, workdir)
        apps.append(inter)
        timeline.say("notebook: interactive session starts in %s" % args.interactive_consumer)
        wait_until(lambda: inter.lines("READY"), "the notebook's SparkContext", 180, [inter])
        timeline.say("notebook: SparkSession ready (%.1fs after the process started; spark_session() took %ss)"
                     % (time.time() - asked, inter.lines("READY")[0].split()[1]))
        wait_until(lambda: inter.lines("FIRST_TASK"), "the notebook's first task", 180, [inter])
        ttft, result_s, first = inter.lines("FIRST_TASK")[0].split()
        timeline.say("notebook: a one-task job's task started %ss after submit, its result came after %ss"
                     % (ttft, result_s))
        wait_until(lambda: inter.proc.poll() is not None, "the notebook to finish", 300, [inter])
        timeline.say("notebook: done (exit %d)" % inter.proc.returncode)
        wait_until(lambda: timeline.slots(args.batch_consumer) == capacity,
                   "the batch tenant to take the cluster back", 60, batch)
        timeline.say("%s has all %d slots again; the batch job finishes its round and ends"
                     % (args.batch_consumer, capacity))
        stop_file.touch()
        for app in batch:
            wait_until(lambda: app.proc.poll() is not None, "%s to finish" % app.name, 600, [app])
            timeline.say("%s: done (exit %d)" % (app.name, app.proc.returncode))
        wait_until(lambda: sum(timeline.alloc.values()) == 0, "sessions to end", 60)
        timeline.say("every session ended; executors stopped")
    finally:
        timeline.stop()
        for app in apps:
            app.kill()

    # The verdict: every job's answer, and what preemption cost the batch job.
    ok = True
    expected = sum_squares(args.n)
    print("\nresults")
    for app in batch:
        rounds = [r.split() for r in app.lines("ROUND")]
        good = app.proc.returncode == 0 and len(rounds) >= args.rounds and \
            all(int(v) == expected for _, v in rounds)
        ok &= good
        ends = task_ends(app.events)
        print("  %s (%s, batch): %s  %d rounds, each = %d; task ends: %s" % (
            app.name, args.batch_consumer, "correct" if good else "WRONG", len(rounds), expected,
            ", ".join("%s %d" % kv for kv in sorted(ends.items())) or "none"))
        if not good:
            print(app.tail())
    wide = inter.lines("WIDE")
    good = inter.proc.returncode == 0 and first == "21" and wide and int(wide[0].split()[1]) == expected
    ok &= bool(good)
    sid = (inter.lines("READY") or ["?"])[0].split()[0]
    print("  notebook (%s, interactive): %s  time to first task %ss (result %ss); %d-task job in %ss" % (
        args.interactive_consumer, "correct" if good else "WRONG", ttft, result_s, args.interactive_partitions,
        wide[0].split()[0] if wide else "?"))
    if sid in timeline.first_executor_s:
        print("  notebook: sessiond started its first executor %.1fs after the session registered"
              % timeline.first_executor_s[sid])
    if not good:
        print(inter.tail())
    print("demo: %s" % ("every job returned the right result" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
