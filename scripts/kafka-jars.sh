#!/usr/bin/env bash
# Fetches (once) from Maven Central the jars of a real Apache Kafka broker for
# the tests (tests/infra/kafka_broker.py) into
# ~/.cache/session-scheduler/kafka/<version>/broker, and Spark's Kafka
# connector for Structured Streaming (examples/streaming) into .../connector
# (give its jars to spark-submit --jars); prints the version folder. Skips
# what a previous run completed, so tests may call it freely; nothing is
# fetched at test time on a machine scripts/setup.sh prepared.
set -euo pipefail
SCHED_CACHE=${SCHED_CACHE:-$HOME/.cache/session-scheduler}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POM=$ROOT/tests/infra/kafka/pom.xml
# Must match <kafka.version> in the pom: the cache folder is named after it.
KAFKA_VERSION=4.2.0
DEST=$SCHED_CACHE/kafka/$KAFKA_VERSION
M2=${SCHED_MAVEN_REPO:-$SCHED_CACHE/m2}

# Spark's poms name a mirror this network cannot reach; settings.xml sends
# every repository to Maven Central.
mvn_q() { mvn -B -q -Dstyle.color=never -s "$ROOT/tests/infra/kafka/settings.xml" -Dmaven.repo.local="$M2" "$@" >&2; }

# One Maven profile of the pom into one folder; a stamp written last marks it
# complete, so an interrupted copy is redone rather than half-used.
fetch() {
  local profile=$1 dir=$DEST/$1
  shift
  if [[ -f $dir/.complete ]]; then return; fi
  echo "kafka-jars: resolving the $profile jars into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  mvn_q -f "$POM" -P"$profile" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir" "$@"
  if [[ $profile == connector ]]; then
    # The connector's token-provider dependency is not on Maven Central as
    # reached here; our stand-in (tests/infra/kafka/token-shim) replaces it.
    mvn_q -f "$ROOT/tests/infra/kafka/token-shim/pom.xml" -Dshim.build.dir="$DEST/token-shim-build" package
    cp "$DEST"/token-shim-build/kafka-token-shim-*.jar "$dir/"
    rm -rf "$DEST/token-shim-build"
  fi
  touch "$dir/.complete"
}

fetch broker
# Only what pyspark's own jars lack: the connector, its Kafka client and pool.
fetch connector -DincludeArtifactIds=spark-sql-kafka-0-10_2.13,kafka-clients,commons-pool2
echo "$DEST"
