// The master URLs the plugin answers: spark-session://HOST:PORT (passes
// spark-submit's "starts with spark" check) and session://HOST:PORT.
package org.apache.spark.scheduler.cluster.session

final case class SessionMasterUrl(host: String, port: Int) {
  override def toString: String = s"spark-session://$host:$port"
}

object SessionMasterUrl {
  val Schemes: Seq[String] = Seq("spark-session://", "session://")

  def matches(url: String): Boolean = url != null && Schemes.exists(url.startsWith)

  /** Left(message) names the URL and what is wrong with it. */
  def parse(url: String): Either[String, SessionMasterUrl] = {
    Schemes.find(s => url != null && url.startsWith(s)) match {
      case None => Left(s"master '$url' is not a session scheduler URL (spark-session://HOST:PORT)")
      case Some(scheme) =>
        val rest = url.substring(scheme.length).stripSuffix("/")
        // [v6]:port or host:port
        val (host, portText) =
          if (rest.startsWith("[")) {
            val close = rest.indexOf(']')
            if (close < 0) return Left(s"master '$url': unclosed '[' in the host")
            (rest.substring(1, close), rest.substring(close + 1).stripPrefix(":"))
          } else {
            val colon = rest.lastIndexOf(':')
            if (colon < 0) (rest, "") else (rest.substring(0, colon), rest.substring(colon + 1))
          }
        if (host.isEmpty) Left(s"master '$url': no host (spark-session://HOST:PORT)")
        else if (portText.isEmpty) Left(s"master '$url': no port (spark-session://HOST:PORT)")
        else
          portText.toIntOption.filter(p => p > 0 && p < 65536) match {
            case Some(p) => Right(SessionMasterUrl(host, p))
            case None => Left(s"master '$url': port '$portText' is not a number from 1 to 65535")
          }
    }
  }
}
