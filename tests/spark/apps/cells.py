"""A notebook-like PySpark driver: waits for a cue file before each 'cell'
(a job of N partitions sleeping S seconds), printing CELL <i> <result> after
each and RESULT at the end. Lets a test act between cells."""

import os
import sys
import time

from pyspark.sql import SparkSession

cue_dir = sys.argv[1]
cells = int(sys.argv[2])
partitions = int(sys.argv[3])
sleep_s = float(sys.argv[4])


def work(part):
    time.sleep(sleep_s)
    return [x * x for x in part]


spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
print("READY", flush=True)
total = 0
for i in range(cells):
    cue = os.path.join(cue_dir, "cell%d" % i)
    while not os.path.exists(cue):
        time.sleep(0.1)
    total = sc.parallelize(range(1000), partitions).mapPartitions(work).sum()
    print("CELL %d %d" % (i, total), flush=True)
print("RESULT %d" % total, flush=True)
spark.stop()
