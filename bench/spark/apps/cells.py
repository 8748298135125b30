"""The benchmark's interactive tenant: one long-lived PySpark driver acting
as a notebook. A first cell runs as soon as the session exists (the cold
start), then series of tiny one-task jobs ("cells"), each in its own job
group ("cell-<n>") so the benchmark can find it in Spark's event log. A cell
still waiting after the timeout is cancelled and counted as a timeout: under
a FIFO cluster manager it could otherwise wait for hours.

A series (JSON, see SPEC) is {"name", "cells", "gap_s", "loop", "keeper"}:
  loop "open":   arrivals follow the clock, gap_s apart, whatever the previous
                 cell is doing, so a stuck cell does not postpone the next
                 arrival and hide the waits it would have caused;
  loop "closed": the next cell arrives gap_s after the previous one ended,
                 for series that need the session to settle between cells;
  keeper true:   a background job of one long task occupies the session's
                 slot during the series, so each cell needs one more slot
                 (through sessiond: a slot handed over from batch to the
                 executor the session already has on the host).

    cells.py SPEC_JSON OUT_JSON
    SPEC_JSON: {"timeout_s": 60, "series": [...]}"""

import json
import sys
import threading
import time

from pyspark import InheritableThread
from pyspark.sql import SparkSession

spec = json.loads(sys.argv[1])
out_path = sys.argv[2]
timeout_s = float(spec["timeout_s"])

started = time.time()
spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
ready = time.time()
results = {}
lock = threading.Lock()


def cell(n, series):
    group = "cell-%d" % n
    sc.setJobGroup(group, "notebook cell %d (%s)" % (n, series), interruptOnCancel=True)
    timer = threading.Timer(timeout_s, sc.cancelJobGroup, args=(group,))
    timer.daemon = True
    t0 = time.time()
    timer.start()
    error = None
    try:
        value = sc.parallelize([n], 1).map(lambda x: x * 2).collect()
        ok = value == [2 * n]
        if not ok:
            error = "wrong result %r" % (value,)
    except Exception as e:  # a cancelled job surfaces as a Py4J error
        ok = False
        error = (str(e).splitlines() or [type(e).__name__])[0][:300]
    t1 = time.time()
    timer.cancel()
    with lock:
        results[n] = {"cell": n, "series": series, "group": group, "submit_ms": int(t0 * 1000),
                      "end_ms": int(t1 * 1000), "wall_ms": round((t1 - t0) * 1000, 1), "ok": ok, "error": error}


def keeper_running():
    tracker = sc.statusTracker()
    for job in tracker.getJobIdsForGroup("keeper"):
        info = tracker.getJobInfo(job)
        for sid in (info.stageIds if info else []):
            st = tracker.getStageInfo(sid)
            if st and st.numActiveTasks > 0:
                return True
    return False


def start_keeper(seconds):
    def run():
        sc.setJobGroup("keeper", "a long cell holding the session's slot", interruptOnCancel=True)
        try:
            sc.parallelize([0], 1).map(lambda x: time.sleep(seconds) or x).collect()
        except Exception:
            pass  # cancelled at the end of its series, as intended
    t = InheritableThread(target=run, daemon=True)
    t.start()
    deadline = time.time() + timeout_s
    while not keeper_running():
        if time.time() > deadline:
            raise RuntimeError("the keeper task did not start in %ds" % timeout_s)
        time.sleep(0.1)
    return t


# The first cell runs alone: it is the cold start of this session, and the
# series after it should find whatever it warmed.
n = 0
cell(n, "first")
for series in spec["series"]:
    keeper = None
    if series.get("keeper"):
        keeper = start_keeper(series["cells"] * (series["gap_s"] + timeout_s) + 60)
        time.sleep(series["gap_s"])
    threads = []
    clock = time.time() + series["gap_s"]
    for _ in range(series["cells"]):
        n += 1
        if series["loop"] == "closed":
            if threads:
                threads[-1].join()
            time.sleep(series["gap_s"])
        else:
            time.sleep(max(0.0, clock - time.time()))
            clock += series["gap_s"]
        t = InheritableThread(target=cell, args=(n, series["name"]), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(timeout_s + 30)
    if keeper:
        sc.cancelJobGroup("keeper")
        keeper.join(30)
        # Until its task end is logged: the benchmark reads task spans from the event log.
        deadline = time.time() + 15
        while keeper_running() and time.time() < deadline:
            time.sleep(0.1)

with open(out_path, "w") as f:
    json.dump({"app_id": sc.applicationId, "started_ms": int(started * 1000), "ready_ms": int(ready * 1000),
               "spec": spec, "cells": [results[k] for k in sorted(results)]}, f, indent=1)
print("CELLS done=%d ok=%d" % (len(results), sum(1 for r in results.values() if r["ok"])), flush=True)
spark.stop()
