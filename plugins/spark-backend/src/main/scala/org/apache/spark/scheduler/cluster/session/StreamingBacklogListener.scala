// Feeds a streaming session's BacklogScaler from Structured Streaming's query
// events. Spark posts StreamingQueryListener events on the SparkContext's
// listener bus too, so a plain SparkListener added when the backend starts
// sees every query of every SparkSession, before any session exists, and the
// plugin needs no compile-time dependency on spark-sql.
package org.apache.spark.scheduler.cluster.session

import scala.util.Try
import scala.util.control.NonFatal

import org.apache.spark.internal.Logging
import org.apache.spark.scheduler.{SparkListener, SparkListenerEvent}

final class StreamingBacklogListener(
    scaler: BacklogScaler,
    slotsHeld: () => Long,
    onChange: Long => Unit)
    extends SparkListener with Logging {
  import StreamingBacklogListener._

  // Each query's last micro-batch; a session's backlog is the sum over its queries.
  private var queries = Map.empty[String, StreamingProgress.Snapshot]

  override def onOtherEvent(event: SparkListenerEvent): Unit =
    try {
      event.getClass.getName match {
        case ProgressEvent =>
          progressJson(event).flatMap(StreamingProgress.parse).foreach(observe)
        case TerminatedEvent =>
          call(event, "id").foreach(id => synchronized { queries -= id.toString })
        case _ =>
      }
    } catch { case NonFatal(e) => logWarning("Reading a streaming query's progress", e) }

  private def observe(p: StreamingProgress.Snapshot): Unit = {
    val (before, after, all) = synchronized {
      queries += p.queryId -> p
      val all = queries.values.toSeq
      val before = scaler.slots
      val o = BacklogScaler.Observation(
        backlog = all.map(_.backlog).sum,
        latestOffsets = if (all.forall(_.latestOffsets.isDefined)) Some(all.flatMap(_.latestOffsets).sum) else None,
        processedRowsPerSecond = all.map(_.processedRowsPerSecond).sum,
        numInputRows = all.map(_.numInputRows).sum,
        slotsHeld = slotsHeld())
      (before, scaler.observe(o), o)
    }
    logDebug(s"Streaming backlog ${all.backlog} records, ${all.processedRowsPerSecond} rows/s on ${all.slotsHeld} slots")
    if (after != before) {
      logInfo(s"Streaming backlog ${all.backlog} records (batch ${p.batchId}, " +
        f"${all.processedRowsPerSecond}%.0f rows/s on ${all.slotsHeld} slots): asking for $after slots, was $before")
      onChange(after)
    }
  }
}

object StreamingBacklogListener {
  val ProgressEvent = "org.apache.spark.sql.streaming.StreamingQueryListener$QueryProgressEvent"
  val TerminatedEvent = "org.apache.spark.sql.streaming.StreamingQueryListener$QueryTerminatedEvent"

  private def call(target: AnyRef, method: String): Option[AnyRef] =
    Try(Option(target.getClass.getMethod(method).invoke(target))).toOption.flatten

  /** event.progress.json, reached by reflection (see the file's header). */
  def progressJson(event: AnyRef): Option[String] =
    call(event, "progress").flatMap(call(_, "json")).collect { case s: String => s }
}
