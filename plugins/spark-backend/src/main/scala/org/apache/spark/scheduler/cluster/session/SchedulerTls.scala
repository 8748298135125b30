// TLS towards sessiond: the server's certificate checked against a PEM CA
// file (the daemon's api.tls certificates are PEM) or the JVM's trust store,
// with the host name verified as HTTPS does.
package org.apache.spark.scheduler.cluster.session

import java.io.FileInputStream
import java.net.{InetSocketAddress, Socket}
import java.security.KeyStore
import java.security.cert.{CertificateFactory, X509Certificate}
import javax.net.ssl.{SSLContext, SSLSocket, SSLSocketFactory, TrustManagerFactory}

import scala.jdk.CollectionConverters._
import scala.util.Using

object SchedulerTls {

  /** A socket factory trusting the CAs of a PEM file, or the JVM's defaults. */
  def socketFactory(caFile: Option[String]): SSLSocketFactory = caFile match {
    case None => SSLContext.getDefault.getSocketFactory
    case Some(path) =>
      val certs = Using.resource(new FileInputStream(path)) { in =>
        CertificateFactory.getInstance("X.509").generateCertificates(in).asScala.collect { case c: X509Certificate => c }
      }
      require(certs.nonEmpty, s"no certificate in $path")
      val store = KeyStore.getInstance(KeyStore.getDefaultType)
      store.load(null, null)
      certs.zipWithIndex.foreach { case (c, i) => store.setCertificateEntry(s"ca-$i", c) }
      val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm)
      tmf.init(store)
      val ctx = SSLContext.getInstance("TLS")
      ctx.init(null, tmf.getTrustManagers, null)
      ctx.getSocketFactory
  }

  /** A connected, handshaken TLS socket whose certificate names `host`. */
  def connect(factory: SSLSocketFactory, host: String, port: Int, timeoutMs: Int): Socket = {
    val plain = new Socket()
    plain.connect(new InetSocketAddress(host, port), timeoutMs)
    plain.setSoTimeout(timeoutMs)
    val tls = factory.createSocket(plain, host, port, true).asInstanceOf[SSLSocket]
    val params = tls.getSSLParameters
    params.setEndpointIdentificationAlgorithm("HTTPS")
    tls.setSSLParameters(params)
    tls.startHandshake()
    tls
  }
}
