// The entry Spark finds through META-INF/services for spark-session:// and
// session:// masters. Settings are checked here, before anything starts, so
// a bad value fails the application at once with the setting's name.
package org.apache.spark.scheduler.cluster.session

import org.apache.spark.{SparkContext, SparkException}
import org.apache.spark.scheduler.{ExternalClusterManager, SchedulerBackend, TaskScheduler, TaskSchedulerImpl}

final class SessionClusterManager extends ExternalClusterManager {
  override def canCreate(masterURL: String): Boolean = SessionMasterUrl.matches(masterURL)

  override def createTaskScheduler(sc: SparkContext, masterURL: String): TaskScheduler = {
    if (sc.conf.getInt("spark.task.cpus", 1) != 1) {
      throw new SparkException(
        s"spark.task.cpus=${sc.conf.get("spark.task.cpus")}: the session scheduler runs one task per slot; " +
          "size the slot instead (spark.session.slot.memory) and keep spark.task.cpus at 1")
    }
    new SessionTaskScheduler(sc, new SlotLedger)
  }

  override def createSchedulerBackend(sc: SparkContext, masterURL: String, scheduler: TaskScheduler): SchedulerBackend = {
    val url = SessionMasterUrl.parse(masterURL).fold(m => throw new SparkException(m), identity)
    val settings = SessionSettings
      .parse(sc.conf.getAll.toMap, sys.env, sc.sparkUser)
      .fold(m => throw new SparkException(s"Session scheduler: $m"), identity)
    new SessionSchedulerBackend(scheduler.asInstanceOf[SessionTaskScheduler], sc, url, settings)
  }

  override def initialize(scheduler: TaskScheduler, backend: SchedulerBackend): Unit =
    scheduler.asInstanceOf[TaskSchedulerImpl].initialize(backend)
}
