// The one declared home of the plugin's spark.session.* settings: key,
// default, help, and a parser whose error names the setting. Unknown keys
// under spark.session. fail the application at start.
package org.apache.spark.scheduler.cluster.session

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Paths}

import scala.util.Try

import org.apache.spark.scheduler.cluster.session.thrift.SlaClass

final case class SessionSettings(
    consumer: String,
    sla: SlaClass,
    priority: Int,
    token: String,
    user: String,
    application: String,
    minSlots: Long,
    maxSlots: Long,
    idleSlots: Long,
    leaseTtlMs: Long,
    heartbeatWaitMs: Int,
    demandIntervalMs: Long,
    connectTimeoutMs: Int,
    executorHostname: Option[String],
    executorWorkDir: String,
    slotMemoryMib: Long,
    demandHoldMs: Long,
    tlsEnabled: Boolean,
    tlsCaFile: Option[String],
    streamingDrainTargetMs: Long = 30000,
    streamingLowBacklog: Long = 100,
    streamingShrinkHoldMs: Long = 60000,
    executorImage: String = "",
    backendOptions: Map[String, String] = Map.empty,
    warmStart: Boolean = true,
    killEarly: Boolean = true)

object SessionSettings {
  val Prefix = "spark.session."
  /** spark.session.backend.<option>: handed to the backend that runs the executors (see its README). */
  val BackendPrefix = "spark.session.backend."

  /** One setting: its key after the prefix, its default as text, and help. */
  final case class Setting(key: String, default: String, help: String) {
    def fullKey: String = Prefix + key
  }

  val All: Seq[Setting] = Seq(
    Setting("consumer", "/default", "consumer tree leaf the session runs in, e.g. /bank/risk"),
    Setting("sla", "batch", "SLA class: interactive, streaming or batch"),
    Setting("priority", "0", "priority among the consumer's sessions, higher first"),
    Setting("token", "", "API token; else spark.session.tokenFile, else $SESSIOND_TOKEN, else ./data/admin.token"),
    Setting("tokenFile", "", "file whose first line is the API token"),
    Setting("user", "", "user to record (default: the Spark user)"),
    Setting("application", "", "application name to record (default: spark.app.name)"),
    Setting("minSlots", "0", "slots kept while the session has work (a streaming minimum is never preempted)"),
    Setting("maxSlots", "0", "most slots the session may hold; 0: no cap"),
    Setting("idleSlots", "", "slots asked for while idle, so the next job starts at once (default: 1 for interactive, else 0)"),
    Setting("leaseTtl", "0", "lease TTL (e.g. 30s); 0: the server's default"),
    Setting("heartbeatWait", "10s", "longest a directives long-poll waits (capped by the server)"),
    Setting("demandInterval", "200ms", "how often changed demand is reported (a new stage is reported at once)"),
    Setting("connectTimeout", "5s", "TCP connect and call timeout towards sessiond"),
    Setting("executor.hostname", "", "address executors bind and advertise (default: sessiond's host, 127.0.0.1 for a loopback daemon)"),
    Setting("executor.image", "", "container image of executors for backends that run containers (Kubernetes); default: spark.kubernetes.executor.container.image, else spark.kubernetes.container.image, else the backend's"),
    Setting("executor.workDir", "", "executor working directory (placeholders allowed); empty: the backend's choice"),
    Setting("slot.memory", "0", "memory of one slot (e.g. 1g); 0: the server's slot"),
    Setting("executor.warmStart", "true", "let the backend hand executors to JVMs it started ahead of need (the local backend's warm_pool); false: a fresh JVM each"),
    Setting("tls", "false", "speak TLS to sessiond (its api.tls); implied by spark.session.tls.ca"),
    Setting("tls.ca", "", "PEM file of the CAs that sign sessiond's certificate (default: the JVM's trust store)"),
    Setting("revocation.killEarly", "true", "kill a revoked slot's task at once when its stage's finished tasks say it cannot end before the deadline (it would be killed then anyway); false: every running task waits for the deadline"),
    Setting("demandHold", "2s", "demand reported is the most seen over this window, so executors survive the gap between stages"),
    Setting("streaming.drainTarget", "30s", "streaming: grow when the Kafka backlog would take longer than this to drain at the current slots"),
    Setting("streaming.lowBacklog", "100", "streaming: a backlog of at most this many records counts as drained"),
    Setting("streaming.shrinkHold", "60s", "streaming: give one slot back only after the backlog stayed drained this long (each further slot waits again)"))

