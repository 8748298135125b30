// The command sessiond's backend runs for each executor of this session:
// Spark's own CoarseGrainedExecutorBackend, so executors register with the
// driver exactly as standalone ones do. The daemon fills in the executor id
// index and the slot count per executor ({executor_index}, {max_slots}).
// The command is laid out as JVM (java, classpath, heap, JVM options), then
// what only this driver's executors take (-D startup settings, main class,
// arguments), so that a JVM started ahead of need from the first part
// (WarmExecutor, the warm_command) can be handed the second.
package org.apache.spark.scheduler.cluster.session

import java.io.File

import scala.jdk.CollectionConverters._

import org.apache.spark.{SecurityManager, SparkConf}
import org.apache.spark.launcher.JavaModuleOptions
import org.apache.spark.scheduler.cluster.session.thrift.LaunchSpec

object ExecutorLaunchSpec {
  val MainClass = "org.apache.spark.executor.CoarseGrainedExecutorBackend"

  /** Environment of the driver worth handing to executors on the same machine. */
  val InheritedEnv: Seq[String] =
    Seq("SPARK_HOME", "JAVA_HOME", "PATH", "PYSPARK_PYTHON", "PYTHONPATH", "SPARK_CONF_DIR", "SPARK_LOCAL_DIRS")

  /** Settings executors need before they can reach the driver (as standalone passes them). */
  private def isStartupSetting(key: String): Boolean =
    (key.startsWith("spark.auth") && key != SecurityManager.SPARK_AUTH_SECRET_CONF) ||
      key.startsWith("spark.rpc") || key.startsWith("spark.network") || key.startsWith("spark.ssl") ||
      key == "spark.port.maxRetries" || key.endsWith(".port")

  def build(
      conf: SparkConf,
      settings: SessionSettings,
      driverUrl: String,
      appId: String,
      hostname: String,
      authSecret: Option[String],
      driverEnv: Map[String, String],
      executorEnvs: Map[String, String],
      pluginJar: Option[String] = ownJar): LaunchSpec = {
    val javaHome = driverEnv.getOrElse("JAVA_HOME", System.getProperty("java.home"))
    val sparkHome = driverEnv.get("SPARK_HOME").orElse(conf.getOption("spark.home"))
    val classPath = (conf.getOption("spark.executor.extraClassPath").toSeq ++
      sparkHome.map(h => s"$h${File.separator}jars${File.separator}*").toSeq ++
      // Without SPARK_HOME the driver's own classpath holds Spark's jars.
      (if (sparkHome.isEmpty) Seq(System.getProperty("java.class.path")) else Seq.empty))
      .filter(_.nonEmpty).mkString(File.pathSeparator)
    val memory = conf.get("spark.executor.memory", "1g")
    val startup = conf.getAll.filter { case (k, _) => isStartupSetting(k) }.sortBy(_._1).map { case (k, v) => s"-D$k=$v" }
    val extra = conf.getOption("spark.executor.extraJavaOptions").toSeq.flatMap(splitOptions)
    val java = s"$javaHome${File.separator}bin${File.separator}java"
    def jvm(cp: String): Seq[String] =
      Seq(java, "-cp", cp, s"-Xmx$memory") ++ JavaModuleOptions.defaultModuleOptionArray().toSeq ++ extra
    val executorJvm = jvm(classPath)
    val command = executorJvm ++ startup ++
      Seq(MainClass,
        "--driver-url", driverUrl,
        "--executor-id", "{executor_index}",
        "--hostname", hostname,
        "--cores", "{max_slots}",
        "--app-id", appId,
        "--resourceProfileId", "0")
    val env = InheritedEnv.flatMap(k => driverEnv.get(k).map(k -> _)).toMap ++ executorEnvs ++
      authSecret.map(s => SecurityManager.ENV_AUTH_SECRET -> s)
    val spec = new LaunchSpec()
    spec.setCommand(command.asJava)
    spec.setEnv(env.asJava)
    spec.setWorking_dir(settings.executorWorkDir)
    spec.setImage(settings.executorImage)
    spec.setBackend_options(settings.backendOptions.asJava)
    // The launcher lives in this jar, which executors do not otherwise load:
    // warm JVMs get it last on their classpath.
    if (settings.warmStart) pluginJar.foreach { jar =>
      spec.setWarm_command((jvm(s"$classPath${File.pathSeparator}$jar") :+ WarmExecutor.getClass.getName.stripSuffix("$")).asJava)
      spec.setWarm_args_from(executorJvm.size)
    }
    spec
  }

  /** This plugin's jar as a local file, when it was loaded from one. */
  def ownJar: Option[String] =
    scala.util.Try(new File(WarmExecutor.getClass.getProtectionDomain.getCodeSource.getLocation.toURI))
      .toOption.filter(f => f.isFile && f.getName.endsWith(".jar")).map(_.getAbsolutePath)

  /** Splits a Java options string on whitespace, honouring single and double quotes. */
  def splitOptions(text: String): Seq[String] = {
    val out = Seq.newBuilder[String]
    val cur = new StringBuilder
    var quote: Char = 0
    var inToken = false
    text.foreach { c =>
      if (quote != 0) {
        if (c == quote) quote = 0 else cur += c
      } else if (c == '"' || c == '\'') {
        quote = c; inToken = true
      } else if (Character.isWhitespace(c)) {
        if (inToken) { out += cur.result(); cur.clear(); inToken = false }
      } else {
        cur += c; inToken = true
      }
    }
    if (inToken) out += cur.result()
    out.result()
  }
}
