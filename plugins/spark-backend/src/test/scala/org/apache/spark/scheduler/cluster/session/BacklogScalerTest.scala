// The streaming backlog policy on a hand-driven clock and topic: prompt
// growth, no flapping on an oscillating backlog, one-step shrink to the
// minimum after a drain, and the min/max bounds.
package org.apache.spark.scheduler.cluster.session

import org.junit.Assert._
import org.junit.Test

import org.apache.spark.scheduler.cluster.session.BacklogScaler.{Config, Observation}

class BacklogScalerTest {
  private var now = 0L
  private var produced = 0L  // the topic's latest offsets, summed

  private def scaler(min: Long = 1, max: Long = 8, drainMs: Long = 10000, low: Long = 100, holdMs: Long = 30000) =
    new BacklogScaler(Config(min, max, drainMs, low, holdMs), () => now)

  // A micro-batch that read `rows` at 100 rows/s per slot on `held` slots.
  private def batch(backlog: Long, held: Long, rows: Long = 500) =
    Observation(backlog, Some(produced), processedRowsPerSecond = 100.0 * held, numInputRows = rows, slotsHeld = held)

  private def idle(held: Long) = Observation(0, Some(produced), 0, 0, held)

  @Test def growsAtOnceToDrainWithinTheTarget(): Unit = {
    val s = scaler()
    assertEquals(1L, s.slots)
    // 100 rows/s per slot; 4000 behind must drain in 10 s: 400 rows/s, 4 slots.
    assertEquals(4L, s.observe(batch(4000, held = 1)))
    assertEquals(Some(100.0), s.rowsPerSlotPerSecond)
    // Arrivals count too: 200 rows/s produced plus 4000 / 10 s = 6 slots.
    now += 1000
    produced += 200
    assertEquals(6L, s.observe(batch(4000, held = 4)))
    assertEquals(200.0, s.arrivalPerSecond, 1e-9)
  }

  @Test def readingFastIsNotArriving(): Unit = {
    // maxOffsetsPerTrigger makes Spark's input rate the read rate: a session
    // draining a backlog that stopped growing does not grow on it.
    val s = scaler()
    produced = 3000
    assertEquals(3L, s.observe(batch(3000, held = 1)))
    for (b <- Seq(2500L, 2000L, 1500L)) {
      now += 1700
      assertEquals(3L, s.observe(batch(b, held = 3)))
    }
    assertEquals(0.0, s.arrivalPerSecond, 1e-9)
  }

  @Test def arrivalsFromTheBacklogWhenNoLatestOffsets(): Unit = {
    val s = scaler()
    s.observe(Observation(1000, None, 100, 100, 1))
    now += 2000
    s.observe(Observation(1200, None, 100, 200, 1))  // grew 200 while 200 were read
    assertEquals(200.0, s.arrivalPerSecond, 1e-9)
  }

  @Test def aSmallBacklogItsSlotsDrainInTimeDoesNotGrow(): Unit = {
    val s = scaler()
    assertEquals(1L, s.observe(batch(900, held = 1)))  // 90 rows/s needed of 100
    now += 1000
    assertEquals(1L, s.observe(batch(100, held = 1)))
  }

  @Test def withoutAMeasuredRateABacklogDoubles(): Unit = {
    val s = scaler(min = 2)
    assertEquals(4L, s.observe(Observation(5000, None, 0, 0, slotsHeld = 2)))
    assertEquals(8L, s.observe(Observation(5000, None, 0, 0, slotsHeld = 2)))
    assertEquals(8L, s.observe(Observation(5000, None, 0, 0, slotsHeld = 2)))  // max
  }

  @Test def shrinksOneStepPerHoldToTheMinimumAfterADrain(): Unit = {
    val s = scaler(min = 2, holdMs = 30000)
    assertEquals(6L, s.observe(batch(6000, held = 2)))
    now += 5000
    assertEquals(6L, s.observe(batch(0, held = 6)))  // drained: the hold starts
    now += 29999
    assertEquals(6L, s.slots)
    now += 1
    assertEquals(5L, s.slots)
    // The next step waits a whole hold again, with or without new batches.
    now += 29999
    assertEquals(5L, s.observe(idle(5)))
    now += 1
    assertEquals(4L, s.slots)
    for (_ <- 1 to 10) { now += 30000; s.observe(idle(s.slots)) }
    assertEquals(2L, s.slots)  // never below the minimum
    now += 300000
    assertEquals(2L, s.slots)
  }

  @Test def anOscillatingBacklogDoesNotFlap(): Unit = {
    val s = scaler(max = 16, holdMs = 30000)
    val sizes = (0 until 40).map { i =>
      now += 5000
      // A burst of 3000 every 20 s, drained before the next one.
      val backlog = if (i % 4 == 0) { produced += 3000; 3000L } else 0L
      s.observe(batch(backlog, held = s.slots))
    }
    // Grown on the first burst (300 rows/s to drain it, 600/s arriving in
    // the first 5 s: 9 slots), then held: never shrinks between bursts.
    assertEquals(3L, sizes.head)
    assertEquals(Set(9L), sizes.drop(4).toSet)
    assertTrue(sizes.sliding(2).forall { case Seq(a, b) => b >= a })
  }

  @Test def backlogReturningDuringTheHoldRestartsIt(): Unit = {
    val s = scaler(holdMs = 30000)
    s.observe(batch(3000, held = 1))  // 3 slots
    now += 1000
    s.observe(batch(0, held = 3))
    now += 25000
    s.observe(batch(250, held = 3))   // above lowBacklog: still draining
    now += 25000
    s.observe(batch(0, held = 3))
    assertEquals(3L, s.slots)        // 25 s low, not 30
    now += 30000
    assertEquals(2L, s.slots)
  }

  @Test def clampsToMinAndMax(): Unit = {
    val s = scaler(min = 2, max = 5)
    assertEquals(2L, s.slots)
    assertEquals(5L, s.observe(batch(1000000, held = 2)))
    val unbounded = scaler(min = 0, max = 0)
    assertEquals("a stream keeps one slot to report its backlog", 1L, unbounded.slots)
    assertEquals(1000L, unbounded.observe(batch(1000000, held = 1)))
    val inverted = scaler(min = 4, max = 2)
    assertEquals(4L, inverted.observe(batch(1000000, held = 4)))
  }

  @Test def anEmptyBatchLeavesTheRateAlone(): Unit = {
    val s = scaler()
    s.observe(batch(0, held = 2))
    now += 1000
    s.observe(idle(2))
    assertEquals(Some(100.0), s.rowsPerSlotPerSecond)
  }
}
