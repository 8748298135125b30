// Master URLs: both schemes, IPv6, and errors that say what is wrong.
package org.apache.spark.scheduler.cluster.session

import org.junit.Assert._
import org.junit.Test

class SessionMasterUrlTest {
  @Test def bothSchemes(): Unit = {
    assertEquals(Right(SessionMasterUrl("h", 7420)), SessionMasterUrl.parse("spark-session://h:7420"))
    assertEquals(Right(SessionMasterUrl("h", 7420)), SessionMasterUrl.parse("session://h:7420/"))
    assertTrue(SessionMasterUrl.matches("session://x:1"))
    assertFalse(SessionMasterUrl.matches("spark://x:7077"))
  }

  @Test def ipv6(): Unit = assertEquals(Right(SessionMasterUrl("::1", 9)), SessionMasterUrl.parse("spark-session://[::1]:9"))

  @Test def errors(): Unit = {
    assertTrue(SessionMasterUrl.parse("spark-session://h").swap.toOption.get.contains("no port"))
    assertTrue(SessionMasterUrl.parse("spark-session://:1").swap.toOption.get.contains("no host"))
    assertTrue(SessionMasterUrl.parse("spark-session://h:99999").swap.toOption.get.contains("1 to 65535"))
  }
}
