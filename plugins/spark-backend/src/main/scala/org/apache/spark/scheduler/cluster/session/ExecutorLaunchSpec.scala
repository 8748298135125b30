// The command sessiond's backend runs for each executor of this session:
// Spark's own CoarseGrainedExecutorBackend, so executors register with the
// driver exactly as standalone ones do. The daemon fills in the executor id
// index and the slot count per executor ({executor_index}, {max_slots}).
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
      executorEnvs: Map[String, String]): LaunchSpec = {
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
    val command = Seq(s"$javaHome${File.separator}bin${File.separator}java", "-cp", classPath, s"-Xmx$memory") ++
      JavaModuleOptions.defaultModuleOptionArray().toSeq ++
      startup ++ extra ++
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
    spec
  }

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
