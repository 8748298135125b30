// Follows Spark's listener events to know what the session could use: tasks
// waiting in active stages, tasks running and where, and when each started
// (the revocation enforcer kills the youngest first).
package org.apache.spark.scheduler.cluster.session

import java.util.concurrent.ConcurrentHashMap

import scala.jdk.CollectionConverters._

import org.apache.spark.Success
import org.apache.spark.scheduler._

final class TaskTracker extends SparkListener {
  // stage attempt -> tasks not yet started
  private val pendingByStage = new ConcurrentHashMap[(Int, Int), java.lang.Long]()
  private val runningTasks = new ConcurrentHashMap[Long, RunningTask]()
  // Called when a stage arrives, so new demand is reported at once rather
  // than on the next tick: it starts any revocation the session needs.
  @volatile var onNewWork: () => Unit = () => ()

  def pendingTasks: Long = pendingByStage.values().asScala.map(_.longValue).sum

  def runningCount: Long = runningTasks.size.toLong

  def running: Map[String, Seq[RunningTask]] = runningTasks.values().asScala.toSeq.groupBy(_.executorId)

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
  }

  override def onTaskStart(e: SparkListenerTaskStart): Unit = {
    val t = e.taskInfo
    runningTasks.put(t.taskId, RunningTask(t.taskId, t.executorId, t.launchTime, t.attemptNumber))
    if (!t.speculative) addPending((e.stageId, e.stageAttemptId), -1)
  }

  override def onTaskEnd(e: SparkListenerTaskEnd): Unit = {
    runningTasks.remove(e.taskInfo.taskId)
    // A task that did not succeed is run again while its stage is active.
    if (e.reason != Success && !e.taskInfo.speculative) addPending((e.stageId, e.stageAttemptId), 1)
  }

  override def onExecutorRemoved(e: SparkListenerExecutorRemoved): Unit = {
    runningTasks.values().removeIf(_.executorId == e.executorId)
  }
}
