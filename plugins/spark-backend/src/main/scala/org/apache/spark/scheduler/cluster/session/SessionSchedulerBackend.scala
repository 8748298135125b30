// The driver's side of a session: registers with sessiond, reports demand,
// long-polls directives and carries them out on Spark's coarse-grained
// backend — slot caps through the task scheduler, revocations task by task,
// executor removal only after telling the driver so Spark never counts a
// preemption as a failure — and unregisters on stop.
package org.apache.spark.scheduler.cluster.session

import java.net.InetAddress
import java.util.concurrent.{ConcurrentHashMap, Executors, ScheduledExecutorService, ThreadFactory, TimeUnit}

import scala.concurrent.Future
import scala.jdk.CollectionConverters._
import scala.util.control.NonFatal

import org.apache.spark.{SparkContext, SparkException}
import org.apache.spark.internal.config.{DRIVER_HOST_ADDRESS, DRIVER_PORT}
import org.apache.spark.resource.ResourceProfile
import org.apache.spark.rpc.{RpcCallContext, RpcEndpointAddress}
import org.apache.spark.scheduler._
import org.apache.spark.scheduler.cluster.CoarseGrainedClusterMessages.RegisterExecutor
import org.apache.spark.scheduler.cluster.CoarseGrainedSchedulerBackend
import org.apache.spark.scheduler.cluster.session.thrift._