  private val known: Set[String] = All.map(_.fullKey).toSet

  def help: String =
    (All.map(s => f"  ${s.fullKey}%-34s ${s.help}" + (if (s.default.nonEmpty) s" [${s.default}]" else "")) :+
      f"  ${BackendPrefix + "<option>"}%-34s an option for the executors' backend, e.g. spark.session.backend.k8s.ownerName").mkString("\n")

  /**
   * Reads the settings from Spark's configuration (as key/value pairs) and
   * the environment. Left(message) names the first bad setting.
   */
  def parse(conf: Map[String, String], env: Map[String, String], sparkUser: String): Either[String, SessionSettings] = {
    val unknown = conf.keys.filter(k => k.startsWith(Prefix) && !known.contains(k) && !k.startsWith(BackendPrefix))
      .toSeq.sorted
    if (unknown.nonEmpty) {
      return Left(s"unknown setting ${unknown.head}; the spark.session.* settings are:\n$help")
    }
    def raw(key: String): String = {
      val s = All.find(_.key == key).get
      conf.getOrElse(s.fullKey, s.default).trim
    }
    def bad(key: String, why: String): Left[String, Nothing] = Left(s"$Prefix$key=${raw(key)}: $why")
    def long(key: String, min: Long): Either[String, Long] =
      raw(key).toLongOption match {
        case Some(v) if v >= min => Right(v)
        case Some(_) => bad(key, s"must be at least $min")
        case None => bad(key, "not an integer")
      }
    def boolean(key: String): Either[String, Boolean] =
      raw(key).toLowerCase match {
        case "true" => Right(true)
        case "false" => Right(false)
        case _ => bad(key, "must be true or false")
      }
    def duration(key: String): Either[String, Long] =
      parseDurationMs(raw(key)).toRight(()).left.flatMap(_ => bad(key, "not a duration (e.g. 500ms, 10s, 2min)"))
    def bytesMib(key: String): Either[String, Long] =
      parseMib(raw(key)).toRight(()).left.flatMap(_ => bad(key, "not a size (e.g. 512m, 4g)"))

    for {
      consumer <- {
        val c = raw("consumer")
        if (!c.startsWith("/") || c.contains("//") || c.exists(Character.isWhitespace))
          bad("consumer", "must be a consumer path like /tenant/team")
        else Right(c)
      }
      sla <- raw("sla").toLowerCase match {
        case "interactive" => Right(SlaClass.INTERACTIVE)
        case "streaming" => Right(SlaClass.STREAMING)
        case "batch" => Right(SlaClass.BATCH)
        case _ => bad("sla", "must be interactive, streaming or batch")
      }
      priority <- long("priority", Int.MinValue).flatMap(p =>
        if (p > Int.MaxValue) bad("priority", "too large") else Right(p.toInt))
      token <- {
        val direct = raw("token")
        val file = raw("tokenFile")
        if (direct.nonEmpty) Right(direct)
        else if (file.nonEmpty)
          firstLine(file) match {
            case Some(t) if t.nonEmpty => Right(t)
            case Some(_) => bad("tokenFile", "the file is empty")
            case None => bad("tokenFile", "cannot read the file")
          }
        else if (env.getOrElse("SESSIOND_TOKEN", "").trim.nonEmpty) Right(env("SESSIOND_TOKEN").trim)
        else
          // As sessionctl: the embedded default daemon's admin token, when run beside it.
          Right(firstLine("data/admin.token").getOrElse(""))
      }
      minSlots <- long("minSlots", 0)
      maxSlots <- long("maxSlots", 0)
      _ <- if (maxSlots > 0 && maxSlots < minSlots) bad("maxSlots", s"below spark.session.minSlots=$minSlots") else Right(())
      idleSlots <-
        if (raw("idleSlots").isEmpty) Right(if (sla == SlaClass.INTERACTIVE) 1L else 0L) else long("idleSlots", 0)
      leaseTtl <- duration("leaseTtl")
      wait <- duration("heartbeatWait").flatMap(w =>
        if (w < 100 || w > 600000) bad("heartbeatWait", "must be from 100ms to 10min") else Right(w.toInt))
      demandInterval <- duration("demandInterval").flatMap(d =>
        if (d < 10) bad("demandInterval", "must be at least 10ms") else Right(d))
      connectTimeout <- duration("connectTimeout").flatMap(d =>
        if (d < 100 || d > 600000) bad("connectTimeout", "must be from 100ms to 10min") else Right(d.toInt))
      slotMemory <- bytesMib("slot.memory")
      demandHold <- duration("demandHold")
      tls <- boolean("tls")
      warmStart <- boolean("executor.warmStart")
      killEarly <- boolean("revocation.killEarly")
      tlsCa <- Option(raw("tls.ca")).filter(_.nonEmpty) match {
        case Some(f) if !Files.isReadable(Paths.get(f)) => bad("tls.ca", "cannot read the file")
        case other => Right(other)
      }
      drainTarget <- duration("streaming.drainTarget").flatMap(d =>
        if (d < 100) bad("streaming.drainTarget", "must be at least 100ms") else Right(d))
      lowBacklog <- long("streaming.lowBacklog", 0)
      shrinkHold <- duration("streaming.shrinkHold")
    } yield SessionSettings(
      consumer = consumer,
      sla = sla,
      priority = priority,
      token = token,
      user = Option(raw("user")).filter(_.nonEmpty).getOrElse(sparkUser),
      application = Option(raw("application")).filter(_.nonEmpty).getOrElse(conf.getOrElse("spark.app.name", "")),
      minSlots = minSlots,
      maxSlots = maxSlots,
      idleSlots = idleSlots,
      leaseTtlMs = leaseTtl,
      heartbeatWaitMs = wait,
      demandIntervalMs = demandInterval,
      connectTimeoutMs = connectTimeout,
      executorHostname = Option(raw("executor.hostname")).filter(_.nonEmpty),
      executorWorkDir = raw("executor.workDir"),
      slotMemoryMib = slotMemory,
      demandHoldMs = demandHold,
      tlsEnabled = tls || tlsCa.nonEmpty,
      tlsCaFile = tlsCa,
      streamingDrainTargetMs = drainTarget,
      streamingLowBacklog = lowBacklog,
      streamingShrinkHoldMs = shrinkHold,
      executorImage = Seq(raw("executor.image"), conf.getOrElse("spark.kubernetes.executor.container.image", ""),
        conf.getOrElse("spark.kubernetes.container.image", "")).map(_.trim).find(_.nonEmpty).getOrElse(""),
      backendOptions = conf.collect { case (k, v) if k.startsWith(BackendPrefix) && k.length > BackendPrefix.length =>
        k.stripPrefix(BackendPrefix) -> v.trim },
      warmStart = warmStart,
      killEarly = killEarly)
  }

