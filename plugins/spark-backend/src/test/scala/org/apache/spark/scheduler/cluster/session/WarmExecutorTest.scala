// The hand-off a warm executor JVM reads from sessiond's local backend:
// well-formed ones split into environment, -D settings, main class and
// arguments; damaged ones are refused with a reason.
package org.apache.spark.scheduler.cluster.session

import java.io.ByteArrayInputStream
import java.nio.charset.StandardCharsets

import org.junit.Assert._
import org.junit.Test

class WarmExecutorTest {
  private def stream(fields: String*): ByteArrayInputStream =
    new ByteArrayInputStream(fields.map(_ + "\u0000").mkString.getBytes(StandardCharsets.UTF_8))

  @Test def readsAHandOff(): Unit = {
    val h = WarmExecutor.read(stream(WarmExecutor.Magic, "2", "A=1", "_SPARK_AUTH_SECRET=x=y", "4",
      "-Dspark.driver.port=4040", "Main", "--cores", "ü")).toOption.flatten.get
    assertEquals(Seq("A" -> "1", "_SPARK_AUTH_SECRET" -> "x=y"), h.env)
    assertEquals(Seq("spark.driver.port" -> "4040"), h.properties)
    assertEquals("Main", h.mainClass)
    assertEquals(Seq("--cores", "ü"), h.args)
  }

  @Test def endOfFileBeforeAnythingIsNoHandOff(): Unit =
    assertEquals(Right(None), WarmExecutor.read(new ByteArrayInputStream(Array.emptyByteArray)))

  @Test def damagedHandOffsAreRefusedWithAReason(): Unit = {
    def refused(s: ByteArrayInputStream, why: String): Unit = {
      val r = WarmExecutor.read(s)
      assertTrue(s"$r", r.left.exists(_.contains(why)))
    }
    refused(stream("HELLO"), "not a hand-off")
    refused(stream(WarmExecutor.Magic, "x"), "bad environment count")
    refused(stream(WarmExecutor.Magic, "2", "A=1"), "the stream ended in the environment entries (1 of 2)")
    refused(stream(WarmExecutor.Magic, "1", "NOEQUALS", "0"), "without NAME=")
    refused(stream(WarmExecutor.Magic, "0", "2", "-Xmx1g", "Main"), "'-Xmx1g' cannot be applied to a running JVM")
    refused(stream(WarmExecutor.Magic, "0", "1", "-Da=b"), "no main class")
  }
}
