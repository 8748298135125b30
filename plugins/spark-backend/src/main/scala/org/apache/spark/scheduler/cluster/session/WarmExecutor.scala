// A JVM started ahead of need by sessiond's local backend (its warm_pool):
// it loads, links and initialises what every Spark executor needs while
// nobody waits for it, then reads one hand-off on stdin (the executor's
// environment, -D settings, main class and arguments) and becomes that
// executor. A cold executor spends most of its start on exactly that work.
package org.apache.spark.scheduler.cluster.session

import java.io.{ByteArrayInputStream, ByteArrayOutputStream, File, InputStream}
import java.nio.charset.StandardCharsets
import java.util.jar.JarFile

import scala.jdk.CollectionConverters._
import scala.util.control.NonFatal

import org.apache.spark.{SecurityManager, SparkConf}
import org.apache.spark.rpc.RpcEnv
import org.apache.spark.serializer.{JavaSerializer, KryoSerializer}

object WarmExecutor {
  /** First field of a hand-off: the format's name and version. */
  val Magic = "SESSIOND-WARM-1"

  /** What turns this JVM into one executor. */
  final case class Handoff(env: Seq[(String, String)], properties: Seq[(String, String)], mainClass: String,
      args: Seq[String])

  /**
   * Jars a starting executor loads much of (by file name prefix): besides
   * Spark's own and Netty, what a class-load log of a handed-off executor
   * showed it still loading in its first seconds (Jackson for its metrics
   * and resources, Scala's collections, LZ4 for broadcasts).
   */
  private val PreloadedJars =
    Seq("spark-core_", "spark-common-utils_", "spark-network-common_", "spark-network-shuffle_", "spark-unsafe_",
      "netty-transport-", "netty-buffer-", "netty-common-", "netty-handler-", "netty-codec-", "jackson-databind-",
      "jackson-core-", "jackson-annotations-", "jackson-module-scala_", "scala-library-", "lz4-java-",
      "commons-collections4-")

  /** Set once the hand-off came: a warm-up still running stops linking. */
  @volatile private var handedOff = false

  def main(argv: Array[String]): Unit = {
    val started = System.nanoTime()
    // The warm-up runs beside the wait: a hand-off that comes early is not
    // held up by it (what is loaded by then is loaded).
    val warming = new Thread(() => {
      val linked = try warmUp() catch {
        case NonFatal(e) => log(s"warm-up incomplete ($e); the executor will start anyway"); 0
      }
      log(s"warm-up done after ${since(started)} ms ($linked classes linked)" +
        (if (handedOff) " (stopped early by the hand-off)" else ""))
    }, "warm-up")
    warming.setDaemon(true)
    warming.start()
    val waiting = System.nanoTime()
    val handoff = read(System.in)
    handedOff = true
    handoff match {
      case Right(None) =>
        // The daemon let this JVM go (pool shrunk, daemon stopped or killed).
        log("no hand-off came (stdin closed); exiting")
        System.exit(0)
      case Left(why) =>
        log(s"refused the hand-off: $why")
        System.exit(2)
      case Right(Some(h)) =>
        log(s"handed off after ${since(waiting)} ms of waiting (JVM uptime " +
          s"${java.lang.management.ManagementFactory.getRuntimeMXBean.getUptime} ms): running ${h.mainClass}")
        try setEnvironment(h.env)
        catch {
          case NonFatal(e) =>
            // Without its environment (the session's secret among it) the executor must not run.
            log(s"cannot take the executor's environment: $e")
            System.exit(2)
        }
        h.properties.foreach { case (k, v) => System.setProperty(k, v) }
        System.setIn(new ByteArrayInputStream(Array.emptyByteArray))
        Class.forName(h.mainClass).getMethod("main", classOf[Array[String]]).invoke(null, h.args.toArray)
    }
  }

