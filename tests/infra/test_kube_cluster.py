"""Self-test of tests/infra/kube_cluster.py: a real kube-apiserver on etcd
with kwok starts, fake nodes go Ready, pods bound to them go Running, a
Failed status written by the test stays, deletion removes pods, the API
server restarts with its objects, and stop() leaves no process behind."""

import os
import time

import pytest
import requests

from kube_cluster import KubeCluster, KubeError

NS = "executors"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = KubeCluster(tmp_path_factory.mktemp("kube"))
    c.start()
    print("kube cluster up in %.1fs" % c.start_seconds)
    try:
        c.create_namespace(NS)
        yield c
    finally:
        c.stop()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes (the parent has not reaped it yet).
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_start_stop_leaves_nothing(tmp_path):
    c = KubeCluster(tmp_path / "k")
    with c:
        assert c.running()
        assert c.get("/version")["gitVersion"] == "v1.34.4"
        pids = c.pids()
        assert len(pids) == 3
        print("kube cluster (etcd, kube-apiserver, kwok) up in %.1fs" % c.start_seconds)
        assert c.start_seconds < 60
    assert not any(alive(p) for p in pids), pids


def test_kubeconfigs_and_auth(cluster):
    import yaml
    kc = yaml.safe_load(cluster.kubeconfig_path.read_text())
    assert kc["clusters"][0]["cluster"]["server"] == cluster.server
    assert kc["clusters"][0]["cluster"]["certificate-authority-data"]
    assert kc["users"][0]["user"]["token"] == cluster.admin_token
    assert oct(cluster.kubeconfig_path.stat().st_mode & 0o777) == "0o600"

    # The client-certificate kubeconfig's admin is in system:masters too.
    import base64
    ck = yaml.safe_load(cluster.cert_kubeconfig_path.read_text())["users"][0]["user"]
    crt, key = cluster.workdir / "c.crt", cluster.workdir / "c.key"
    crt.write_bytes(base64.b64decode(ck["client-certificate-data"]))
    key.write_bytes(base64.b64decode(ck["client-key-data"]))
    s = requests.Session()
    s.trust_env = False
    r = s.get(cluster.server + "/api/v1/nodes", verify=str(cluster.ca_file), cert=(str(crt), str(key)), timeout=10)
    assert r.status_code == 200, r.text

    # No credentials: anonymous, which RBAC lets see nothing but health.
    r = s.get(cluster.server + "/api/v1/nodes", verify=str(cluster.ca_file), timeout=10)
    assert r.status_code == 403
    with pytest.raises(KubeError) as e:
        cluster.get("/api/v1/nodes", token="not-a-token")
    assert e.value.code == 401


def test_nodes_ready_with_their_capacity(cluster):
    t0 = time.monotonic()
    names = cluster.add_nodes(3, cpu=16, memory="64Gi", gpu=2, prefix="big", labels={"pool": "big"})
    print("3 nodes Ready in %.2fs" % (time.monotonic() - t0))
    assert names == ["big-0", "big-1", "big-2"]
    for n in names:
        node = cluster.get("/api/v1/nodes/" + n)
        assert node["status"]["allocatable"] == {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "2", "pods": "110"}
        assert node["metadata"]["labels"]["pool"] == "big"
    assert {n["metadata"]["name"] for n in cluster.list("/api/v1/nodes", label_selector="pool=big")} == set(names)


def test_pod_on_fake_node_runs(cluster):
    cluster.add_nodes(1, prefix="run")
    cluster.create_pod(NS, "runs", node="run-0", labels={"app": "t"})
    t0 = time.monotonic()
    cluster.wait_pod_phase(NS, "runs", "Running")
    print("pod Running %.2fs after create" % (time.monotonic() - t0))
    st = cluster.get_pod(NS, "runs")["status"]
    assert st["podIP"] and st["hostIP"]
    assert st["containerStatuses"][0]["state"].get("running")
    assert {c["type"]: c["status"] for c in st["conditions"]}["Ready"] == "True"
    assert [p["metadata"]["name"] for p in cluster.list_pods(NS, label_selector="app=t")] == ["runs"]


def test_pod_without_node_stays_pending(cluster):
    # No scheduler: only the client binds pods (spec.nodeName).
    cluster.create_pod(NS, "unbound")
    time.sleep(1.5)
    assert cluster.pod_phase(NS, "unbound") == "Pending"


