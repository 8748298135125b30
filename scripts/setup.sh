#!/usr/bin/env bash
# Installs everything the build, tests and benchmarks need on Debian 12.
# Idempotent: each step checks first and skips what is already present, so a
# second run takes a second or two.
set -euo pipefail

# Debian packages: the product card's libraries, the helpers we build on,
# the developer tools CI uses (formatting, static analysis, fuzzing), and
# PostgreSQL for the billing SQL tests (tests/sql start their own server),
# etcd for the Kubernetes API server of tests/k8s (tests/infra/kube_cluster.py).
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libthrift-dev thrift-compiler librocksdb-dev librdkafka-dev libboost-all-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev nlohmann-json3-dev libfmt-dev libspdlog-dev libcli11-dev libcurl4-openssl-dev
  clang clang-format clang-tidy cppcheck libclang-rt-14-dev llvm
  prometheus
  openjdk-17-jdk-headless maven
  postgresql
  etcd-server
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # A stale package index is the usual cause of 404s on a fresh machine.
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# Python: the clients' and tests' packages (pyspark among them) in one venv
# under ~/.cache.
bash "$(dirname "${BASH_SOURCE[0]}")/python-env.sh"

# A real Kafka broker's jars for the tests (tests/infra/kafka_broker.py), from
# Maven Central into ~/.cache/session-scheduler/kafka.
bash "$(dirname "${BASH_SOURCE[0]}")/kafka-jars.sh" >/dev/null

# The Kubernetes tools for tests/k8s (kube-apiserver, kwok, helm), built with
# Go from their modules, pinned, into ~/.cache/session-scheduler/k8s/bin.
bash "$(dirname "${BASH_SOURCE[0]}")/k8s-tools.sh" >/dev/null
