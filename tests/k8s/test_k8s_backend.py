"""sessiond with its Kubernetes backend against a real API server (etcd +
kube-apiserver, kwok playing the kubelets): executor pods for sessions in
several consumers through the reference scenario's reclaims, a failed pod,
a cordoned node, an API server restart and a kill -9 of sessiond."""

import re
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import Daemon, base_config, granted, ss, wait_for  # noqa: E402

NAMESPACE = "executors"
IMAGE = "registry.invalid/spark-executor:test"
INSTANCE_LABEL = "session-scheduler.io/instance"


def k8s_config(data_dir, kubeconfig, extra_k8s="", grace="1s", namespace=NAMESPACE, pending_timeout="60s"):
    return base_config(data_dir, grace=grace, backend=f"""\
backend:
  type: k8s
  k8s:
    kubeconfig: {kubeconfig}
    namespace: {namespace}
    pending_timeout: {pending_timeout}
    orphan_grace: 0s
    qps: 200
    burst: 400
{extra_k8s}""")


@pytest.fixture
def cluster(kube_cluster):
    """The session's cluster with four 5-cpu nodes (20 one-cpu slots) and an
    empty executor namespace; whatever a test leaves is removed after it."""
    c = kube_cluster
    c.create_namespace(NAMESPACE)
    for p in c.list_pods(NAMESPACE):
        c.delete(c.pod_path(NAMESPACE, p["metadata"]["name"]), grace_period_seconds=0, missing_ok=True)
    for n in c.list("/api/v1/nodes"):
        c.delete_node(n["metadata"]["name"])
    c.add_nodes(4, cpu="5", memory="20Gi", prefix="worker")
    c.wait_for(lambda: all(c.node_ready(f"worker-{i}") for i in range(4)), what="nodes Ready")
    yield c
    for p in c.list_pods(NAMESPACE):
        c.delete(c.pod_path(NAMESPACE, p["metadata"]["name"]), grace_period_seconds=0, missing_ok=True)


@pytest.fixture
def daemon(cluster, tmp_path):
    made = []

    def make(**kw):
        d = Daemon(tmp_path / f"d{len(made)}", k8s_config(tmp_path / f"data{len(made)}", cluster.kubeconfig_path, **kw))
        made.append(d)
        return d.start(timeout=60)

    yield make
    for d in made:
        d.stop()


def launch():
    return ss.api.LaunchSpec(command=["/opt/spark/bin/executor", "--cores", "{slots}"], image=IMAGE)


def pods(cluster, session=None, running=None):
    """Our executor pods not being deleted, by name -> (node, phase)."""
    out = {}
    for p in cluster.list_pods(NAMESPACE):
        meta = p["metadata"]
        if meta.get("deletionTimestamp"):
            continue
        if session is not None and meta.get("annotations", {}).get("session-scheduler.io/session-id") != session:
            continue
        phase = p.get("status", {}).get("phase")
        if running is not None and (phase == "Running") != running:
            continue
        out[meta["name"]] = (p["spec"].get("nodeName"), phase)
    return out


def slots_of_running_executors(session):
    return sum(e.slots for e in session.heartbeat(wait_ms=0).executors if e.state == 2)


def pod_requests_cpu(cluster, name):
    p = cluster.get_pod(NAMESPACE, name)
    c = p["spec"]["containers"][0]
    assert c["resources"]["requests"] == c["resources"]["limits"]
    return c["resources"]["requests"]["cpu"]


