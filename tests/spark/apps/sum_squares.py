"""A PySpark batch job: sums squares over N partitions, each task sleeping
SLEEP seconds first, and prints 'RESULT <sum>'. Run as many rounds as asked."""

import sys
import time

from pyspark.sql import SparkSession

partitions = int(sys.argv[1]) if len(sys.argv) > 1 else 8
sleep_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
n = 10000


def squares(part):
    # One sleep per task: long tasks without burning the machine's cores.
    if sleep_s:
        time.sleep(sleep_s)
    return [x * x for x in part]


spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
total = 0
for r in range(rounds):
    total = sc.parallelize(range(n), partitions).mapPartitions(squares).sum()
    print("ROUND %d %d" % (r, total), flush=True)
print("RESULT %d" % total, flush=True)
spark.stop()
