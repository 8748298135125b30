"""A Structured Streaming job for a streaming session on sessiond: reads a
Kafka topic of numbers, spends a fixed time on each record (standing in for
per-record work such as a call to another service), and prints what every
micro-batch read. With spark.session.sla=streaming the session grows while
the topic backs up and shrinks back once it drains (docs/spark.md).

    spark-submit --master spark-session://127.0.0.1:7420 \\
        --jars "$(ls ~/.cache/session-scheduler/kafka/4.2.0/connector/*.jar | paste -sd,)" \\
        --conf spark.session.sla=streaming --conf spark.session.minSlots=1 \\
        --conf spark.session.maxSlots=4 \\
        examples/streaming/kafka_stream.py --bootstrap 127.0.0.1:9092 --topic events

Output lines: "BATCH <id> rows=<n> sum=<s> total=<t>" per micro-batch with
data, "RESULT rows=<t> sum=<s>" at the end. It stops after --expect records
or --idle-exit seconds without new data, or runs until killed."""

import argparse
import threading
import time

from pyspark.sql import SparkSession, functions as F


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers, host:port")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder (default: a temporary one)")
    ap.add_argument("--work-ms", type=int, default=10, help="time spent on each record")
    ap.add_argument("--max-per-trigger", type=int, default=500,
                    help="records per micro-batch at most; the rest waits in Kafka, where its lag is measured")
    ap.add_argument("--trigger", default="500 milliseconds", help="micro-batch interval")
    ap.add_argument("--starting-offsets", default="earliest")
    ap.add_argument("--expect", type=int, default=0, help="stop after this many records (0: never)")
    ap.add_argument("--idle-exit", type=float, default=0, help="stop after this many seconds without data (0: never)")
    args = ap.parse_args()

    spark = SparkSession.builder.appName("kafka-stream").getOrCreate()
    source = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", args.bootstrap)
              .option("subscribe", args.topic)
              .option("startingOffsets", args.starting_offsets)
              .option("maxOffsetsPerTrigger", str(args.max_per_trigger))
              .option("failOnDataLoss", "false")
              .load())
    # reflect() runs on the executors' JVMs, so the per-record wait costs
    # no CPU and no Python worker: what more slots buy is real parallelism.
    records = source.selectExpr(
        "CAST(CAST(value AS STRING) AS BIGINT) AS n",
        "reflect('java.lang.Thread', 'sleep', CAST(%d AS BIGINT)) AS worked" % args.work_ms)

    totals = {"rows": 0, "sum": 0, "last_data": time.time()}
    lock = threading.Lock()

    def per_batch(df, batch_id):
        row = df.agg(F.count("worked").alias("rows"), F.coalesce(F.sum("n"), F.lit(0)).alias("sum")).collect()[0]
        if row["rows"] == 0:
            return
        with lock:
            totals["rows"] += row["rows"]
            totals["sum"] += row["sum"]
            totals["last_data"] = time.time()
            print("BATCH %d rows=%d sum=%d total=%d" % (batch_id, row["rows"], row["sum"], totals["rows"]),
                  flush=True)

    writer = records.writeStream.foreachBatch(per_batch).trigger(processingTime=args.trigger)
    if args.checkpoint:
        writer = writer.option("checkpointLocation", args.checkpoint)
    query = writer.start()
    print("STARTED %s" % query.id, flush=True)
    try:
        while query.isActive:
            time.sleep(0.5)
            with lock:
                done = args.expect and totals["rows"] >= args.expect
                idle = args.idle_exit and time.time() - totals["last_data"] > args.idle_exit
            if done or idle:
                query.stop()
        if query.exception():
            raise query.exception()
    finally:
        with lock:
            print("RESULT rows=%d sum=%d" % (totals["rows"], totals["sum"]), flush=True)
        spark.stop()


if __name__ == "__main__":
    main()