  /**
   * Reads a hand-off: NUL-terminated UTF-8 fields: Magic, the count of
   * environment entries, each "NAME=value", the count of arguments, each
   * argument. Arguments are -Dkey=value settings, then the main class and
   * its arguments. Right(None): the stream ended before any byte.
   */
  def read(in: InputStream): Either[String, Option[Handoff]] = {
    def field(): Option[String] = {
      val buf = new ByteArrayOutputStream()
      var b = in.read()
      while (b != -1 && b != 0) { buf.write(b); b = in.read() }
      if (b == -1) None else Some(new String(buf.toByteArray, StandardCharsets.UTF_8))
    }
    def count(what: String): Either[String, Int] =
      field().toRight(s"the stream ended before the $what count").flatMap(n =>
        n.toIntOption.filter(c => c >= 0 && c <= 100000).toRight(s"bad $what count '$n'"))
    def fields(n: Int, what: String): Either[String, Seq[String]] = {
      val out = Seq.newBuilder[String]
      var i = 0
      while (i < n) {
        field() match {
          case Some(f) => out += f
          case None => return Left(s"the stream ended in the ${what}s ($i of $n)")
        }
        i += 1
      }
      Right(out.result())
    }
    val first = in.read()
    if (first == -1) return Right(None)
    val magic = new String(Array(first.toByte), StandardCharsets.UTF_8) + field().getOrElse("")
    if (magic != Magic) return Left(s"not a hand-off (it begins '${magic.take(20)}', expected $Magic)")
    for {
      nEnv <- count("environment")
      env <- fields(nEnv, "environment entrie")
      pairs <- env.foldLeft[Either[String, Seq[(String, String)]]](Right(Vector.empty)) { (acc, e) =>
        acc.flatMap(seq => e.indexOf('=') match {
          case i if i > 0 => Right(seq :+ (e.substring(0, i) -> e.substring(i + 1)))
          case _ => Left("an environment entry without NAME=")
        })
      }
      nArgs <- count("argument")
      args <- fields(nArgs, "argument")
      h <- split(pairs, args)
    } yield Some(h)
  }

  private def split(env: Seq[(String, String)], args: Seq[String]): Either[String, Handoff] = {
    val (options, rest) = args.span(_.startsWith("-"))
    options.find(o => !o.startsWith("-D") || !o.contains('=')) match {
      case Some(o) => Left(s"'$o' cannot be applied to a running JVM (only -Dkey=value)")
      case None if rest.isEmpty => Left("no main class")
      case None =>
        val props = options.map(_.stripPrefix("-D")).map(o => o.substring(0, o.indexOf('=')) -> o.substring(o.indexOf('=') + 1))
        Right(Handoff(env, props, rest.head, rest.tail))
    }
  }

  /**
   * Sets variables in this JVM's environment, as seen by System.getenv and
   * by the processes it starts (PySpark's workers). The JDK has no API for
   * it: the map behind System.getenv() is written through reflection, which
   * Spark's own --add-opens=java.base/java.util makes possible.
   */
  private def setEnvironment(vars: Seq[(String, String)]): Unit = {
    val env = System.getenv()
    val field = env.getClass.getDeclaredField("m")
    field.setAccessible(true)
    val writable = field.get(env).asInstanceOf[java.util.Map[String, String]]
    vars.foreach { case (k, v) => writable.put(k, v) }
  }

  /** The work of a starting executor that needs no driver yet. Returns the classes linked. */
  private def warmUp(): Int = {
    val conf = new SparkConf(false)
    val security = new SecurityManager(conf)
    // Netty, the RPC layer and its transport, as the driver-properties fetch uses them.
    val rpc = RpcEnv.create("warmup", "127.0.0.1", "127.0.0.1", 0, conf, security, 0, clientMode = true)
    rpc.shutdown()
    rpc.awaitTermination()
    // The platform MBeans (memory pools, buffer pools, flight recorder) that
    // the executor's metrics read: registered once per JVM, early or late.
    java.lang.management.ManagementFactory.getPlatformMBeanServer
    val sample = Array.tabulate(64)(i => s"v$i" -> i).toMap
    Seq(new JavaSerializer(conf), new KryoSerializer(conf)).foreach { s =>
      val inst = s.newInstance()
      inst.deserialize[Map[String, Int]](inst.serialize(sample))
    }
    preload()
  }

  /**
   * Loads and links (without initialising: no static state is touched) every
   * class of the jars a starting executor reads most of. Linking is what a
   * cold JVM pays for on first use: parsing and bytecode verification.
   */
  private def preload(): Int = {
    val loader = getClass.getClassLoader
    val jars = sys.props.getOrElse("java.class.path", "").split(File.pathSeparator).toSeq
      .map(new File(_)).filter(f => f.isFile && PreloadedJars.exists(f.getName.startsWith))
    var linked = 0
    jars.foreach { jar =>
      val jf = new JarFile(jar)
      try {
        jf.entries().asScala.map(_.getName)
          .filter(n => n.endsWith(".class") && !n.contains("module-info") && !n.startsWith("META-INF"))
          .takeWhile(_ => !handedOff)
          .foreach { n =>
            try {
              // getDeclaredMethods makes HotSpot link (and verify) the class.
              Class.forName(n.stripSuffix(".class").replace('/', '.'), false, loader).getDeclaredMethods
              linked += 1
            } catch {
              case NonFatal(_) | _: LinkageError => // optional dependencies absent: no executor loads it either
            }
          }
      } finally jf.close()
    }
    linked
  }

  private def since(t: Long): Long = (System.nanoTime() - t) / 1000000

  private def log(msg: String): Unit = System.err.println(s"warm executor: $msg")
}