def test_failed_status_stays(cluster):
    cluster.add_nodes(1, prefix="fail")
    for name in ("oom", "evicted", "exit1"):
        cluster.create_pod(NS, name, node="fail-0")
    for name in ("oom", "evicted", "exit1"):
        cluster.wait_pod_phase(NS, name, "Running")
    cluster.oom_kill_pod(NS, "oom")
    cluster.evict_pod(NS, "evicted")
    cluster.fail_pod(NS, "exit1", exit_code=1)
    time.sleep(3)  # kwok would have acted by now
    oom = cluster.get_pod(NS, "oom")["status"]
    assert oom["phase"] == "Failed"
    term = oom["containerStatuses"][0]["state"]["terminated"]
    assert (term["reason"], term["exitCode"]) == ("OOMKilled", 137)
    ev = cluster.get_pod(NS, "evicted")["status"]
    assert (ev["phase"], ev["reason"]) == ("Failed", "Evicted")
    assert cluster.get_pod(NS, "exit1")["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1


def test_status_on_unmanaged_node_is_the_tests(cluster):
    # A node kwok does not manage: pods stay Pending, and a status written
    # there (an image that never pulls) stays as written.
    cluster.add_nodes(1, prefix="stuck", managed=False)
    assert cluster.node_ready("stuck-0")
    cluster.create_pod(NS, "pulling", node="stuck-0")
    cluster.set_pod_status(NS, "pulling", "Pending")
    cluster.patch(cluster.pod_path(NS, "pulling") + "/status", {"status": {"containerStatuses": [{
        "name": "executor", "image": "registry.invalid/executor:test", "imageID": "", "ready": False,
        "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}]}})
    time.sleep(1.5)
    st = cluster.get_pod(NS, "pulling")["status"]
    assert st["phase"] == "Pending" and "podIP" not in st
    assert st["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
    # A pod being deleted there waits out its grace period (no kubelet
    # confirms); deleting with grace 0 removes it at once.
    cluster.delete(cluster.pod_path(NS, "pulling"), grace_period_seconds=30)
    assert cluster.get_pod(NS, "pulling")["metadata"].get("deletionTimestamp")
    cluster.delete(cluster.pod_path(NS, "pulling"), grace_period_seconds=0)
    assert not cluster.exists(cluster.pod_path(NS, "pulling"))


def test_delete_removes_pod(cluster):
    cluster.add_nodes(1, prefix="del")
    cluster.create_pod(NS, "doomed", node="del-0")
    cluster.wait_pod_phase(NS, "doomed", "Running")
    t0 = time.monotonic()
    # A grace period as the backend would give: kwok (the "kubelet")
    # removes the pod at once instead of waiting it out.
    cluster.delete(cluster.pod_path(NS, "doomed"), grace_period_seconds=30)
    cluster.wait_pod_gone(NS, "doomed")
    print("pod gone %.2fs after a delete with a 30s grace period" % (time.monotonic() - t0))
    assert time.monotonic() - t0 < 10
    # A pod on no node has no kubelet: the API server deletes it at once.
    cluster.create_pod(NS, "floating")
    cluster.delete(cluster.pod_path(NS, "floating"), grace_period_seconds=30)
    assert not cluster.exists(cluster.pod_path(NS, "floating"))


def test_cordon(cluster):
    cluster.add_nodes(1, prefix="cordon")
    cluster.cordon("cordon-0")
    time.sleep(1)
    node = cluster.get("/api/v1/nodes/cordon-0")
    assert node["spec"]["unschedulable"] is True
    cluster.uncordon("cordon-0")
    assert not cluster.get("/api/v1/nodes/cordon-0")["spec"].get("unschedulable")


def test_service_account_rbac(cluster, tmp_path):
    cluster.create_service_account(NS, "reader")
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "pod-reader", "namespace": NS},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "reader", "namespace": NS},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
               "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NS}]}
    cluster.create("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles" % NS, role)
    cluster.create("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings" % NS, binding)
    cluster.wait_rbac([role, binding])
    user = "system:serviceaccount:%s:reader" % NS
    assert cluster.can(user, "list", "pods", namespace=NS)
    assert not cluster.can(user, "create", "pods", namespace=NS)
    assert not cluster.can(user, "list", "nodes")

    token = cluster.service_account_token(NS, "reader")
    cluster.list_pods(NS)  # as admin
    assert isinstance(cluster.get(cluster.pod_path(NS), token=token)["items"], list)
    with pytest.raises(KubeError) as e:
        cluster.get("/api/v1/nodes", token=token)
    assert e.value.code == 403

    kc = cluster.service_account_kubeconfig(NS, "reader", tmp_path / "sa.kubeconfig")
    assert "token" in kc.read_text()
    env = cluster.write_in_cluster_files(tmp_path / "sa", NS, "reader")
    assert env["KUBERNETES_SERVICE_PORT"] == str(cluster.port)
    assert (tmp_path / "sa" / "namespace").read_text() == NS


def test_resource_quota_admission(cluster):
    cluster.create_namespace("quota")
    cluster.create_resource_quota("quota", "pool", {"requests.cpu": "2", "requests.memory": "4Gi"})
    cluster.create_pod("quota", "q1", cpu=1, memory="1Gi")
    cluster.create_pod("quota", "q2", cpu=1, memory="1Gi")
    with pytest.raises(KubeError) as e:
        cluster.create_pod("quota", "q3", cpu=1, memory="1Gi")
    assert e.value.code == 403 and "exceeded quota" in str(e.value)
    used = cluster.get("/api/v1/namespaces/quota/resourcequotas/pool")["status"]["used"]
    assert used["requests.cpu"] == "2"


def test_apiserver_restart_keeps_objects(cluster):
    cluster.add_nodes(1, prefix="restart")
    cluster.create_pod(NS, "before", node="restart-0")
    cluster.create_pod(NS, "failed-before", node="restart-0")
    cluster.wait_pod_phase(NS, "before", "Running")
    cluster.wait_pod_phase(NS, "failed-before", "Running")
    cluster.fail_pod(NS, "failed-before", exit_code=3)
    port = cluster.port
    down = cluster.restart_apiserver()
    print("kube-apiserver restarted (SIGTERM) in %.1fs" % down)
    assert cluster.port == port
    down = cluster.restart_apiserver(graceful=False)
    print("kube-apiserver restarted (SIGKILL) in %.1fs" % down)
    assert cluster.pod_phase(NS, "before") == "Running"
    assert cluster.node_ready("restart-0")
    assert cluster.pod_phase(NS, "failed-before") == "Failed"
    # kwok's watches came back: a new pod still goes Running.
    cluster.create_pod(NS, "after", node="restart-0")
    cluster.wait_pod_phase(NS, "after", "Running", timeout=60)
