// Follows Spark's listener events to know what the session could use: tasks
// waiting in active stages, tasks running and where, when each started (the
// revocation enforcer kills the youngest first) and how long its stage's
// finished tasks took (it kills at once a task that cannot end in time).
package org.apache.spark.scheduler.cluster.session

import java.util.concurrent.ConcurrentHashMap

import scala.jdk.CollectionConverters._

import org.apache.spark.Success
import org.apache.spark.scheduler._

final class TaskTracker extends SparkListener {
  // stage attempt -> tasks not yet started
  private val pendingByStage = new ConcurrentHashMap[(Int, Int), java.lang.Long]()
  private val runningTasks = new ConcurrentHashMap[Long, (RunningTask, (Int, Int))]()
  // stage attempt -> durations of its tasks that succeeded, the latest few
  private val durationsByStage = new ConcurrentHashMap[(Int, Int), TaskDurations]()
  // Called when a stage arrives, so new demand is reported at once rather
  // than on the next tick: it starts any revocation the session needs.
  @volatile var onNewWork: () => Unit = () => ()

  def pendingTasks: Long = pendingByStage.values().asScala.map(_.longValue).sum

  def runningCount: Long = runningTasks.size.toLong

  def running: Map[String, Seq[RunningTask]] = {
    val medians = scala.collection.mutable.HashMap.empty[(Int, Int), Option[Long]]
    runningTasks.values().asScala.toSeq.map { case (t, stage) =>
      t.copy(expectedMs = medians.getOrElseUpdate(stage, Option(durationsByStage.get(stage)).flatMap(_.median)))
    }.groupBy(_.executorId)
  }

  private def addPending(stage: (Int, Int), n: Long): Unit = {
    pendingByStage.computeIfPresent(stage, (_, v) => java.lang.Long.valueOf(math.max(0L, v + n)))
  }

  override def onStageSubmitted(e: SparkListenerStageSubmitted): Unit = {
    val info = e.stageInfo
    pendingByStage.put((info.stageId, info.attemptNumber()), java.lang.Long.valueOf(info.numTasks.toLong))
    onNewWork()
  }

  override def onStageCompleted(e: SparkListenerStageCompleted): Unit = {
    pendingByStage.remove((e.stageInfo.stageId, e.stageInfo.attemptNumber()))
    durationsByStage.remove((e.stageInfo.stageId, e.stageInfo.attemptNumber()))
  }

  override def onTaskStart(e: SparkListenerTaskStart): Unit = {
    val t = e.taskInfo
    runningTasks.put(t.taskId, (RunningTask(t.taskId, t.executorId, t.launchTime, t.attemptNumber),
      (e.stageId, e.stageAttemptId)))
    if (!t.speculative) addPending((e.stageId, e.stageAttemptId), -1)
  }

  override def onTaskEnd(e: SparkListenerTaskEnd): Unit = {
    runningTasks.remove(e.taskInfo.taskId)
    // A task that did not succeed is run again while its stage is active.
    if (e.reason != Success && !e.taskInfo.speculative) addPending((e.stageId, e.stageAttemptId), 1)
    if (e.reason == Success)
      durationsByStage.computeIfAbsent((e.stageId, e.stageAttemptId), _ => new TaskDurations)
        .add(e.taskInfo.finishTime - e.taskInfo.launchTime)
  }

  override def onExecutorRemoved(e: SparkListenerExecutorRemoved): Unit = {
    runningTasks.values().removeIf(_._1.executorId == e.executorId)
  }
}

/**
 * The latest durations of one stage's successful tasks. Their median is an
 * estimate only once a few have finished: one fast task (a cached partition,
 * an empty one) must not make the others look doomed.
 */
final class TaskDurations {
  private val window = new Array[Long](TaskDurations.Window)
  private var count = 0L

  def add(ms: Long): Unit = synchronized {
    window((count % window.length).toInt) = ms
    count += 1
  }

  def median: Option[Long] = synchronized {
    if (count < TaskDurations.AtLeast) None
    else {
      val seen = window.take(math.min(count, window.length.toLong).toInt).sorted
      Some(seen(seen.length / 2))
    }
  }
}

object TaskDurations {
  val Window = 32
  val AtLeast = 3L
}
