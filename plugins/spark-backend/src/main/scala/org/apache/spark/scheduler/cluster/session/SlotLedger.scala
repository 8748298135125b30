// What the daemon granted this session, as the driver last heard it: per
// executor the slots it may use now (granted minus revoking), its state, and
// the deadline of any revocation on it, in the driver's clock. Read by the
// task scheduler on every offer; written by the directives thread.
package org.apache.spark.scheduler.cluster.session

import scala.jdk.CollectionConverters._

import org.apache.spark.scheduler.cluster.session.thrift.{Directives, ExecutorState}

final case class LeasedExecutor(
    /** Spark's executor id: the daemon's index within the session. */
    id: String,
    /** The daemon's id, "<session>-<index>", used in calls to sessiond. */
    daemonId: String,
    host: String,
    slots: Long,
    revoking: Long,
    state: ExecutorState,
    acknowledged: Boolean,
    exitCode: Int,
    detail: String,
    /**
     * When running tasks beyond the new cap are killed, local millis
     * (Long.MaxValue when nothing is revoked): a little before the deadline,
     * because at the deadline the daemon takes the slots and may stop the
     * executor, and a task lost with its executor is not a clean kill.
     */
    deadlineMs: Long,
    reason: String,
    /** The newest revocation on it (ids only grow); 0 when none. */
    revocationId: Long = 0L) {
  def usable: Int = math.max(0L, math.min(Int.MaxValue.toLong, slots - revoking)).toInt
  def live: Boolean = state == ExecutorState.LAUNCHING || state == ExecutorState.RUNNING
}

final class SlotLedger {
  @volatile private var sessionPrefix = ""

  /** Executor ids of this session start with "<session>-". */
  def bind(sessionId: String): Unit = sessionPrefix = sessionId + "-"

  def sparkId(daemonId: String): String = daemonId.stripPrefix(sessionPrefix)

  @volatile private var executors: Map[String, LeasedExecutor] = Map.empty
  @volatile private var version: Long = -1

  def knownVersion: Long = version

  /** Every executor the daemon ever told us about and still reports. */
  def all: Map[String, LeasedExecutor] = executors

  def get(id: String): Option[LeasedExecutor] = executors.get(id)

  /** Concurrent tasks the executor may run now; 0 for an unknown one. */
  def usable(id: String): Int = executors.get(id).filter(_.live).map(_.usable).getOrElse(0)

  /** An executor may register only with a live lease from the daemon. */
  def isLeased(id: String): Boolean = executors.get(id).exists(_.live)

  /**
   * Takes a new view. Server deadlines are turned into local time with the
   * server's clock in the reply, so clock skew between the machines does not
   * move a deadline. Returns (before, after) for the caller to diff.
   */
  def update(d: Directives, localNowMs: Long): (Map[String, LeasedExecutor], Map[String, LeasedExecutor]) =
    synchronized {
      val skew = localNowMs - d.getServer_time_ms
      val deadlines = d.getRevocations.asScala.groupBy(_.getExecutor_id).map { case (id, rs) =>
        val first = rs.minBy(_.getDeadline_ms)
        val actBy = first.getDeadline_ms + skew - SlotLedger.killMargin(first.getDeadline_ms - first.getIssued_ms)
        id -> (actBy, first.getReason + (if (first.getBeneficiary.nonEmpty) s" for ${first.getBeneficiary}" else ""),
          rs.map(_.getRevocation_id).max)
      }
      val before = executors
      val after = d.getExecutors.asScala.map { e =>
        val (deadline, reason, revocationId) = deadlines.getOrElse(e.getExecutor_id, (Long.MaxValue, "", 0L))
        sparkId(e.getExecutor_id) -> LeasedExecutor(
          id = sparkId(e.getExecutor_id),
          daemonId = e.getExecutor_id,
          host = e.getHost,
          slots = e.getSlots,
          revoking = e.getRevoking,
          state = e.getState,
          acknowledged = e.isAcknowledged,
          exitCode = e.getExit_code,
          detail = e.getDetail,
          deadlineMs = if (e.getRevoking > 0) deadline else Long.MaxValue,
          reason = reason,
          revocationId = if (e.getRevoking > 0) revocationId else 0L)
      }.toMap
      executors = after
      version = d.getVersion
      (before, after)
    }
}

object SlotLedger {
  /** How long before a deadline to kill: a quarter of the grace, 250 ms to 2 s. */
  def killMargin(graceMs: Long): Long = math.min(2000L, math.max(250L, graceMs / 4))
}