def test_pods_follow_the_reference_scenario(cluster, daemon):
    d = daemon()
    admin = d.client()
    assert admin.admin.status().backend == "k8s"
    assert sorted(h.name for h in admin.admin.status().hosts) == [f"worker-{i}" for i in range(4)]

    # T0: A wants 20 and gets all 20: one executor pod per node, Running.
    a = admin.register("/A", sla="batch", initial_demand=20, launch=launch(), application="a-batch")
    wait_for(lambda: granted(admin, "/A") == 20, what="A = 20")
    wait_for(lambda: slots_of_running_executors(a) == 20, timeout=30, what="A's executors running")
    a_pods = pods(cluster, a.id, running=True)
    assert len(a_pods) == 4, a_pods
    assert {node for node, _ in a_pods.values()} == {f"worker-{i}" for i in range(4)}
    assert all(pod_requests_cpu(cluster, n) == "5" for n in a_pods)

    # T1: B1 wants 20: B reclaims its 16 from A after the grace period; A's
    # pods on the nodes it left are deleted, B1's created there.
    b1 = admin.register("/B/B1", sla="batch", initial_demand=20, launch=launch(), application="b1-batch")
    wait_for(lambda: (granted(admin, "/A"), granted(admin, "/B/B1")) == (4, 16), timeout=30, what="A:B1 = 4:16")
    wait_for(lambda: slots_of_running_executors(b1) == 16, timeout=30, what="B1's executors running")
    wait_for(lambda: len(pods(cluster, a.id)) < 4, timeout=30, what="some of A's pods deleted")
    b1_pods = pods(cluster, b1.id, running=True)
    assert b1_pods and all(node is not None for node, _ in b1_pods.values())

    # T2: A ends all work: its pods go, B1 takes everything.
    a.update_demand(slots=0)
    wait_for(lambda: (granted(admin, "/A"), granted(admin, "/B/B1")) == (0, 20), timeout=30, what="B1 = 20")
    wait_for(lambda: not pods(cluster, a.id), timeout=30, what="A's pods gone")
    wait_for(lambda: slots_of_running_executors(b1) == 20, timeout=30, what="B1 runs 20")

    # T3: B2 wants 20: it reclaims its 12 from its sibling B1.
    b2 = admin.register("/B/B2", sla="batch", initial_demand=20, launch=launch(), application="b2-batch")
    wait_for(lambda: (granted(admin, "/B/B1"), granted(admin, "/B/B2")) == (8, 12), timeout=30, what="B1:B2 = 8:12")
    wait_for(lambda: slots_of_running_executors(b2) == 12, timeout=30, what="B2 runs 12")

    # Each Running pod is a live executor of the daemon; nothing leaked.
    live = {e.executor_id for s in (b1, b2) for e in s.heartbeat(wait_ms=0).executors if e.state in (1, 2)}
    wait_for(lambda: len(pods(cluster)) == len(live), timeout=30, what="one pod per live executor")
    for s in (a, b1, b2):
        s.unregister()
    wait_for(lambda: not pods(cluster), timeout=30, what="all pods deleted")
    assert admin.admin.status().executors == 0

    # What the backend asked of the API server is on /metrics.
    ops = backend_operations(d)
    assert ops.get("request_create", 0) >= 8 and ops.get("request_delete", 0) >= 8, ops
    assert ops.get("request_watch", 0) >= 3, ops


def test_failed_pod_and_cordoned_node(cluster, daemon):
    d = daemon()
    admin = d.client()
    s = admin.register("/A", sla="batch", initial_demand=10, launch=launch(), application="oom")
    wait_for(lambda: slots_of_running_executors(s) == 10, timeout=30, what="10 slots running")
    victim, (node, _) = sorted(pods(cluster, s.id, running=True).items())[0]

    # The executor is OOMKilled: the daemon hears why, and replaces it.
    cluster.fail_pod(NAMESPACE, victim, exit_code=137, reason="OOMKilled")
    ended = wait_for(lambda: [e for e in s.heartbeat(wait_ms=0).executors if e.state == 4], timeout=30,
                     what="the executor reported exited")
    assert ended[0].exit_code == 137 and "OOMKilled" in ended[0].detail, ended[0]
    wait_for(lambda: slots_of_running_executors(s) == 10, timeout=30, what="a replacement running")
    wait_for(lambda: victim not in pods(cluster), timeout=30, what="the failed pod deleted")

    # A node is cordoned: its slots are revoked through the normal path, its
    # pod deleted, and nothing new lands there.
    on_node = wait_for(lambda: [n for n, (h, _) in pods(cluster, s.id, running=True).items()],
                       what="pods")
    target = pods(cluster, s.id)[on_node[0]][0]
    cluster.cordon(target)
    wait_for(lambda: any(h.name == target and h.draining for h in admin.admin.status().hosts), what="host draining")
    wait_for(lambda: all(node != target for node, _ in pods(cluster, s.id).values()), timeout=30,
             what="no pod left on the cordoned node")
    wait_for(lambda: slots_of_running_executors(s) == 10, timeout=30, what="10 slots again elsewhere")
    assert "host_drained" in d.log()
    cluster.uncordon(target)
    wait_for(lambda: any(h.name == target and not h.draining for h in admin.admin.status().hosts),
             what="host back")
    s.unregister()
    wait_for(lambda: not pods(cluster), timeout=30, what="pods deleted")