final class SessionSchedulerBackend(
    scheduler: SessionTaskScheduler,
    sc: SparkContext,
    url: SessionMasterUrl,
    settings: SessionSettings)
    extends CoarseGrainedSchedulerBackend(scheduler, sc.env.rpcEnv) {

  private val ledger = scheduler.ledger
  private val tracker = new TaskTracker
  private val sessionId = SessionSchedulerBackend.newSessionId()
  // Separate connections: a parked long poll never delays a release.
  private val tls =
    if (settings.tlsEnabled) Some(SchedulerTls.socketFactory(settings.tlsCaFile)) else None
  private val calls = new SchedulerConnection(url, settings.connectTimeoutMs, tls)
  private val poll = new SchedulerConnection(url, settings.connectTimeoutMs, tls)
  @volatile private var stopping = false
  @volatile private var registration: Registration = _
  private var spec: SessionSpec = _
  private val timer: ScheduledExecutorService = Executors.newSingleThreadScheduledExecutor(daemonThreads("session-scheduler-timer"))
  private val pollThread = daemonThreads("session-scheduler-directives").newThread(() => pollLoop())
  // Revocations already answered, by (executor, newest revocation id on it).
  private val answered = ConcurrentHashMap.newKeySet[(String, Long)]()
  private val killedTasks = ConcurrentHashMap.newKeySet[java.lang.Long]()
  private val acknowledged = ConcurrentHashMap.newKeySet[String]()
  // (time, slots wanted) samples over the demand-hold window.
  private var demandWindow = Vector.empty[(Long, Long)]
  private var lastDemand: Option[(Long, Long, Long, Map[String, java.lang.Long])] = None
  private var lastDemandSentMs = 0L
  private var lastShrinkVersion = -1L
  private var releasing = 0L  // slots the last shrink gave back, not yet in the view
  // A streaming session is sized by its Kafka backlog, not by its tasks.
  private val backlogScaler =
    if (settings.sla == SlaClass.STREAMING)
      Some(new BacklogScaler(BacklogScaler.Config.from(settings), () => System.currentTimeMillis()))
    else None
  private var lastStreamingTarget = 0L

  override def applicationId(): String = sessionId

  override def sufficientResourcesRegistered(): Boolean = true

  override def start(): Unit = {
    ledger.bind(sessionId)
    super.start()
    tracker.onNewWork = () => later(reportDemand())
    sc.addSparkListener(tracker)
    sc.addSparkListener(new SparkListener {
      override def onExecutorAdded(e: SparkListenerExecutorAdded): Unit =
        later(acknowledge(Seq(e.executorId)))
    })
    backlogScaler.foreach(s => sc.addSparkListener(new StreamingBacklogListener(s, () => slotsHeld, _ => later(reportDemand()))))
    val driverUrl = RpcEndpointAddress(
      sc.conf.get(DRIVER_HOST_ADDRESS),
      sc.conf.get(DRIVER_PORT),
      CoarseGrainedSchedulerBackend.ENDPOINT_NAME).toString
    val hostname = settings.executorHostname.getOrElse(SessionSchedulerBackend.defaultExecutorHost(url.host))
    val secret = if (sc.conf.getBoolean("spark.authenticate", false)) Option(sc.env.securityManager.getSecretKey()) else None
    val launch = ExecutorLaunchSpec.build(sc.conf, settings, driverUrl, sessionId, hostname, secret,
      sys.env, sc.executorEnvs.toMap)
    spec = SessionSchedulerBackend.sessionSpec(settings, sessionId, launch)
    registration =
      try calls.call(_.register_session(settings.token, spec))
      catch {
        case e: SchedulerCallException =>
          throw new SparkException(
            s"The session scheduler at $url refused the session (spark.session.consumer=${settings.consumer}, " +
              s"spark.session.sla=${settings.sla.name.toLowerCase}): ${e.getMessage}", e)
      }
    logInfo(s"Session $sessionId registered with the session scheduler at $url in consumer ${settings.consumer} " +
      s"(${settings.sla.name.toLowerCase}, lease ${registration.getLease_ttl_ms} ms)")
    pollThread.start()
    timer.scheduleWithFixedDelay(() => guarded("revocations")(enforceRevocations()), 50, 50, TimeUnit.MILLISECONDS)
    timer.scheduleWithFixedDelay(() => guarded("demand")(reportDemand()), 0, settings.demandIntervalMs,
      TimeUnit.MILLISECONDS)
  }

  override def stop(): Unit = {
    stopping = true
    try super.stop()
    finally {
      timer.shutdownNow()
      pollThread.interrupt()
      try calls.call(_.unregister_session(settings.token, sessionId))
      catch { case e: SchedulerCallException => logWarning(s"Unregistering session $sessionId: ${e.getMessage}") }
      calls.close()
      poll.close()
    }
  }

  // Demand is reported by the plugin itself; dynamic allocation's target is not needed.
  override def doRequestTotalExecutors(resourceProfileToTotalExecs: Map[ResourceProfile, Int]): Future[Boolean] =
    Future.successful(true)

  /**
   * Spark has marked these executors as leaving: give them back. Called
   * under Spark's scheduler locks, so the call to sessiond runs on the timer
   * thread instead of blocking task scheduling.
   */
  override def doKillExecutors(executorIds: Seq[String]): Future[Boolean] = {
    executorIds.foreach(id => later(release(id, 0)))
    Future.successful(true)
  }

  override def createDriverEndpoint(): DriverEndpoint = new LeaseCheckingEndpoint

  /** Executors must hold a lease of this session to register. */
  private class LeaseCheckingEndpoint extends DriverEndpoint {
    override def receiveAndReply(context: RpcCallContext): PartialFunction[Any, Unit] = {
      val reject: PartialFunction[Any, Unit] = {
        case r: RegisterExecutor if !leased(r.executorId) =>
          logWarning(s"Rejected executor ${r.executorId} from ${r.hostname}: no lease of session $sessionId")
          context.sendFailure(new SparkException(
            s"executor ${r.executorId} has no lease from the session scheduler for session $sessionId"))
      }
      reject.orElse(super.receiveAndReply(context))
    }
  }

  private def leased(executorId: String): Boolean =
    ledger.isLeased(executorId) || {
      // The executor may have started faster than the long poll answered.
      try applyDirectives(calls.call(_.heartbeat(settings.token, sessionId, -1L, 0)))
      catch { case e: SchedulerCallException => logWarning(s"Checking the lease of $executorId: ${e.getMessage}") }
      ledger.isLeased(executorId)
    }

  private def pollLoop(): Unit = {
    var backoffMs = 100L
    while (!stopping) {
      try {
        val reg = registration
        val waitMs = Seq(settings.heartbeatWaitMs.toLong, reg.getMax_wait_ms.toLong, math.max(100L, reg.getLease_ttl_ms / 3))
          .min.toInt
        val d = poll.call(waitMs + settings.connectTimeoutMs)(
          _.heartbeat(settings.token, sessionId, ledger.knownVersion, waitMs))
        applyDirectives(d)
        backoffMs = 100
      } catch {
        case _: InterruptedException => return
        case e: SchedulerCallException if e.code.contains(ErrorCode.NOT_FOUND) && !stopping =>
          // The lease ran out while the daemon was unreachable: start over.
          logWarning(s"Session $sessionId is gone from the session scheduler (${e.getMessage}); registering again")
          try registration = calls.call(_.register_session(settings.token, spec))
          catch { case NonFatal(r) => logWarning(s"Registering again: ${r.getMessage}"); sleep(backoffMs) }
        case e: SchedulerCallException if !stopping =>
          logWarning(s"Directives of session $sessionId: ${e.getMessage}; retrying in $backoffMs ms")
          sleep(backoffMs)
          backoffMs = math.min(backoffMs * 2, 5000)
        case NonFatal(e) if !stopping =>
          logError(s"Directives of session $sessionId", e)
          sleep(backoffMs)
          backoffMs = math.min(backoffMs * 2, 5000)
        case NonFatal(_) => return
      }
    }
  }

  // Not the backend's own monitor: Spark takes the task scheduler's lock
  // before the backend's, and killExecutors below needs both.
  private val directivesLock = new Object

  private def applyDirectives(d: Directives): Unit = directivesLock.synchronized {
    // Equal: nothing new. Lower: the daemon restarted and counts afresh.
    if (d.getVersion == ledger.knownVersion) return
    val (before, after) = ledger.update(d, System.currentTimeMillis())
    // Answers to revocations no longer in the view are not needed any more.
    answered.removeIf { case (id, rid) => !after.get(id).exists(_.revocationId == rid) }
    val inSpark = getExecutorIds().toSet
    var grew = false
    after.values.foreach { e =>
      val was = before.get(e.id)
      if (e.usable > was.map(_.usable).getOrElse(0)) grew = true
      if (e.live && !e.acknowledged && inSpark.contains(e.id)) later(acknowledge(Seq(e.id)))
      // The daemon is taking it (lease, drain, unanswered revocation): tell
      // Spark first so the loss is not blamed on the application.
      if (!e.live && inSpark.contains(e.id) && !stopping && !executorsPendingToRemove.contains(e.id)) {
        logInfo(s"Executor ${e.id} is ${e.state.name.toLowerCase} in the session scheduler (${e.detail}); removing it")
        killExecutors(Seq(e.id), adjustTargetNumExecutors = false, countFailures = false, force = true)
      }
    }
    if (grew) reviveOffers()
  }

  private def enforceRevocations(): Unit = {
    import RevocationStep._
    val running = tracker.running
    // A kill is asked once; task ids are never reused, so ended ones can go.
    if (!killedTasks.isEmpty)
      killedTasks.retainAll(running.values.flatten.map(t => java.lang.Long.valueOf(t.taskId)).toSet.asJava)
    val steps = RevocationEnforcer.plan(ledger.all.values, running, answered.asScala.toSet,
      System.currentTimeMillis(), settings.killEarly)
    steps.foreach {
      case KillTask(taskId, executorId, reason) =>
        if (killedTasks.add(taskId)) {
          logInfo(s"Killing task $taskId on executor $executorId: $reason")
          scheduler.killTaskAttempt(taskId, interruptThread = true, reason)
        }
      case ReleaseSlots(executorId, slots) =>
        val key = (executorId, ledger.get(executorId).map(_.revocationId).getOrElse(0L))
        answered.add(key)
        if (!release(executorId, slots)) answered.remove(key)
      case RemoveExecutor(executorId, reason) =>
        val key = (executorId, ledger.get(executorId).map(_.revocationId).getOrElse(0L))
        answered.add(key)
        logInfo(s"Giving executor $executorId back: $reason")
        if (getExecutorIds().contains(executorId))
          killExecutors(Seq(executorId), adjustTargetNumExecutors = false, countFailures = false, force = true)
        else if (!release(executorId, 0)) answered.remove(key)
    }
  }

  private def daemonId(executorId: String): String = ledger.get(executorId).map(_.daemonId).getOrElse(executorId)

  private def release(executorId: String, slots: Long): Boolean =
    try {
      calls.call(_.release(settings.token, sessionId, daemonId(executorId), slots))
      true
    } catch {
      case e: SchedulerCallException =>
        if (e.code.contains(ErrorCode.NOT_FOUND)) true
        else { logWarning(s"Releasing ${if (slots > 0) s"$slots slots of " else ""}$executorId: ${e.getMessage}"); false }
    }

  private def acknowledge(ids: Seq[String]): Unit = {
    val fresh = ids.filter(id => ledger.isLeased(id) && !acknowledged.contains(id))
    if (fresh.isEmpty || stopping) return
    try {
      calls.call(_.acknowledge(settings.token, sessionId, fresh.map(daemonId).asJava))
      fresh.foreach(acknowledged.add)
    } catch { case e: SchedulerCallException => logWarning(s"Acknowledging ${fresh.mkString(",")}: ${e.getMessage}") }
  }

  private def reportDemand(): Unit = {
    if (stopping) return
    val now = System.currentTimeMillis()
    val pending = tracker.pendingTasks
    val running = tracker.runningCount
    val slots = backlogScaler match {
      case Some(scaler) =>
        // Its size follows the backlog (with its own hold), so executors stay
        // between micro-batches instead of following each batch's tasks.
        val wanted = scaler.slots
        if (wanted != lastStreamingTarget) {
          logInfo(s"Streaming session $sessionId asks for $wanted slots (was $lastStreamingTarget)")
          lastStreamingTarget = wanted
        }
        math.max(wanted, shrinkTo(wanted))
      case None =>
        val wanted = math.max(pending + running, settings.idleSlots)
        demandWindow = (demandWindow :+ (now -> wanted)).filter(_._1 >= now - settings.demandHoldMs)
        val held = demandWindow.map(_._2).max
        // An interactive session keeps its slots between cells; the daemon
        // shrinks it after its idle timeout. Others never ask for less than they
        // still hold after their own releases, or the daemon would pick the slots.
        if (settings.sla != SlaClass.INTERACTIVE) math.max(held, shrinkTo(held)) else held
    }
    // Where tasks run, so a lower demand costs idle slots rather than busy ones.
    val busy = scheduler.runningTasksByExecutors.collect {
      case (id, n) if n > 0 && ledger.isLeased(id) => daemonId(id) -> java.lang.Long.valueOf(n.toLong)
    }
    val current = (pending, running, slots, busy)
    if (lastDemand.contains(current) && now - lastDemandSentMs < 5000) return
    val d = new Demand()
    d.setPending_tasks(pending)
    d.setRunning_tasks(running)
    d.setSlots(slots)
    d.setRunning_by_executor(busy.asJava)
    try {
      calls.call(_.update_demand(settings.token, sessionId, d))
      lastDemand = Some(current)
      lastDemandSentMs = now
    } catch { case e: SchedulerCallException => logWarning(s"Reporting demand: ${e.getMessage}") }
  }

  /**
   * Gives back slots beyond what the session wants before saying it wants
   * less: the daemon drops surplus slots at once and cannot know which
   * executors are idle, while the driver does. Whole idle executors go
   * first (fewer JVMs), then idle slots of busy ones; never a running task.
   * Returns the slots the session holds once its releases land.
   */
  private def shrinkTo(wanted: Long): Long = {
    // Executors under revocation count at what they keep (the daemon's view
    // too) but are left to the revocation: releasing there returns the
    // revoking slots first and frees nothing usable.
    val live = ledger.all.values.filter(e => e.live && e.usable > 0).toSeq
    val holding = live.map(_.usable.toLong).sum
    if (ledger.knownVersion <= lastShrinkVersion) return holding - releasing  // the last shrink is not in the view yet
    releasing = 0
    var excess = holding - wanted
    if (excess <= 0) return holding
    val runningBy = scheduler.runningTasksByExecutors
    val inSpark = getExecutorIds().toSet
    for (e <- live.filter(_.revoking == 0).sortBy(e => (runningBy.getOrElse(e.id, 0), e.usable)) if excess > 0) {
      val idle = e.usable - runningBy.getOrElse(e.id, 0)
      if (idle > 0) {
        lastShrinkVersion = ledger.knownVersion
        if (idle == e.usable && idle <= excess) {
          // Spark refuses (force = false) if a task landed there since the
          // count above. The release goes out now, not from doKillExecutors'
          // queued call: the lower demand sent after this must find these
          // slots gone, or the daemon gives back the youngest slots it holds,
          // busy or not, and their tasks are lost with their executor.
          val gone = !inSpark.contains(e.id) ||
            killExecutors(Seq(e.id), adjustTargetNumExecutors = false, countFailures = false, force = false)
              .contains(e.id)
          if (gone && release(e.id, 0)) {
            logInfo(s"Gave back idle executor ${e.id} ($idle slots)")
            excess -= idle
            releasing += idle
          }
        } else {
          val n = math.min(idle.toLong, excess)
          if (release(e.id, n)) {
            excess -= n
            releasing += n
          }
        }
      }
    }
    holding - releasing
  }

  /** Slots usable now: granted, live, not being revoked. */
  private def slotsHeld: Long =
    ledger.all.values.filter(e => e.live && e.revoking == 0).map(_.usable.toLong).sum

  /** Runs a call to sessiond on the timer thread; dropped once stopping. */
  private def later(f: => Any): Unit =
    try timer.execute(() => guarded("call")(f))
    catch { case _: java.util.concurrent.RejectedExecutionException => () }

  private def guarded(what: String)(f: => Unit): Unit =
    try f
    catch { case NonFatal(e) => logWarning(s"Session scheduler $what task failed", e) }

  private def sleep(ms: Long): Unit =
    try Thread.sleep(ms)
    catch { case _: InterruptedException => Thread.currentThread().interrupt() }

  private def daemonThreads(name: String): ThreadFactory = (r: Runnable) => {
    val t = new Thread(r, name)
    t.setDaemon(true)
    t
  }
}

