// What Spark's Kafka connector (spark-sql-kafka-0-10) calls of
// spark-token-provider-kafka-0-10, for brokers without delegation tokens:
// the connector compiles against these names and signatures, so they must
// stay exactly as the connector links them.
package org.apache.spark.kafka010

import scala.jdk.CollectionConverters._

import org.apache.spark.SparkConf

/** A token cluster's settings; never produced here, since no token is ever configured. */
final case class KafkaTokenClusterConf(identifier: String)

/** Kafka client parameters being assembled by the connector. */
class KafkaConfigUpdater(module: String, kafkaParams: Map[String, Object]) {
  private val map = new java.util.HashMap[String, Object](kafkaParams.asJava)

  def set(key: String, value: Object): KafkaConfigUpdater = {
    map.put(key, value)
    this
  }

  def setIfUnset(key: String, value: Object): KafkaConfigUpdater = {
    map.putIfAbsent(key, value)
    this
  }

  // Authentication stays whatever the application configured itself.
  def setAuthenticationConfigIfNeeded(): KafkaConfigUpdater = this

  def setAuthenticationConfigIfNeeded(clusterConfig: Option[KafkaTokenClusterConf]): KafkaConfigUpdater = this

  def build(): java.util.Map[String, Object] = map

  override def toString: String = s"KafkaConfigUpdater($module)"
}

object KafkaTokenUtil {
  def findMatchingTokenClusterConfig(sparkConf: SparkConf, bootStrapServers: String): Option[KafkaTokenClusterConf] =
    None

  def needTokenUpdate(params: java.util.Map[String, Object], clusterConfig: Option[KafkaTokenClusterConf]): Boolean =
    false
}

object KafkaRedactionUtil {
  private val Secret = "(?i).*(password|secret|jaas|token).*".r

  /** Parameters as they may appear in logs: secrets hidden. */
  def redactParams(params: Seq[(String, Object)]): Seq[(String, String)] =
    params.map {
      case (k @ Secret(_), _) => k -> "*********(redacted)"
      case (k, v) => k -> String.valueOf(v)
    }
}
