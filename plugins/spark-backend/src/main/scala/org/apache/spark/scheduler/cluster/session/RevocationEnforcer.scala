// The policy of giving slots back, kept pure so it is tested without Spark:
// stop placing tasks at once (the ledger's cap does that), let running tasks
// finish, and at the deadline kill the excess task by task, youngest first so
// the least work is lost — but first runs before retries, so one partition is
// not killed again and again. Slots are released as soon as they are free, which
// is usually long before the deadline. A task its stage's finished tasks say
// cannot end before the deadline is killed at once instead: it would be killed
// anyway, and killing it now loses less work and hands the slot over a whole
// grace period sooner.
package org.apache.spark.scheduler.cluster.session

/**
 * A running task as the enforcer sees it; attempt 0 is the task's first run.
 * `expectedMs` is how long its stage's tasks take (the median of those that
 * succeeded), when enough have.
 */
final case class RunningTask(
    taskId: Long,
    executorId: String,
    startedMs: Long,
    attempt: Int = 0,
    expectedMs: Option[Long] = None) {

  /** True when the task should still be running at `atMs` by its stage's measure. */
  def overruns(atMs: Long): Boolean = expectedMs.exists(d => startedMs + d > atMs)
}

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
   * @param killEarly  kill at once the tasks sure to be killed at the deadline
   */
  def plan(
      executors: Iterable[LeasedExecutor],
      running: Map[String, Seq[RunningTask]],
      released: Set[(String, Long)],
      nowMs: Long,
      killEarly: Boolean = true): Seq[RevocationStep] = {
    executors.toSeq.filter(e => e.live && e.revoking > 0 && !released.contains((e.id, e.revocationId))).flatMap { e =>
      val tasks = running.getOrElse(e.id, Seq.empty)
      val excess = tasks.size - e.usable
      if (excess <= 0) {
        if (e.usable == 0) Seq(RemoveExecutor(e.id, e.reason)) else Seq(ReleaseSlots(e.id, e.revoking))
      } else {
        // Before the deadline only tasks sure to be killed at it go, and only
        // as many as the tasks that may still end in time do not cover.
        val atDeadline = nowMs >= e.deadlineMs
        val doomed =
          if (atDeadline) tasks else if (killEarly) tasks.filter(_.overruns(e.deadlineMs)) else Seq.empty
        val kill = excess - (tasks.size - doomed.size)
        val kills = youngestFirst(doomed).take(math.max(0, kill)).map { t =>
          KillTask(t.taskId, e.id, s"preempted by the session scheduler (${if (e.reason.isEmpty) "revocation" else e.reason})")
        }
        // The slots go back with the kills, as the daemon would take them at
        // its deadline: a task's end can lag its kill by seconds (a Python
        // worker gets spark.python.task.killTimeout), and the cap already
        // keeps new tasks off them. This holds at the local deadline too,
        // which comes a kill margin before the daemon's (at least 250 ms: with
        // a grace that short, at once): waiting for the daemon's would only
        // keep the beneficiary waiting that much longer.
        if (kills.nonEmpty && kill == excess && e.usable > 0) kills :+ ReleaseSlots(e.id, e.revoking)
        else kills
      }
    }
  }

  private def youngestFirst(tasks: Seq[RunningTask]): Seq[RunningTask] =
    tasks.sortBy(t => (t.attempt > 0, -t.startedMs, -t.taskId))
}
