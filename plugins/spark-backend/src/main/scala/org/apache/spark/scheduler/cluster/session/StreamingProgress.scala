// Reads what the backlog policy needs from a StreamingQueryProgress, given as
// the JSON Spark renders it (progress.json): the plugin then needs no
// compile-time dependency on spark-sql, and the parsing is testable alone.
package org.apache.spark.scheduler.cluster.session

import scala.jdk.CollectionConverters._
import scala.util.Try

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}

object StreamingProgress {

  /** One query's last micro-batch: backlog summed over its Kafka sources. */
  final case class Snapshot(
      queryId: String,
      batchId: Long,
      backlog: Long,
      latestOffsets: Option[Long],
      inputRowsPerSecond: Double,
      processedRowsPerSecond: Double,
      numInputRows: Long)

  private val mapper = new ObjectMapper()

  def parse(json: String): Option[Snapshot] =
    Try(mapper.readTree(json)).toOption.filter(_.isObject).map { root =>
      val sources = Option(root.get("sources")).filter(_.isArray).map(_.elements.asScala.toSeq).getOrElse(Nil)
      Snapshot(
        queryId = text(root, "id").orElse(text(root, "runId")).getOrElse(""),
        batchId = number(root, "batchId").map(_.toLong).getOrElse(-1L),
        backlog = sources.flatMap(sourceBacklog).sum,
        latestOffsets = {
          val kafka = sources.filter(s => partitionOffsets(s.get("endOffset")).isDefined)
          val latest = kafka.map(s => partitionOffsets(s.get("latestOffset")).map(_.values.sum))
          if (kafka.nonEmpty && latest.forall(_.isDefined)) Some(latest.flatten.sum) else None
        },
        inputRowsPerSecond = number(root, "inputRowsPerSecond").getOrElse(0.0),
        processedRowsPerSecond = number(root, "processedRowsPerSecond").getOrElse(0.0),
        numInputRows = number(root, "numInputRows").map(_.toLong).getOrElse(0L))
    }

  /**
   * Records a source is behind: the Kafka source's average lag per
   * partition times its partitions, else the latest offsets minus the
   * offsets read, partition by partition. None for a source that is not
   * Kafka-like (its offsets are not topic -> partition -> offset).
   */
  def sourceBacklog(source: JsonNode): Option[Long] = {
    val end = partitionOffsets(source.get("endOffset"))
    val latest = partitionOffsets(source.get("latestOffset"))
    val avgBehind = Option(source.get("metrics")).flatMap(m => number(m, "avgOffsetsBehindLatest"))
    (avgBehind, end) match {
      case (Some(avg), Some(e)) if e.nonEmpty => Some(math.round(avg * e.size))
      case _ =>
        for (e <- end; l <- latest)
          yield l.map { case (tp, off) => math.max(0L, off - e.getOrElse(tp, off)) }.sum
    }
  }

  /** {"topic": {"0": 12, "1": 40}} as ((topic, partition) -> offset). */
  private def partitionOffsets(node: JsonNode): Option[Map[(String, String), Long]] =
    Option(node).filter(_.isObject).flatMap { n =>
      val pairs = n.fields.asScala.toSeq.flatMap { t =>
        if (!t.getValue.isObject) Seq(None)
        else t.getValue.fields.asScala.toSeq.map(p =>
          if (p.getValue.canConvertToLong) Some((t.getKey, p.getKey) -> p.getValue.asLong) else None)
      }
      if (pairs.nonEmpty && pairs.forall(_.isDefined)) Some(pairs.flatten.toMap) else None
    }

  private def text(n: JsonNode, field: String): Option[String] =
    Option(n.get(field)).filter(_.isTextual).map(_.asText)

  // Spark writes rates as numbers and source metrics as strings.
  private def number(n: JsonNode, field: String): Option[Double] =
    Option(n.get(field)).flatMap { v =>
      if (v.isNumber) Some(v.asDouble)
      else if (v.isTextual) v.asText.toDoubleOption
      else None
    }.filter(d => !d.isNaN && !d.isInfinite)
}
