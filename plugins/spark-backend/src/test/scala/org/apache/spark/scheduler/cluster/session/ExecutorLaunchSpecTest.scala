// The executor command: Spark's own executor backend with the daemon's
// placeholders, the auth secret only in the environment.
package org.apache.spark.scheduler.cluster.session

import scala.jdk.CollectionConverters._

import org.junit.Assert._
import org.junit.Test

import org.apache.spark.SparkConf

class ExecutorLaunchSpecTest {
  private val settings = SessionSettings.parse(Map.empty, Map.empty, "u").toOption.get

  @Test def command(): Unit = {
    val conf = new SparkConf(false).set("spark.executor.memory", "2g").set("spark.driver.port", "4040")
      .set("spark.authenticate", "true").set("spark.authenticate.secret", "s3cret")
      .set("spark.executor.extraJavaOptions", "-Dx=1 '-Dy=a b'")
    val spec = ExecutorLaunchSpec.build(conf, settings, "spark://CoarseGrainedScheduler@d:4040", "app-1", "127.0.0.1",
      Some("s3cret"), Map("SPARK_HOME" -> "/opt/spark", "HOME" -> "/root"), Map("FOO" -> "bar"))
    val cmd = spec.getCommand.asScala
    assertTrue(cmd.head.endsWith("/bin/java"))
    assertTrue(cmd.contains("-Xmx2g"))
    assertTrue(cmd.contains("/opt/spark/jars/*"))
    assertTrue(cmd.contains("-Dspark.driver.port=4040"))
    assertTrue(cmd.contains("-Dspark.authenticate=true"))
    assertTrue(cmd.contains("-Dy=a b"))
    assertFalse("the secret never reaches the command line", cmd.exists(_.contains("s3cret")))
    val args = cmd.dropWhile(_ != ExecutorLaunchSpec.MainClass).toList
    assertEquals(List(ExecutorLaunchSpec.MainClass, "--driver-url", "spark://CoarseGrainedScheduler@d:4040",
      "--executor-id", "{executor_index}", "--hostname", "127.0.0.1", "--cores", "{max_slots}", "--app-id", "app-1",
      "--resourceProfileId", "0"), args)
    val env = spec.getEnv.asScala
    assertEquals("s3cret", env("_SPARK_AUTH_SECRET"))
    assertEquals("bar", env("FOO"))
    assertFalse(env.contains("HOME"))
  }

  @Test def warmCommandIsTheJvmPartAndTheRestIsHandedOff(): Unit = {
    val conf = new SparkConf(false).set("spark.executor.memory", "2g").set("spark.driver.port", "4040")
      .set("spark.executor.extraJavaOptions", "-XX:+UseG1GC")
    def build(s: SessionSettings) = ExecutorLaunchSpec.build(conf, s, "spark://CoarseGrainedScheduler@d:4040", "app-1",
      "127.0.0.1", Some("s3cret"), Map("SPARK_HOME" -> "/opt/spark"), Map.empty, pluginJar = Some("/p/plugin.jar"))
    val spec = build(settings)
    val cmd = spec.getCommand.asScala.toList
    val warm = spec.getWarm_command.asScala.toList
    val (jvm, handed) = cmd.splitAt(spec.getWarm_args_from)
    // Same JVM, plus the plugin (where WarmExecutor lives) last on the classpath.
    assertEquals(jvm.updated(2, jvm(2) + ":/p/plugin.jar") :+ WarmExecutor.getClass.getName.stripSuffix("$"), warm)
    assertTrue(jvm.contains("-XX:+UseG1GC"))
    // What differs per driver is handed off: -D settings, then the main class and its arguments.
    assertEquals(List("-Dspark.driver.port=4040", ExecutorLaunchSpec.MainClass), handed.take(2))
    assertFalse(warm.exists(_.contains("s3cret")))
    assertTrue(build(SessionSettings.parse(Map("spark.session.executor.warmStart" -> "false"), Map.empty, "u")
      .toOption.get).getWarm_command.isEmpty)
    assertTrue(SessionSettings.parse(Map("spark.session.executor.warmStart" -> "yes"), Map.empty, "u").left.exists(
      _.startsWith("spark.session.executor.warmStart=yes: must be true or false")))
  }

  @Test def imageAndBackendOptionsReachTheLaunchSpec(): Unit = {
    val conf = Map("spark.kubernetes.container.image" -> "spark:4", "spark.session.backend.k8s.ownerName" -> "drv",
      "spark.session.backend.k8s.ownerUid" -> "u-1")
    val s = SessionSettings.parse(conf, Map.empty, "u").toOption.get
    val spec = ExecutorLaunchSpec.build(new SparkConf(false), s, "spark://d:1", "app-1", "h", None, Map.empty, Map.empty)
    assertEquals("spark:4", spec.getImage)
    assertEquals(Map("k8s.ownerName" -> "drv", "k8s.ownerUid" -> "u-1"), spec.getBackend_options.asScala.toMap)
    val own = SessionSettings.parse(conf + ("spark.session.executor.image" -> "mine:1"), Map.empty, "u").toOption.get
    assertEquals("mine:1", own.executorImage)
    assertTrue(SessionSettings.parse(Map("spark.session.executor.imag" -> "x"), Map.empty, "u").isLeft)
  }

  @Test def splitsQuotedOptions(): Unit =
    assertEquals(Seq("-a", "b c", "-d=e f"), ExecutorLaunchSpec.splitOptions(""" -a "b c"  '-d=e f' """))
}
