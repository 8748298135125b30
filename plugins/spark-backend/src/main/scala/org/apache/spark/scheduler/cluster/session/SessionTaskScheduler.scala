// Spark's task scheduler with one change: an executor is offered only the
// slots the daemon grants it now, less the tasks already running there. This
// is the millisecond lever: slots move between sessions on a host without
// any JVM starting or stopping.
package org.apache.spark.scheduler.cluster.session

import org.apache.spark.SparkContext
import org.apache.spark.scheduler.{TaskDescription, TaskSchedulerImpl, WorkerOffer}

final class SessionTaskScheduler(sc: SparkContext, val ledger: SlotLedger) extends TaskSchedulerImpl(sc) {

  override def resourceOffers(
      offers: IndexedSeq[WorkerOffer],
      isAllFreeResources: Boolean): Seq[Seq[TaskDescription]] = synchronized {
    val running = runningTasksByExecutors
    var capped = false
    val allowed = offers.map { o =>
      val free = math.max(0, ledger.usable(o.executorId) - running.getOrElse(o.executorId, 0)) * CPUS_PER_TASK
      if (free < o.cores) {
        capped = true
        o.copy(cores = free)
      } else o
    }
    // Capped offers are not all of an executor's free cores any more.
    super.resourceOffers(allowed, isAllFreeResources && !capped)
  }
}
