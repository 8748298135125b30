#!/usr/bin/env bash
# Fetches (once) the jars of a real Apache Kafka broker for the tests
# (tests/infra/kafka_broker.py) from Maven Central into
# ~/.cache/session-scheduler/kafka/<version>/broker, and prints that version
# folder. Skips the download when a previous run completed, so tests may call
# it freely; nothing is fetched at test time on a machine setup.sh prepared.
set -euo pipefail
SCHED_CACHE=${SCHED_CACHE:-$HOME/.cache/session-scheduler}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POM=$ROOT/tests/infra/kafka/pom.xml
# Must match <kafka.version> in the pom: the cache folder is named after it.
KAFKA_VERSION=4.2.0
DEST=$SCHED_CACHE/kafka/$KAFKA_VERSION
M2=${SCHED_MAVEN_REPO:-$SCHED_CACHE/m2}

# One Maven profile of the pom into one folder; a stamp written last marks it
# complete, so an interrupted copy is redone rather than half-used.
fetch() {
  local profile=$1 dir=$DEST/$1
  if [[ -f $dir/.complete ]]; then return; fi
  echo "kafka-jars: resolving the $profile jars into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  # Spark's poms name a mirror this network cannot reach; settings.xml sends
  # every repository to Maven Central.
  mvn -B -q -s "$ROOT/tests/infra/kafka/settings.xml" -Dmaven.repo.local="$M2" -f "$POM" -P"$profile" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir" >&2
  touch "$dir/.complete"
}

fetch broker
echo "$DEST"
