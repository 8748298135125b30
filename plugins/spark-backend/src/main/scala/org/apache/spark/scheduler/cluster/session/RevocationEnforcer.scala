// The policy of giving slots back, kept pure so it is tested without Spark:
// stop placing tasks at once (the ledger's cap does that), let running tasks
// finish, and at the deadline kill the excess task by task, youngest first so
// the least work is lost — but first runs before retries, so one partition is
// not killed again and again. Slots are released as soon as they are free, which
// is usually long before the deadline.
package org.apache.spark.scheduler.cluster.session

/** A running task as the enforcer sees it; attempt 0 is the task's first run. */
final case class RunningTask(taskId: Long, executorId: String, startedMs: Long, attempt: Int = 0)

sealed trait RevocationStep
object RevocationStep {
  /** Kill this task now; Spark re-runs it without counting a failure. */
  final case class KillTask(taskId: Long, executorId: String, reason: String) extends RevocationStep
  /** The revoked slots of this executor are free: give them back. */
  final case class ReleaseSlots(executorId: String, slots: Long) extends RevocationStep
  /** Nothing may run on it any more: remove it from Spark, then release it. */
  final case class RemoveExecutor(executorId: String, reason: String) extends RevocationStep
}

object RevocationEnforcer {
  import RevocationStep._

  /**
   * @param executors  the ledger's view
   * @param running    tasks running now, by executor
   * @param released   revocations already answered, as (executor id, newest
   *                   revocation id on it)
   */
  def plan(
      executors: Iterable[LeasedExecutor],
      running: Map[String, Seq[RunningTask]],
      released: Set[(String, Long)],
      nowMs: Long): Seq[RevocationStep] = {
    executors.toSeq.filter(e => e.live && e.revoking > 0 && !released.contains((e.id, e.revocationId))).flatMap { e =>
      val tasks = running.getOrElse(e.id, Seq.empty)
      val excess = tasks.size - e.usable
      if (excess <= 0) {
        if (e.usable == 0) Seq(RemoveExecutor(e.id, e.reason)) else Seq(ReleaseSlots(e.id, e.revoking))
      } else if (nowMs >= e.deadlineMs) {
        tasks.sortBy(t => (t.attempt > 0, -t.startedMs, -t.taskId)).take(excess).map { t =>
          KillTask(t.taskId, e.id, s"preempted by the session scheduler (${if (e.reason.isEmpty) "revocation" else e.reason})")
        }
      } else Seq.empty
    }
  }
}
