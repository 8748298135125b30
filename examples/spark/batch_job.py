"""A PySpark batch job to run with spark-submit against sessiond: sums the
squares of 0..N-1 in several rounds (one Spark job each) and prints
'ROUND <i> <sum>' per round and 'RESULT <sum>' at the end. With --until FILE
it keeps going after --rounds until FILE exists, so a demo can keep it busy
for as long as it needs, however slow the machine.

    spark-submit --master spark-session://127.0.0.1:7420 \\
        --driver-class-path build/jars/spark-session-backend.jar \\
        --conf spark.session.consumer=/A --conf spark.session.sla=batch \\
        examples/spark/batch_job.py --partitions 16 --sleep 2 --rounds 4
"""

import argparse
import os
import time

from pyspark.sql import SparkSession


def main():
    p = argparse.ArgumentParser(description="Sum of squares in rounds; tasks sleep instead of computing hard.")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--sleep", type=float, default=0.0, help="seconds each task sleeps")
    p.add_argument("--rounds", type=int, default=1, help="rounds to run at least")
    p.add_argument("--until", metavar="FILE", help="after --rounds, go on until FILE exists")
    p.add_argument("-n", type=int, default=100000)
    args = p.parse_args()

    def squares(part):
        # Sleeping makes long tasks that hold slots (and so can be preempted)
        # without taking the machine's cores from everyone else.
        if args.sleep:
            time.sleep(args.sleep)
        return (x * x for x in part)

    spark = SparkSession.builder.appName("batch-sum-squares").getOrCreate()
    sc = spark.sparkContext
    total = None
    r = 0
    while r < args.rounds or (args.until and not os.path.exists(args.until)):
        total = sc.parallelize(range(args.n), args.partitions).mapPartitions(squares).sum()
        print("ROUND %d %d" % (r, total), flush=True)
        r += 1
    print("RESULT %d" % total, flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
