// Pure policy of a streaming session's size: turns the backlog its Kafka
// sources report after each micro-batch into the slots it asks for. Grows at
// once when the backlog cannot drain within the target time at the current
// size; gives slots back one at a time, and only after the backlog has stayed
// low for a hold period, so an oscillating backlog does not make it flap.
package org.apache.spark.scheduler.cluster.session

object BacklogScaler {

  /**
   * minSlots..maxSlots bound the answer (maxSlots 0: no cap). A stream never
   * goes below one slot: with none, no micro-batch would run to report the
   * backlog that should grow it again.
   */
  final case class Config(
      minSlots: Long,
      maxSlots: Long,
      drainTargetMs: Long,
      lowBacklog: Long,
      shrinkHoldMs: Long)

  object Config {
    def from(s: SessionSettings): Config =
      Config(s.minSlots, s.maxSlots, s.streamingDrainTargetMs, s.streamingLowBacklog, s.streamingShrinkHoldMs)
  }

  /**
   * One micro-batch as the stream saw it: records still behind the latest
   * offsets, the sum of those latest offsets when known, the rate Spark
   * measured, the rows it read, and the slots held while it ran.
   */
  final case class Observation(
      backlog: Long,
      latestOffsets: Option[Long],
      processedRowsPerSecond: Double,
      numInputRows: Long,
      slotsHeld: Long)
}

final class BacklogScaler(config: BacklogScaler.Config, clock: () => Long) {
  import BacklogScaler._

  val floor: Long = math.max(1L, config.minSlots)
  val ceiling: Long = if (config.maxSlots > 0) math.max(config.maxSlots, floor) else Long.MaxValue

  private var target = floor
  // Rows one slot processes per second, smoothed: batch times are noisy on a
  // busy machine and one slow batch should not double the session.
  private var perSlotRate: Option[Double] = None
  // Since when the backlog has been low enough to do with one slot fewer.
  private var lowSince: Option[Long] = None
  // The previous observation, to tell how fast records arrive.
  private var previous: Option[(Long, Observation)] = None
  private var arrival = 0.0

  /** Slots wanted now; a shrink whose hold period ran out lands here. */
  def slots: Long = synchronized {
    shrinkIfHeld(clock())
    target
  }

  def rowsPerSlotPerSecond: Option[Double] = synchronized(perSlotRate)

  /** Records arriving per second, as last measured. */
  def arrivalPerSecond: Double = synchronized(arrival)

  /** Takes one micro-batch's view; returns the slots wanted after it. */
  def observe(o: Observation): Long = synchronized {
    val now = clock()
    if (o.numInputRows > 0 && o.processedRowsPerSecond > 0 && o.slotsHeld > 0) {
      val r = o.processedRowsPerSecond / o.slotsHeld
      perSlotRate = Some(perSlotRate.fold(r)(p => 0.5 * p + 0.5 * r))
    }
    arrival = arrivalRate(now, o)
    previous = Some(now -> o)
    val needed = neededSlots(o)
    if (o.backlog > config.lowBacklog && needed > target) {
      target = clamp(needed)
      lowSince = None
    } else if (o.backlog <= config.lowBacklog && needed < target) {
      if (lowSince.isEmpty) lowSince = Some(now)
    } else {
      // Still draining, or exactly sized: the hold starts over.
      lowSince = None
    }
    shrinkIfHeld(now)
    target
  }

  /**
   * Records produced per second since the previous batch: from the latest
   * offsets when both batches have them, else what the backlog grew by plus
   * what the batch read. Not Spark's inputRowsPerSecond: capped by
   * maxOffsetsPerTrigger, that is the rate the stream reads, which while it
   * drains a backlog would make every slot look one short.
   */
  private def arrivalRate(now: Long, o: Observation): Double = previous match {
    case Some((then, p)) if now > then =>
      val arrived = (p.latestOffsets, o.latestOffsets) match {
        case (Some(a), Some(b)) => b - a
        case _ => o.backlog - p.backlog + o.numInputRows
      }
      math.max(0.0, arrived * 1000.0 / (now - then))
    case _ => arrival
  }

  /**
   * Slots that keep up with the input and drain the backlog within the
   * target time at the measured per-slot rate. Before any rate is known a
   * backlog doubles the session, which the first measured batch corrects.
   */
  private def neededSlots(o: Observation): Long = perSlotRate match {
    case Some(r) =>
      val wantedRate = arrival + o.backlog * 1000.0 / math.max(1L, config.drainTargetMs)
      val n = math.ceil(wantedRate / r - 1e-9)
      if (n >= Long.MaxValue.toDouble) Long.MaxValue else math.max(floor, n.toLong)
    case None =>
      if (o.backlog > config.lowBacklog) math.max(target + 1, if (target > Long.MaxValue / 2) Long.MaxValue else target * 2)
      else floor
  }

  private def shrinkIfHeld(now: Long): Unit =
    lowSince.foreach { since =>
      if (now - since >= config.shrinkHoldMs && target > floor) {
        target -= 1
        // Each further slot waits a whole hold period again.
        lowSince = if (target > floor) Some(now) else None
      }
    }

  private def clamp(n: Long): Long = math.min(ceiling, math.max(floor, n))
}