def test_pod_requests_follow_slots_moved_in_place(cluster, daemon):
    """When slots move between sessions on a node without a pod starting or
    stopping, the pods are resized in place (pods/resize), so a kubelet
    admitting pods on that node counts what the scheduler counts."""
    d = daemon()
    admin = d.client()
    a = admin.register("/A", sla="batch", initial_demand=20, launch=launch(), application="a-batch")
    wait_for(lambda: slots_of_running_executors(a) == 20, timeout=30, what="A's executors running")
    # B1 reclaims 16 of A's 20: A keeps 4 slots, which its 5-slot pods cannot
    # hold whole, so at least one of A's pods stays with fewer slots.
    b1 = admin.register("/B/B1", sla="batch", initial_demand=20, launch=launch(), application="b1-batch")
    wait_for(lambda: (granted(admin, "/A"), granted(admin, "/B/B1")) == (4, 16), timeout=30, what="A:B1 = 4:16")
    wait_for(lambda: slots_of_running_executors(b1) == 16, timeout=30, what="B1's executors running")

    def sizes():
        """Per live executor pod: (node, slots the daemon gives it, cpu its spec requests)."""
        slots = {e.executor_id: e.slots for s in (a, b1) for e in s.heartbeat(wait_ms=0).executors if e.state == 2}
        out = {}
        for p in cluster.list_pods(NAMESPACE):
            if p["metadata"].get("deletionTimestamp"):
                continue
            ex = p["metadata"]["annotations"]["session-scheduler.io/executor-id"]
            res = p["spec"]["containers"][0]["resources"]
            assert res["requests"] == res["limits"], res  # still Guaranteed
            out[ex] = (p["spec"]["nodeName"], slots.get(ex), res["requests"]["cpu"], res["requests"]["memory"])
        return out

    def settled():
        s = sizes()
        return s and all(n is not None and cpu == str(n) and mem == f"{n}Gi" for _, n, cpu, mem in s.values())

    wait_for(settled, timeout=30, what=f"pod requests = slots (now {sizes()})")
    per_node = {}
    for node, n, _, _ in sizes().values():
        per_node[node] = per_node.get(node, 0) + n
    assert all(v <= 5 for v in per_node.values()), per_node  # each node has 5 cpu
    ops = backend_operations(d)
    assert ops.get("pod_resized", 0) >= 1 and ops.get("request_resize", 0) >= 1, ops
    assert ops.get("pod_resize_failed", 0) == 0, ops

    # A resize lost in a crash: the daemon dies, and one pod is left at
    # another size (as if the PATCH never left). Adopted after the restart,
    # the pod is resized back to its executor's slots.
    d.kill9()
    name = next(p["metadata"]["name"] for p in cluster.list_pods(NAMESPACE)
                if not p["metadata"].get("deletionTimestamp"))
    wrong = {"cpu": "7", "memory": "7Gi"}  # more than a node has: no executor is this size
    cluster.request("PATCH", cluster.pod_path(NAMESPACE, name) + "/resize",
                    {"spec": {"containers": [{"name": "executor", "resources": {"requests": wrong, "limits": wrong}}]}},
                    content_type="application/strategic-merge-patch+json")
    d.start(timeout=60)
    for s in (a, b1):
        s.client = d.client()
        s.heartbeat(wait_ms=0)
    wait_for(settled, timeout=30, what=f"pod requests = slots after the restart (now {sizes()})")
    assert "k8s_pod_adopted" in d.log()
    for s in (a, b1):
        s.unregister()
    wait_for(lambda: not pods(cluster), timeout=30, what="all pods deleted")


