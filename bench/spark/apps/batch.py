"""The benchmark's batch tenant: a PySpark job whose tasks sleep long, in
rounds of many partitions, so it keeps every slot it is given busy until
told to stop. A side thread writes how many of its tasks run right now to a
status file: the benchmark starts the interactive driver only once the batch
jobs really hold every core, not merely once their executors exist.

    batch.py PARTITIONS SLEEP_S STATUS_FILE STOP_FILE"""

import os
import sys
import threading
import time

from pyspark.sql import SparkSession

partitions = int(sys.argv[1])
sleep_s = float(sys.argv[2])
status_file = sys.argv[3]
stop_file = sys.argv[4]


def sleepy(part):
    # Sleeping, not spinning: long tasks that hold a slot without taking the
    # 2-core machine away from the drivers being measured.
    time.sleep(sleep_s)
    return [sum(part)]


spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
stopping = threading.Event()


def watch():
    tracker = sc.statusTracker()
    while not stopping.is_set():
        running = 0
        for sid in tracker.getActiveStageIds():
            info = tracker.getStageInfo(sid)
            if info:
                running += info.numActiveTasks
        tmp = status_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %d\n" % (running, int(time.time() * 1000)))
        os.replace(tmp, status_file)
        if os.path.exists(stop_file):
            # Cancelling lets the main loop end and stop Spark cleanly, so the
            # session is unregistered rather than left to expire.
            stopping.set()
            sc.cancelAllJobs()
            return
        time.sleep(0.5)


threading.Thread(target=watch, daemon=True).start()
rounds = 0
while not stopping.is_set():
    try:
        sc.parallelize(range(partitions * 10), partitions).mapPartitions(sleepy).sum()
        rounds += 1
    except Exception:
        if not stopping.is_set():
            raise
print("BATCH rounds=%d" % rounds, flush=True)
spark.stop()
