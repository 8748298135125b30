// The spark.session.* settings: defaults, every kind of bad value named.
package org.apache.spark.scheduler.cluster.session

import org.junit.Assert._
import org.junit.Test

import org.apache.spark.scheduler.cluster.session.thrift.SlaClass

class SessionSettingsTest {
  private def parse(kv: (String, String)*) = SessionSettings.parse(kv.toMap, Map.empty, "alice")

  @Test def defaults(): Unit = {
    val s = parse("spark.app.name" -> "job").toOption.get
    assertEquals("/default", s.consumer)
    assertEquals(SlaClass.BATCH, s.sla)
    assertEquals("alice", s.user)
    assertEquals("job", s.application)
    assertEquals(0L, s.idleSlots)
    assertEquals(2000L, s.demandHoldMs)
    assertEquals(30000L, s.streamingDrainTargetMs)
    assertEquals(100L, s.streamingLowBacklog)
    assertEquals(60000L, s.streamingShrinkHoldMs)
  }

  @Test def streamingSettings(): Unit = {
    val s = parse("spark.session.sla" -> "streaming", "spark.session.streaming.drainTarget" -> "20s",
      "spark.session.streaming.lowBacklog" -> "0", "spark.session.streaming.shrinkHold" -> "5s").toOption.get
    assertEquals((20000L, 0L, 5000L), (s.streamingDrainTargetMs, s.streamingLowBacklog, s.streamingShrinkHoldMs))
    def err(kv: (String, String)) = parse(kv).swap.toOption.get
    assertTrue(err("spark.session.streaming.drainTarget" -> "50ms").contains("at least 100ms"))
    assertTrue(err("spark.session.streaming.lowBacklog" -> "-1").contains("at least 0"))
    assertTrue(err("spark.session.streaming.shrinkHold" -> "later").contains("not a duration"))
    assertTrue(SessionSettings.help.contains("spark.session.streaming.shrinkHold"))
  }

  @Test def interactiveKeepsOneSlotWarm(): Unit =
    assertEquals(1L, parse("spark.session.sla" -> "Interactive").toOption.get.idleSlots)

  @Test def unknownSettingIsNamed(): Unit = {
    val e = parse("spark.session.consumr" -> "/a").swap.toOption.get
    assertTrue(e, e.startsWith("unknown setting spark.session.consumr"))
    assertTrue(e.contains("spark.session.consumer"))
  }

  @Test def badValuesNameTheSetting(): Unit = {
    def err(kv: (String, String)) = parse(kv).swap.toOption.get
    assertTrue(err("spark.session.sla" -> "gold").startsWith("spark.session.sla=gold:"))
    assertTrue(err("spark.session.priority" -> "high").startsWith("spark.session.priority=high: not an integer"))
    assertTrue(err("spark.session.consumer" -> "bank").startsWith("spark.session.consumer=bank:"))
    assertTrue(err("spark.session.minSlots" -> "-1").contains("at least 0"))
    assertTrue(err("spark.session.heartbeatWait" -> "soon").contains("not a duration"))
    assertTrue(err("spark.session.slot.memory" -> "lots").contains("not a size"))
    assertTrue(err("spark.session.tokenFile" -> "/nonexistent/token").contains("cannot read"))
  }

  @Test def maxBelowMinIsAnError(): Unit =
    assertTrue(parse("spark.session.minSlots" -> "4", "spark.session.maxSlots" -> "2").isLeft)

  @Test def tokenFromTheEnvironment(): Unit =
    assertEquals("t0k", SessionSettings.parse(Map.empty, Map("SESSIOND_TOKEN" -> "t0k"), "u").toOption.get.token)

  @Test def tls(): Unit = {
    assertFalse(parse().toOption.get.tlsEnabled)
    assertTrue(parse("spark.session.tls" -> "true").toOption.get.tlsEnabled)
    assertTrue(parse("spark.session.tls" -> "yes").swap.toOption.get.startsWith("spark.session.tls=yes:"))
    assertTrue(parse("spark.session.tls.ca" -> "/nonexistent.pem").swap.toOption.get.contains("cannot read"))
  }

  @Test def durationsAndSizes(): Unit = {
    assertEquals(Some(1500L), SessionSettings.parseDurationMs("1500"))
    assertEquals(Some(10000L), SessionSettings.parseDurationMs("10s"))
    assertEquals(Some(120000L), SessionSettings.parseDurationMs("2min"))
    assertEquals(None, SessionSettings.parseDurationMs("-1s"))
    assertEquals(Some(4096L), SessionSettings.parseMib("4g"))
    assertEquals(Some(4096L), SessionSettings.parseMib("4Gi"))
    assertEquals(Some(512L), SessionSettings.parseMib("512m"))
  }
}