  /** A token file's first line, trimmed; None when unreadable. */
  private def firstLine(path: String): Option[String] =
    Try(new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8).linesIterator.nextOption()
      .getOrElse("").trim).toOption

  private val DurationPattern = """(\d+)\s*(ms|s|sec|m|min|h)?""".r

  /** "500ms", "10s", "2min", "1h"; a bare number is milliseconds. */
  def parseDurationMs(text: String): Option[Long] = text.trim.toLowerCase match {
    case DurationPattern(n, unit) =>
      n.toLongOption.flatMap { v =>
        val mult = unit match {
          case null | "ms" => 1L
          case "s" | "sec" => 1000L
          case "m" | "min" => 60000L
          case "h" => 3600000L
        }
        if (v > Long.MaxValue / mult) None else Some(v * mult)
      }
    case _ => None
  }

  private val SizePattern = """(\d+)\s*([kmgt]?)(i?b?)""".r

  /** "512m", "4g", "4Gi", "1024" (MiB) to MiB. */
  def parseMib(text: String): Option[Long] = text.trim.toLowerCase match {
    case SizePattern(n, unit, _) =>
      n.toLongOption.map { v =>
        unit match {
          case "k" => v / 1024
          case "" | "m" => v
          case "g" => v * 1024
          case "t" => v * 1024 * 1024
        }
      }
    case _ => None
  }
}
