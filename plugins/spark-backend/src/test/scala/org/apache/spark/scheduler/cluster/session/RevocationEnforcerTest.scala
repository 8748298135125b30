// Giving slots back: release at once when free, kill youngest first only at
// the deadline, remove an executor left with no slots, answer once.
package org.apache.spark.scheduler.cluster.session

import org.junit.Assert._
import org.junit.Test

import org.apache.spark.scheduler.cluster.session.RevocationStep._
import org.apache.spark.scheduler.cluster.session.thrift.ExecutorState

class RevocationEnforcerTest {
  private def exec(id: String, slots: Long, revoking: Long, deadline: Long, revocation: Long = 7) =
    LeasedExecutor(id, s"s-$id", "h1", slots, revoking, ExecutorState.RUNNING, acknowledged = true, 0, "", deadline,
      "ownership for /B", if (revoking > 0) revocation else 0)
  private def tasks(id: String, starts: Long*) = id -> starts.zipWithIndex.map { case (t, i) => RunningTask(i.toLong, id, t) }

  @Test def releasesFreeSlotsBeforeTheDeadline(): Unit = {
    val steps = RevocationEnforcer.plan(Seq(exec("1", 4, 2, 1000)), Map(tasks("1", 10, 20)), Set.empty, 0)
    assertEquals(Seq(ReleaseSlots("1", 2)), steps)
  }

  @Test def waitsForRunningTasksUntilTheDeadline(): Unit =
    assertEquals(Seq.empty, RevocationEnforcer.plan(Seq(exec("1", 4, 2, 1000)), Map(tasks("1", 1, 2, 3, 4)), Set.empty, 999))

  @Test def killsTheYoungestAtTheDeadline(): Unit = {
    val steps = RevocationEnforcer.plan(Seq(exec("1", 4, 2, 1000)), Map(tasks("1", 5, 50, 20, 40)), Set.empty, 1000)
    assertEquals(Seq(1L, 3L), steps.collect { case KillTask(id, "1", _) => id })
  }

  @Test def removesAnExecutorWithNothingLeft(): Unit = {
    val steps = RevocationEnforcer.plan(Seq(exec("1", 2, 2, 1000)), Map.empty, Set.empty, 0)
    assertEquals(Seq(RemoveExecutor("1", "ownership for /B")), steps)
  }

  @Test def answersOnce(): Unit =
    assertEquals(Seq.empty, RevocationEnforcer.plan(Seq(exec("1", 4, 2, 1000)), Map.empty, Set(("1", 7L)), 0))

  @Test def aLaterRevocationOfTheSameSizeIsAnsweredToo(): Unit =
    assertEquals(Seq(ReleaseSlots("1", 2)),
      RevocationEnforcer.plan(Seq(exec("1", 4, 2, 1000, revocation = 8)), Map.empty, Set(("1", 7L)), 0))

  @Test def retriesAreKilledLast(): Unit = {
    val running = Seq(RunningTask(1, "1", 10), RunningTask(2, "1", 50, attempt = 1), RunningTask(3, "1", 40))
    val steps = RevocationEnforcer.plan(Seq(exec("1", 3, 2, 1000)), Map("1" -> running), Set.empty, 1000)
    assertEquals(Seq(3L, 1L), steps.collect { case KillTask(id, _, _) => id })
  }

  @Test def ignoresExecutorsWithoutRevocations(): Unit =
    assertEquals(Seq.empty, RevocationEnforcer.plan(Seq(exec("1", 4, 0, Long.MaxValue)), Map(tasks("1", 1, 2, 3, 4)), Set.empty, 5000))
}