def backend_operations(d):
    """The k8s backend's running totals from /metrics, by operation."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{d.metrics_port}/metrics", timeout=10).read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'sessiond_backend_operations_total\{backend="k8s",operation="([a-z_]+)"\} ([0-9.e+]+)', text)}


def test_api_server_restart_and_kill9(cluster, daemon):
    d = daemon()
    admin = d.client()
    s = admin.register("/B/B2", sla="batch", initial_demand=8, launch=launch(), application="steady")
    wait_for(lambda: slots_of_running_executors(s) == 8, timeout=30, what="8 slots running")
    before = pods(cluster, s.id)

    # The API server dies for a few seconds (killed: the watches break
    # instead of hearing it shut down); meanwhile the session wants more, and
    # etcd's history is compacted, so the watches resume from
    # resourceVersions that are gone (410 Gone). The backend backs off, lists
    # again, and the pods come, once.
    relists = backend_operations(d).get("watch_relist", 0)
    cluster.stop_apiserver(graceful=False)
    s.update_demand(slots=16)
    cluster.compact_etcd()
    time.sleep(4)
    cluster.start_apiserver()
    wait_for(lambda: slots_of_running_executors(s) == 16, timeout=60, what="16 slots after the restart")
    wait_for(lambda: backend_operations(d).get("watch_relist", 0) > relists, timeout=30,
             what="a watch listing again after 410 Gone")
    assert "k8s_watch_expired" in d.log()
    after = pods(cluster, s.id, running=True)
    live = {e.executor_id for e in s.heartbeat(wait_ms=0).executors if e.state in (1, 2)}
    assert len(after) == len(live), (after, live)
    assert set(before) <= set(after)
    # The pod watch is live again: a pod deleted behind the daemon's back is
    # noticed and replaced.
    gone = sorted(after)[0]
    cluster.delete(cluster.pod_path(NAMESPACE, gone), grace_period_seconds=0)
    wait_for(lambda: gone not in pods(cluster) and len(pods(cluster, s.id, running=True)) == len(after),
             timeout=30, what="the deleted pod replaced")
    wait_for(lambda: slots_of_running_executors(s) == 16, timeout=30, what="16 slots again")
    after = pods(cluster, s.id, running=True)

    # kill -9: the pods keep running; the restarted daemon adopts them (none
    # duplicated) and deletes an orphan that carries its mark.
    instance = cluster.get_pod(NAMESPACE, next(iter(after)))["metadata"]["labels"][INSTANCE_LABEL]
    uids = {n: cluster.get_pod(NAMESPACE, n)["metadata"]["uid"] for n in after}
    d.kill9()
    res = {"cpu": "1", "memory": "1Gi"}
    cluster.create(cluster.pod_path(NAMESPACE), {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{instance}-orphan-1", "labels": {INSTANCE_LABEL: instance},
                     "annotations": {"session-scheduler.io/executor-id": "orphan-1"}},
        "spec": {"nodeName": "worker-0", "restartPolicy": "Never",
                 "containers": [{"name": "executor", "image": IMAGE, "resources": {"requests": res, "limits": res}}]}})
    d.start(timeout=60)
    s.client = d.client()  # the driver re-attaches to the new port
    s.heartbeat(wait_ms=0)
    wait_for(lambda: f"{instance}-orphan-1" not in pods(cluster), timeout=30, what="orphan deleted")
    assert "k8s_pod_adopted" in d.log()
    now = pods(cluster, s.id, running=True)
    assert {n: cluster.get_pod(NAMESPACE, n)["metadata"]["uid"] for n in now} == uids
    assert slots_of_running_executors(s) == 16
    s.unregister()
    wait_for(lambda: not pods(cluster), timeout=30, what="pods deleted")


def test_bad_backend_configuration_is_refused(tmp_path, kube_cluster):
    d = Daemon(tmp_path / "bad", k8s_config(tmp_path / "data", kube_cluster.kubeconfig_path,
                                            extra_k8s="    capacity: cloud\n"))
    with pytest.raises(RuntimeError, match=r"backend.k8s.capacity: expected nodes or pool"):
        d.start(timeout=30)


def test_pool_mode_takes_capacity_from_a_quota(cluster, daemon):
    """Pool mode: one host sized by the namespace's ResourceQuota, followed
    as the operator changes it (lowered: executors beyond it are revoked;
    deleted: the last size is kept); pods carry no node name (the
    Kubernetes scheduler would place them)."""
    ns = "pool-executors"
    cluster.create_namespace(ns)
    cluster.create_resource_quota(ns, "spark", {"requests.cpu": "12", "requests.memory": "48Gi"})
    d = daemon(namespace=ns, extra_k8s="    capacity: pool\n    quota: spark\n")
    admin = d.client()
    hosts = admin.admin.status().hosts
    assert [(h.name, h.capacity.cpu_millis) for h in hosts] == [("pool", 12000)]
    s = admin.register("/A", sla="batch", initial_demand=20, launch=launch(), application="pooled")
    wait_for(lambda: granted(admin, "/A") == 12, what="A = the pool's 12")
    made = wait_for(lambda: cluster.list_pods(ns), timeout=30, what="a pod")
    assert all("nodeName" not in p["spec"] for p in made)
    pool_cpu = lambda: [h.capacity.cpu_millis for h in admin.admin.status().hosts]  # noqa: E731
    cluster.set_resource_quota(ns, "spark", {"requests.cpu": "16", "requests.memory": "64Gi"})
    wait_for(lambda: pool_cpu() == [16000], what="the pool grown to the raised quota")
    wait_for(lambda: granted(admin, "/A") == 16, what="A = the pool's 16")
    cluster.set_resource_quota(ns, "spark", {"requests.cpu": "6", "requests.memory": "24Gi"})
    wait_for(lambda: pool_cpu() == [6000], what="the pool shrunk to the lowered quota")
    wait_for(lambda: granted(admin, "/A") == 6, timeout=30, what="A revoked down to the pool's 6")
    cluster.delete("/api/v1/namespaces/%s/resourcequotas/spark" % ns)
    time.sleep(1)
    assert pool_cpu() == [6000] and granted(admin, "/A") == 6
    s.unregister()
    wait_for(lambda: not [p for p in cluster.list_pods(ns) if not p["metadata"].get("deletionTimestamp")],
             timeout=30, what="pods deleted")


def test_pod_pending_too_long_is_a_launch_failure(cluster, daemon):
    """A node whose kubelet never starts anything (its image never pulls):
    after pending_timeout the daemon hears a launch failure naming the
    reason, and the pod is deleted."""
    for n in range(4):
        cluster.cordon(f"worker-{n}")
    cluster.add_nodes(1, cpu="4", memory="16Gi", prefix="stuck", managed=False)
    d = daemon(pending_timeout="3s")
    admin = d.client()
    wait_for(lambda: [h.name for h in admin.admin.status().hosts if not h.draining] == ["stuck-0"],
             what="only the stuck node schedulable")
    s = admin.register("/A", sla="batch", initial_demand=2, launch=launch(), application="stuck")
    name = wait_for(lambda: list(pods(cluster, s.id)), timeout=30, what="a pod")[0]
    cluster.patch(cluster.pod_path(NAMESPACE, name) + "/status", {"status": {"phase": "Pending", "containerStatuses": [
        {"name": "executor", "image": IMAGE, "imageID": "", "ready": False, "restartCount": 0,
         "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}})
    failed = wait_for(lambda: [e for e in s.heartbeat(wait_ms=0).executors if e.state == 4], timeout=30,
                      what="the launch reported failed")
    assert "pending for" in failed[0].detail and "ImagePullBackOff" in failed[0].detail, failed[0].detail
    assert "k8s_pod_pending_too_long" in d.log()
    s.unregister()


def test_other_workloads_pods_take_room_from_a_node(cluster, daemon):
    """A node offers its allocatable minus what pods that are not the
    daemon's request; they come and go while sessiond runs."""
    d = daemon()
    admin = d.client()

    def cpu_of(node):
        return next(h.capacity.cpu_millis for h in admin.admin.status().hosts if h.name == node)

    assert cpu_of("worker-1") == 5000
    cluster.create_namespace("other")
    cluster.create_pod("other", "web-1", node="worker-1", cpu="2", memory="1Gi")
    wait_for(lambda: cpu_of("worker-1") == 3000, timeout=30, what="worker-1 down to 3 cpus")
    s = admin.register("/A", sla="batch", initial_demand=20, launch=launch(), application="around-web")
    wait_for(lambda: granted(admin, "/A") == 18, timeout=30, what="A = the 18 slots left")
    on_1 = [e for e in s.heartbeat(wait_ms=0).executors if e.host == "worker-1" and e.state in (1, 2)]
    assert sum(e.slots for e in on_1) == 3, on_1
    cluster.delete(cluster.pod_path("other", "web-1"), grace_period_seconds=0)
    wait_for(lambda: cpu_of("worker-1") == 5000, timeout=30, what="worker-1 back to 5 cpus")
    wait_for(lambda: granted(admin, "/A") == 20, timeout=30, what="A = 20")
    s.unregister()
    wait_for(lambda: not pods(cluster), timeout=30, what="pods deleted")


