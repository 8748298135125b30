"""Kubernetes tests: a real API server (etcd + kube-apiserver + kwok, from
tests/infra/kube_cluster.py) shared by the whole session, and helm.

The tools are built by scripts/setup.sh (scripts/k8s-tools.sh); when they are
missing the fixtures fail, naming the command that installs them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "tests" / "infra",):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from kube_cluster import KubeCluster, k8s_bin_dir  # noqa: E402

CHART = ROOT / "helm" / "session-scheduler"


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory):
    """One API server for every test of the session (about 5 s to start):
    tests keep apart by namespace and node names. Stopped at the end, and
    its processes die with pytest in any case."""
    cluster = KubeCluster(tmp_path_factory.mktemp("kube-cluster"))
    cluster.start()
    print("kube cluster up in %.1fs at %s" % (cluster.start_seconds, cluster.server))
    try:
        yield cluster
    finally:
        cluster.stop()


class Helm:
    """The helm binary with its own empty configuration, cache and data
    folders (nothing of the user's repositories or plugins)."""

    def __init__(self, binary, home):
        self.binary = str(binary)
        home.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ,
                        HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"),
                        HELM_DATA_HOME=str(home / "data"), KUBECONFIG=str(home / "no-kubeconfig"))

    def run(self, *args, check=True, kubeconfig=None):
        env = dict(self.env)
        if kubeconfig:
            env["KUBECONFIG"] = str(kubeconfig)
        p = subprocess.run([self.binary] + [str(a) for a in args], capture_output=True, text=True, env=env,
                           timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("helm %s failed (%d):\n%s%s" % (" ".join(map(str, args)), p.returncode,
                                                                  p.stdout, p.stderr))
        return p


@pytest.fixture(scope="session")
def helm(tmp_path_factory):
    return Helm(k8s_bin_dir() / "helm", tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def chart():
    return CHART