object SessionSchedulerBackend {
  private val random = new java.security.SecureRandom()

  /** Also Spark's application id: unique, sortable by time, safe in paths. */
  def newSessionId(): String = {
    val suffix = (1 to 6).map(_ => "0123456789abcdefghijklmnopqrstuvwxyz".charAt(random.nextInt(36))).mkString
    s"spark-${System.currentTimeMillis()}-$suffix"
  }

  /** Executors run where the daemon's backend runs; a loopback daemon means this machine. */
  def defaultExecutorHost(daemonHost: String): String =
    try {
      if (InetAddress.getByName(daemonHost).isLoopbackAddress) "127.0.0.1" else daemonHost
    } catch { case NonFatal(_) => daemonHost }

  def sessionSpec(s: SessionSettings, sessionId: String, launch: LaunchSpec): SessionSpec = {
    val spec = new SessionSpec()
    spec.setConsumer(s.consumer)
    spec.setUser(s.user)
    spec.setApplication(s.application)
    spec.setSla(s.sla)
    spec.setPriority(s.priority)
    val shape = new ResourceVector()
    if (s.slotMemoryMib > 0) {
      shape.setCpu_millis(1000)
      shape.setMemory_mib(s.slotMemoryMib)
    }
    spec.setSlot_shape(shape)
    spec.setMin_slots(s.minSlots)
    spec.setMax_slots(s.maxSlots)
    spec.setInitial_demand(s.idleSlots)
    spec.setLaunch(launch)
    spec.setSession_id(sessionId)
    spec.setLease_ttl_ms(s.leaseTtlMs)
    spec
  }
}