def test_throttling_api_server_is_retried(cluster, tmp_path):
    """The API server refuses mutating requests beyond one in flight (429
    with Retry-After: max-in-flight limits, priority and fairness off) while
    another client keeps writing. sessiond runs as a ServiceAccount (the
    group system:masters, the tests' admin, is never refused): its backend
    backs off and retries, and every executor gets exactly one pod."""
    import threading

    import requests

    cluster.create_service_account(NAMESPACE, "throttled")
    binding = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    cluster.delete(binding + "/throttled-sessiond", missing_ok=True)
    cluster.create(binding, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "throttled-sessiond"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "throttled", "namespace": NAMESPACE}]})
    # The authorizer sees a new binding a moment after it is written.
    cluster.wait_for(lambda: cluster.can("system:serviceaccount:%s:throttled" % NAMESPACE, "list", "nodes"),
                     timeout=15, what="the throttled ServiceAccount's binding to take effect")
    kubeconfig = cluster.service_account_kubeconfig(NAMESPACE, "throttled", tmp_path / "sa.kubeconfig")

    def hammer(stop):
        # Another busy client: server-side dry-run writes that hold the one
        # mutating slot for a few milliseconds each.
        http = requests.Session()
        http.trust_env = False
        http.verify = cluster.session.verify
        http.headers.update(cluster.session.headers)
        url = cluster.server + f"/api/v1/namespaces/{NAMESPACE}/configmaps"
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "load-"},
                "data": {"k": "v" * 2048}}
        while not stop.is_set():
            try:
                http.post(url, params={"dryRun": "All"}, json=body, timeout=10)
            except requests.RequestException:
                pass
            time.sleep(0.001)

    saved = list(cluster.apiserver.args)
    stop = threading.Event()
    threads = [threading.Thread(target=hammer, args=(stop,), daemon=True) for _ in range(2)]
    d = Daemon(tmp_path / "d", k8s_config(tmp_path / "data", kubeconfig))
    cluster.stop_apiserver()
    cluster.apiserver.args = saved + ["--enable-priority-and-fairness=false", "--max-mutating-requests-inflight=1"]
    try:
        cluster.start_apiserver()
        for t in threads:
            t.start()
        d.start(timeout=60)
        admin = d.client()
        s = admin.register("/B/B2", sla="batch", initial_demand=12, launch=launch(), application="throttled")
        wait_for(lambda: slots_of_running_executors(s) == 12, timeout=120, what="12 slots under throttling")
        # Pods come and go until the backend has been refused at least once.
        for demand in (2, 12) * 4:
            if backend_operations(d).get("server_throttled", 0) > 0:
                break
            s.update_demand(slots=demand)
            wait_for(lambda: slots_of_running_executors(s) == demand, timeout=120, what=f"{demand} slots")
        ops = backend_operations(d)
        assert ops.get("server_throttled", 0) > 0, ops
        assert ops.get("retry", 0) >= ops["server_throttled"], ops  # each refusal was retried
        assert ops.get("pod_create_failed", 0) == 0, ops
        live = {e.executor_id for e in s.heartbeat(wait_ms=0).executors if e.state in (1, 2)}
        wait_for(lambda: len(pods(cluster, s.id, running=True)) == len(live), timeout=60,
                 what="one running pod per live executor")
        s.unregister()
        wait_for(lambda: not pods(cluster), timeout=60, what="pods deleted")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        d.stop()
        cluster.stop_apiserver()
        cluster.apiserver.args = saved
        cluster.start_apiserver()
        cluster.delete(binding + "/throttled-sessiond", missing_ok=True)
