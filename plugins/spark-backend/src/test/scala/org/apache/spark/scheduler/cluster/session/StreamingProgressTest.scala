// Reading a Kafka stream's backlog from StreamingQueryProgress JSON as Spark
// 4 renders it.
package org.apache.spark.scheduler.cluster.session

import org.junit.Assert._
import org.junit.Test

class StreamingProgressTest {
  private val kafkaProgress =
    """{
      |  "id" : "5e1c0a5e-0000-4000-8000-000000000001",
      |  "runId" : "5e1c0a5e-0000-4000-8000-000000000002",
      |  "batchId" : 7,
      |  "numInputRows" : 600,
      |  "inputRowsPerSecond" : 120.5,
      |  "processedRowsPerSecond" : 95.0,
      |  "sources" : [ {
      |    "description" : "KafkaV2[Subscribe[events]]",
      |    "startOffset" : { "events" : { "0" : 100, "1" : 100 } },
      |    "endOffset" : { "events" : { "0" : 400, "1" : 400 } },
      |    "latestOffset" : { "events" : { "0" : 1400, "1" : 900 } },
      |    "numInputRows" : 600,
      |    "metrics" : { "avgOffsetsBehindLatest" : "750.0", "maxOffsetsBehindLatest" : "1000",
      |                  "minOffsetsBehindLatest" : "500" }
      |  } ]
      |}""".stripMargin

  @Test def kafkaSourceMetrics(): Unit = {
    val p = StreamingProgress.parse(kafkaProgress).get
    assertEquals("5e1c0a5e-0000-4000-8000-000000000001", p.queryId)
    assertEquals(7L, p.batchId)
    assertEquals(1500L, p.backlog)  // 750 per partition, 2 partitions
    assertEquals(Some(2300L), p.latestOffsets)
    assertEquals(600L, p.numInputRows)
    assertEquals(120.5, p.inputRowsPerSecond, 1e-9)
    assertEquals(95.0, p.processedRowsPerSecond, 1e-9)
  }

  @Test def offsetsWhenNoMetrics(): Unit = {
    val json = kafkaProgress.replaceAll("(?s)\"metrics\" : \\{.*?\\}", "\"metrics\" : { }")
    assertEquals(1500L, StreamingProgress.parse(json).get.backlog)  // 1000 + 500
  }

  @Test def nonKafkaSourcesAndIdleBatches(): Unit = {
    val rate =
      """{"id":"q","batchId":3,"numInputRows":0,"sources":[{"description":"RateStreamV2",
        |"startOffset":5,"endOffset":5,"latestOffset":5,"numInputRows":0}]}""".stripMargin
    val p = StreamingProgress.parse(rate).get
    assertEquals(0L, p.backlog)
    assertEquals(None, p.latestOffsets)
    assertEquals(0.0, p.processedRowsPerSecond, 0)  // an idle batch has no rate
  }

  @Test def garbageIsNone(): Unit = {
    assertTrue(StreamingProgress.parse("not json").isEmpty)
    assertTrue(StreamingProgress.parse("[1,2]").isEmpty)
  }
}
