// Giving slots back: release at once when free, kill youngest first at the
// deadline (or at once when the stage says a task cannot end in time), remove
// an executor left with no slots, answer once.
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

  @Test def theSlotsGoBackWithTheKillsAtTheDeadline(): Unit = {
    // The local deadline is a kill margin before the daemon's: the slots need
    // not wait for the daemon to take them.
    val steps = RevocationEnforcer.plan(Seq(exec("1", 4, 1, 1000)), Map(tasks("1", 5, 50, 20, 40)), Set.empty, 1000)
    assertEquals(Seq(KillTask(1, "1", "preempted by the session scheduler (ownership for /B)"), ReleaseSlots("1", 1)), steps)
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

  private def lasting(id: String, expected: Option[Long], starts: Long*) =
    id -> starts.zipWithIndex.map { case (t, i) => RunningTask(i.toLong, id, t, expectedMs = expected) }

  @Test def killsAtOnceTheTasksThatCannotEndBeforeTheDeadline(): Unit = {
    // 30 s tasks, a 1 s grace: waiting would only lose more work.
    val steps = RevocationEnforcer.plan(Seq(exec("1", 4, 1, 1000)), Map(lasting("1", Some(30000), 0, 300, 100, 200)),
      Set.empty, 400)
    assertEquals(Seq(1L), steps.collect { case KillTask(id, "1", _) => id })
    // The slot goes back with the kill, not when the task ends.
    assertEquals(ReleaseSlots("1", 1), steps.last)
  }

  @Test def anExecutorLosingEverySlotIsRemovedOnlyOnceItsTasksEnded(): Unit = {
    val steps = RevocationEnforcer.plan(Seq(exec("1", 2, 2, 1000)), Map(lasting("1", Some(30000), 0, 300)), Set.empty, 400)
    assertEquals(Seq(KillTask(1, "1", "preempted by the session scheduler (ownership for /B)"),
      KillTask(0, "1", "preempted by the session scheduler (ownership for /B)")), steps)
  }

  @Test def waitsWhileATaskMayEndInTimeToFreeTheSlot(): Unit = {
    val ending = RunningTask(9, "1", 0, expectedMs = Some(800))
    val running = lasting("1", Some(30000), 300, 100, 200)._2 :+ ending
    assertEquals(Seq.empty, RevocationEnforcer.plan(Seq(exec("1", 4, 1, 1000)), Map("1" -> running), Set.empty, 400))
    // Two slots revoked: the one ending in time covers one, the youngest doomed task goes now.
    val two = RevocationEnforcer.plan(Seq(exec("1", 4, 2, 1000)), Map("1" -> running), Set.empty, 400)
    assertEquals(Seq(0L), two.collect { case KillTask(id, "1", _) => id })
    assertFalse("the other slot is still busy", two.exists(_.isInstanceOf[ReleaseSlots]))
  }

  @Test def waitsForTheDeadlineWhenToldNotToKillEarly(): Unit =
    assertEquals(Seq.empty, RevocationEnforcer.plan(Seq(exec("1", 4, 1, 1000)),
      Map(lasting("1", Some(30000), 0, 300, 100, 200)), Set.empty, 400, killEarly = false))

  @Test def waitsForTheDeadlineWhenTheStageHasNoMeasure(): Unit =
    assertEquals(Seq.empty,
      RevocationEnforcer.plan(Seq(exec("1", 4, 1, 1000)), Map(lasting("1", None, 0, 300, 100, 200)), Set.empty, 400))
}

class TaskDurationsTest {
  @Test def noMeasureUntilAFewTasksHaveEnded(): Unit = {
    val d = new TaskDurations
    d.add(10)
    d.add(30000)
    assertEquals(None, d.median)
    d.add(29000)
    assertEquals(Some(29000L), d.median)
  }

  @Test def theMedianIsOfTheLatestTasks(): Unit = {
    val d = new TaskDurations
    (1 to TaskDurations.Window).foreach(_ => d.add(100))
    (1 to TaskDurations.Window / 2 + 1).foreach(_ => d.add(5000))
    assertEquals(Some(5000L), d.median)
  }
}
