// One Thrift connection to sessiond's Sessions service: framed binary
// protocol, multiplexed name "Sessions", reconnecting on transport failure.
// Calls are serialised; the backend keeps one connection for the long poll
// and one for everything else so a parked heartbeat never delays a release.
package org.apache.spark.scheduler.cluster.session

import org.apache.thrift.{TConfiguration, TException}
import org.apache.thrift.protocol.{TBinaryProtocol, TMultiplexedProtocol}
import org.apache.thrift.transport.{TSocket, TTransportException}
import org.apache.thrift.transport.layered.TFramedTransport

import org.apache.spark.scheduler.cluster.session.thrift.{ErrorCode, SchedulerError, Sessions}

/** A call that failed: the server's SchedulerError, or the transport. */
final class SchedulerCallException(val code: Option[ErrorCode], message: String, cause: Throwable)
    extends Exception(message, cause) {
  def isUnavailable: Boolean = code.isEmpty || code.contains(ErrorCode.UNAVAILABLE)
}

final class SchedulerConnection(
    url: SessionMasterUrl,
    timeoutMs: Int,
    tls: Option[javax.net.ssl.SSLSocketFactory] = None,
    maxFrameBytes: Int = 64 << 20) {
  private var socket: TSocket = _
  private var transport: TFramedTransport = _
  private var client: Sessions.Client = _

  private def open(): Unit = {
    tls match {
      case None =>
        val config = TConfiguration.custom().setMaxFrameSize(maxFrameBytes).setMaxMessageSize(maxFrameBytes).build()
        socket = new TSocket(config, url.host, url.port, timeoutMs, timeoutMs)
        transport = new TFramedTransport(socket, maxFrameBytes)
        transport.open()
      case Some(factory) =>
        val connected =
          try SchedulerTls.connect(factory, url.host, url.port, timeoutMs)
          catch { case e: java.io.IOException => throw new TTransportException(e) }
        socket = new TSocket(connected)
        transport = new TFramedTransport(socket, maxFrameBytes)
    }
    client = new Sessions.Client(new TMultiplexedProtocol(new TBinaryProtocol(transport), "Sessions"))
  }

  private def closeQuietly(): Unit = {
    if (transport != null) scala.util.Try(transport.close())
    transport = null
    client = null
  }

  /**
   * Runs one call with this read timeout. A transport failure reconnects and
   * retries once (every call of the API is safe to repeat); a SchedulerError
   * is the server's answer and is not retried.
   */
  def call[T](readTimeoutMs: Int)(f: Sessions.Client => T): T = synchronized {
    var attempt = 0
    while (true) {
      attempt += 1
      try {
        if (client == null) open()
        socket.setSocketTimeout(readTimeoutMs)
        return f(client)
      } catch {
        case e: SchedulerError =>
          throw new SchedulerCallException(Option(e.getCode), s"sessiond says ${e.getCode}: ${e.getMessage}", e)
        case e: TException =>
          closeQuietly()
          if (attempt >= 2) {
            val why = e match {
              case t: TTransportException if t.getCause != null => t.getCause.toString
              case other => other.toString
            }
            throw new SchedulerCallException(None, s"cannot reach sessiond at ${url.host}:${url.port}: $why", e)
          }
      }
    }
    throw new IllegalStateException("unreachable")
  }

  def call[T](f: Sessions.Client => T): T = call(timeoutMs)(f)

  def close(): Unit = synchronized(closeQuietly())
}
