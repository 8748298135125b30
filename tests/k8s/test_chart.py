"""The Helm chart in helm/session-scheduler: lint clean, rendered objects
valid for the real API server (server-side dry run with strict field
validation, and each object against the server's own OpenAPI v3 schema),
the least RBAC that still lets the backend work, values that the schema
refuses, a sessiond.yaml that sessiond itself reads, and a real install
and upgrade that keeps the generated tokens.

Two sets of values: the defaults (nodes capacity) and
helm/session-scheduler/ci/pool-values.yaml (pool capacity with a quota, a
pod template, tenant tokens, TLS, the executor namespace and
ServiceAccount, a ServiceMonitor)."""

import base64
import copy
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from kube_cluster import KubeError, free_port

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "session-scheduler"
POOL_VALUES = CHART / "ci" / "pool-values.yaml"
CRD = Path(__file__).with_name("servicemonitor-crd.yaml")
SESSIOND = Path(os.environ.get("SCHED_BUILD_DIR", ROOT / "build")) / "bin" / "sessiond"

# name -> (values files, release namespace)
VARIANTS = {
    "default": ([], "sched-default"),
    "pool": ([POOL_VALUES], "sched-pool"),
}


def render(helm, variant, release="sched", extra=(), namespace=None):
    files, ns = VARIANTS[variant]
    args = ["template", release, CHART, "--namespace", namespace or ns]
    for f in files:
        args += ["-f", f]
    p = helm.run(*args, *extra)
    assert p.stderr.strip() == "", "helm template warned:\n" + p.stderr
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def by_kind(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert found, "no %s %s rendered" % (kind, name or "")
    return found


def sessiond_yaml(docs):
    cms = [d for d in by_kind(docs, "ConfigMap") if "sessiond.yaml" in d.get("data", {})]
    assert len(cms) == 1
    return yaml.safe_load(cms[0]["data"]["sessiond.yaml"])


@pytest.fixture(scope="module")
def servicemonitor_crd(kube_cluster):
    """The ServiceMonitor kind (a hand-written subset of the operator's CRD,
    see servicemonitor-crd.yaml), Established."""
    crd = yaml.safe_load(CRD.read_text())
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    if not kube_cluster.exists(path + "/" + crd["metadata"]["name"]):
        kube_cluster.create(path, crd)

    def established():
        c = kube_cluster.get(path + "/" + crd["metadata"]["name"])
        conditions = (c.get("status") or {}).get("conditions") or []
        return any(x["type"] == "Established" and x["status"] == "True" for x in conditions)
    kube_cluster.wait_for(established, timeout=30, what="ServiceMonitor CRD Established")
    # Discovery of the new group can lag a moment behind Established.
    kube_cluster.wait_for(lambda: kube_cluster.resource_for("monitoring.coreos.com/v1", "ServiceMonitor"),
                          timeout=30, what="ServiceMonitor in discovery")
    return crd


# --- lint and values --------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_lint_clean(helm, variant):
    files, ns = VARIANTS[variant]
    args = ["lint", "--strict", CHART, "--namespace", ns]
    for f in files:
        args += ["-f", f]
    p = helm.run(*args)
    out = p.stdout + p.stderr
    assert "0 chart(s) failed" in out
    problems = [ln for ln in out.splitlines() if re.search(r"\[(WARNING|ERROR)\]|warning:", ln)]
    assert not problems, out
    # Only the icon remark may remain (an INFO, not a warning).
    infos = [ln for ln in out.splitlines() if "[INFO]" in ln]
    assert all("icon is recommended" in ln for ln in infos), out


def test_every_value_documented():
    """helm/README.md documents every value of values.yaml (by its dotted path)."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (ROOT / "helm" / "README.md").read_text()

    def leaves(node, prefix=""):
        if isinstance(node, dict) and node:
            for k, v in node.items():
                yield from leaves(v, prefix + k + ".")
        else:
            yield prefix[:-1]
    # Free-form maps documented as a whole (their keys are examples).
    whole = ("config.", "podSecurityContext.", "securityContext.", "resources.", "livenessProbe.", "readinessProbe.")
    missing = []
    for path in leaves(values):
        key = next((w[:-1] for w in whole if path.startswith(w)), path)
        if "`%s`" % key not in readme:
            missing.append(key)
    assert not missing, "values not in helm/README.md: %s" % sorted(set(missing))


@pytest.mark.parametrize("bad,message", [
    (["--set", "backend.capacity=cloud"], "backend/capacity"),
    (["--set", "backend.namespace=Not_A_Namespace"], "backend/namespace"),
    (["--set", "replicas=3"], "replicas"),
    (["--set", "config.listen=0.0.0.0:1"], "config"),
    (["--set", "auth.tokens[0].key=t", "--set", "auth.tokens[0].principal=p"], "auth/tokens/0"),
    (["--set", "auth.tokens[0].key=t", "--set", "auth.tokens[0].principal=p",
      "--set", "auth.tokens[0].consumers[0]=no-slash"], "consumers/0"),
    (["--set", "backend.pendingTimeout=five minutes"], "pendingTimeout"),
    (["--set", "backend.podTemplate.apiVersion=v1", "--set", "backend.podTemplate.kind=PodTemplate",
      "--set", "backend.podTemplate.spec.x=1"], "podTemplate"),
    (["--set", "backend.capacity=pool"], "backend.pool or backend.quota"),
    (["--set", "backend.capacity=pool", "--set", "backend.quota=q", "--set", "backend.pool.cpu=8"], "not both"),
])
def test_bad_values_refused(helm, bad, message):
    p = helm.run("template", "x", CHART, *bad, check=False)
    assert p.returncode != 0, p.stdout[:500]
    assert message in p.stderr, p.stderr


def test_rendered_configuration(helm):
    cfg = sessiond_yaml(render(helm, "default"))
    assert cfg["backend"] == {"type": "k8s", "k8s": {
        "kubeconfig": "", "namespace": "spark-executors", "capacity": "nodes", "node_selector": {},
        "count_other_pods": True, "pool": {}, "quota": "", "image": "", "image_pull_policy": "IfNotPresent",
        "service_account": "", "pod_template": "", "consumers": {}, "pending_timeout": "5m", "qps": 50,
        "burst": 100}}
    assert cfg["auth"]["tokens"] == [{"token_file": "/etc/sessiond/tokens/admin", "principal": "admin", "admin": True}]
    assert cfg["consumers"] == [{"name": "default"}]
    for key in ("data_dir", "listen", "metrics_listen"):
        assert key not in cfg  # flags of the StatefulSet

    docs = render(helm, "pool")
    cfg = sessiond_yaml(docs)
    k8s = cfg["backend"]["k8s"]
    assert (k8s["capacity"], k8s["quota"], k8s["pool"]) == ("pool", "spark-pool-quota", {})
    assert k8s["pod_template"] == "/etc/sessiond/pod-template/pod-template.yaml"
    assert k8s["consumers"]["/bank/risk"]["node_selector"] == {"pool": "risk"}
    assert cfg["api"]["tls"] == {"cert": "/etc/sessiond/tls/tls.crt", "key": "/etc/sessiond/tls/tls.key",
                                 "client_ca": "/etc/sessiond/tls/ca.crt"}
    assert [t["principal"] for t in cfg["auth"]["tokens"]] == ["platform-admin", "risk-team", "trading-team"]
    assert cfg["consumers"][0]["children"][1]["name"] == "trading"
    # The files the configuration names are where the pod mounts them.
    sts = by_kind(docs, "StatefulSet")[0]
    mounts = {m["name"]: m["mountPath"] for m in sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert k8s["pod_template"].startswith(mounts["pod-template"] + "/")
    assert cfg["api"]["tls"]["cert"].startswith(mounts["tls"] + "/")
    assert all(t["token_file"].startswith(mounts["tokens"] + "/") for t in cfg["auth"]["tokens"])
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--data-dir=" + mounts["data"] in args and "--listen=0.0.0.0:7077" in args
    # The pod template ConfigMap holds the template as given.
    tmpl = yaml.safe_load(by_kind(docs, "ConfigMap", "sessiond-pod-template")[0]["data"]["pod-template.yaml"])
    assert tmpl["kind"] == "Pod" and tmpl["spec"]["volumes"][0]["name"] == "spark-local"


def test_sessiond_starts_with_the_chart(kube_cluster, helm, tmp_path):
    """sessiond itself reads the rendered sessiond.yaml and the pod template,
    with its files moved into tmp_path and, as the in-cluster credentials
    would be, a token of the chart's ServiceAccount with the chart's RBAC
    applied for real: no configuration error (exit 2, or FILE:LINE: key:
    message), and /readyz answers 200 (state recovered, the backend has
    listed nodes and pods with those rights)."""
    assert SESSIOND.exists(), "%s missing: build first (scripts/test.sh does)" % SESSIOND
    for variant in sorted(VARIANTS):
        docs = render(helm, variant, release="smoke", namespace="smoke-" + variant)
        prepare_namespaces(kube_cluster, docs)
        apply_rbac(kube_cluster, docs)
        cfg = sessiond_yaml(docs)
        k8s = cfg["backend"]["k8s"]
        if k8s["quota"] and not kube_cluster.exists(
                "/api/v1/namespaces/%s/resourcequotas/%s" % (k8s["namespace"], k8s["quota"])):
            kube_cluster.create_resource_quota(k8s["namespace"], k8s["quota"],
                                               {"requests.cpu": "64", "requests.memory": "256Gi"})
        d = tmp_path / variant
        d.mkdir()
        for t in cfg["auth"]["tokens"]:
            f = d / ("token-" + Path(t["token_file"]).name)
            f.write_text("t" * 32 + t["principal"] + "\n")
            t["token_file"] = str(f)
        if cfg.get("api", {}).get("tls"):
            pki = kube_cluster.pki  # any valid PEM files do
            cfg["api"]["tls"] = {"cert": str(pki / "apiserver.crt"), "key": str(pki / "apiserver.key"),
                                 "client_ca": str(pki / "ca.crt")}
        if k8s["pod_template"]:
            cm = [x for x in by_kind(docs, "ConfigMap") if "pod-template.yaml" in x.get("data", {})][0]
            (d / "pod-template.yaml").write_text(cm["data"]["pod-template.yaml"])
            k8s["pod_template"] = str(d / "pod-template.yaml")
        sa = [x for x in by_kind(docs, "ServiceAccount") if x["metadata"]["namespace"] == "smoke-" + variant][0]
        k8s["kubeconfig"] = str(kube_cluster.service_account_kubeconfig(
            sa["metadata"]["namespace"], sa["metadata"]["name"], d / "kubeconfig"))
        path = d / "sessiond.yaml"
        path.write_text(yaml.safe_dump(cfg))
        metrics = free_port()
        p = subprocess.Popen([str(SESSIOND), "--config", str(path), "--data-dir", str(d / "data"),
                              "--listen", "127.0.0.1:%d" % free_port(), "--metrics-listen", "127.0.0.1:%d" % metrics],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = False
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and p.poll() is None and not ready:
                try:
                    ready = requests.get("http://127.0.0.1:%d/readyz" % metrics, timeout=1).status_code == 200
                except requests.RequestException:
                    pass
                time.sleep(0.2)
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                out, _ = p.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
        print("%s: sessiond %s" % (variant, "ready" if ready else "not ready (exit %s)" % p.returncode))
        # "sessiond: FILE:LINE: key: message" is a configuration error.
        assert p.returncode != 2 and str(path) + ":" not in out, "%s:\n%s" % (variant, out)
        assert ready, "%s: sessiond did not get ready:\n%s" % (variant, out[-3000:])


# --- against the API server ---------------------------------------------------


def prepare_namespaces(cluster, docs):
    """The namespaces exist for real before the dry run: the release's, the
    executors' (a Namespace the chart renders is created from it)."""
    for d in docs:
        if d["kind"] == "Namespace":
            try:
                cluster.create_object(d)
            except KubeError as e:
                if e.code != 409:
                    raise
    for d in docs:
        target = d["metadata"].get("namespace")
        if target:
            cluster.create_namespace(target)


def dry_run_apply(cluster, obj):
    """Server-side dry run of creating `obj`, or of replacing it when an
    object of that name exists (a dry-run create of it would be refused
    as AlreadyExists): strict field validation either way."""
    try:
        return cluster.create_object(obj, dry_run=True, strict=True)
    except KubeError as e:
        if e.code != 409:
            raise
    current = cluster.get(cluster.object_path(obj))
    obj = copy.deepcopy(obj)
    obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    return cluster.replace(cluster.object_path(obj), obj, dry_run=True, strict=True)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_server_side_dry_run(kube_cluster, helm, servicemonitor_crd, variant):
    docs = render(helm, variant, namespace="dry-" + variant)
    prepare_namespaces(kube_cluster, docs)
    kinds = set()
    for d in docs:
        if d["kind"] == "Namespace":
            continue
        obj = dry_run_apply(kube_cluster, d)
        assert kube_cluster.last_warnings == [], (d["kind"], kube_cluster.last_warnings)
        assert obj["metadata"]["name"] == d["metadata"]["name"]
        kinds.add(d["kind"])
    assert {"StatefulSet", "Service", "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding",
            "ClusterRole", "ClusterRoleBinding", "PodDisruptionBudget"} <= kinds | {"Secret"}
    if variant == "pool":
        assert "ServiceMonitor" in kinds


def test_dry_run_catches_mistakes(kube_cluster, helm, servicemonitor_crd):
    """The check above is not vacuous: a misspelt field, a wrong type and a
    bad ServiceMonitor interval are each refused."""
    docs = render(helm, "pool", namespace="dry-mistakes")
    prepare_namespaces(kube_cluster, docs)
    sts = copy.deepcopy(by_kind(docs, "StatefulSet")[0])
    sts["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(KubeError) as e:
        dry_run_apply(kube_cluster, sts)
    assert "livenesProbe" in str(e.value)
    svc = copy.deepcopy(by_kind(docs, "Service")[0])
    svc["spec"]["ports"][0]["port"] = "seven"
    with pytest.raises(KubeError):
        dry_run_apply(kube_cluster, svc)
    sm = copy.deepcopy(by_kind(docs, "ServiceMonitor")[0])
    sm["spec"]["endpoints"][0]["interval"] = "15 seconds"
    with pytest.raises(KubeError) as e:
        dry_run_apply(kube_cluster, sm)
    assert "interval" in str(e.value)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_objects_match_openapi_v3(kube_cluster, helm, variant):
    """Each object against the API server's own published OpenAPI v3 schema
    (/openapi/v3), with jsonschema: the same schemas a client-side
    validator such as kubeconform uses, here without a download."""
    import jsonschema
    index = kube_cluster.get("/openapi/v3")["paths"]
    cache = {}
    for d in render(helm, variant):
        if d["apiVersion"].startswith("monitoring.coreos.com"):
            continue  # its schema is our stand-in CRD's, checked by the dry run
        group_path = "api/v1" if d["apiVersion"] == "v1" else "apis/" + d["apiVersion"]
        if group_path not in cache:
            cache[group_path] = kube_cluster.get("/" + index[group_path]["serverRelativeURL"].lstrip("/"))
        doc = cache[group_path]
        gvk = d["apiVersion"].split("/")
        group, version = (gvk[0], gvk[1]) if len(gvk) == 2 else ("", gvk[0])
        gvk = {"group": group, "version": version, "kind": d["kind"]}
        name = next(n for n, s in doc["components"]["schemas"].items()
                    if gvk in s.get("x-kubernetes-group-version-kind", []))
        schema = {"$ref": "#/components/schemas/" + name, "components": doc["components"]}
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(d), key=lambda e: list(e.path))
        assert not errors, "%s %s: %s" % (d["kind"], d["metadata"]["name"],
                                          ["%s: %s" % ("/".join(map(str, e.path)), e.message) for e in errors])


# --- RBAC -------------------------------------------------------------------------


def apply_rbac(cluster, docs):
    for d in docs:
        if d["kind"] in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"):
            try:
                cluster.create_object(d)
            except KubeError as e:
                if e.code != 409:
                    raise
                cluster.replace(cluster.object_path(d), d)
    cluster.wait_rbac(docs)


def test_rbac_default_is_least_privilege(kube_cluster, helm):
    docs = render(helm, "default", release="rbac", namespace="rbac-default")
    prepare_namespaces(kube_cluster, docs)
    apply_rbac(kube_cluster, docs)
    sa = by_kind(docs, "ServiceAccount")[0]["metadata"]
    user = "system:serviceaccount:%s:%s" % (sa["namespace"], sa["name"])
    ex = "spark-executors"
    can = kube_cluster.can
    # What the backend does.
    for verb in ("create", "delete", "get", "list", "watch"):
        assert can(user, verb, "pods", namespace=ex), verb
    assert can(user, "get", "pods", namespace=ex, subresource="status")
    assert can(user, "patch", "pods", namespace=ex, subresource="resize")
    for verb in ("get", "list", "watch"):
        assert can(user, verb, "nodes")
        assert can(user, verb, "pods")  # nodes mode counting other pods: every namespace
    # And nothing more.
    for verb in ("update", "patch", "deletecollection"):
        assert not can(user, verb, "pods", namespace=ex), verb
    assert not can(user, "create", "pods", namespace="default")
    assert not can(user, "delete", "pods", namespace="kube-system")
    assert not can(user, "create", "pods", namespace=ex, subresource="exec")
    assert not can(user, "update", "pods", namespace=ex, subresource="status")
    assert not can(user, "patch", "pods", namespace="default", subresource="resize")
    for verb in ("update", "patch", "delete", "create"):
        assert not can(user, verb, "nodes"), verb
    assert not can(user, "get", "secrets", namespace=ex)
    assert not can(user, "get", "resourcequotas", namespace=ex)

    # The same through a real token of the ServiceAccount.
    token = kube_cluster.service_account_token(sa["namespace"], sa["name"])
    assert kube_cluster.get("/api/v1/nodes", token=token)["kind"] == "NodeList"
    assert kube_cluster.get("/api/v1/namespaces/%s/pods" % ex, token=token)["kind"] == "PodList"
    with pytest.raises(KubeError) as e:
        kube_cluster.get("/api/v1/namespaces/%s/secrets" % ex, token=token)
    assert e.value.code == 403


def test_rbac_pool_mode(kube_cluster, helm):
    docs = render(helm, "pool", release="rbac", namespace="rbac-pool")
    prepare_namespaces(kube_cluster, docs)
    apply_rbac(kube_cluster, docs)
    sa = by_kind(docs, "ServiceAccount", "sessiond")[0]["metadata"]
    user = "system:serviceaccount:%s:%s" % (sa["namespace"], sa["name"])
    ex = "spark-pool"
    can = kube_cluster.can
    assert can(user, "create", "pods", namespace=ex)
    assert can(user, "get", "resourcequotas", namespace=ex, name="spark-pool-quota")
    # list+watch with fieldSelector metadata.name=spark-pool-quota, as the pool follows it
    assert can(user, "watch", "resourcequotas", namespace=ex, name="spark-pool-quota")
    assert not can(user, "get", "resourcequotas", namespace=ex, name="another-quota")
    assert not can(user, "list", "resourcequotas", namespace=ex)
    assert can(user, "list", "nodes")
    # Pool mode does not count other pods: no cluster-wide pod access.
    assert not can(user, "list", "pods")
    assert not can(user, "list", "pods", namespace="default")
    # The executors' ServiceAccount exists in their namespace, without a token.
    exsa = kube_cluster.get("/api/v1/namespaces/%s/serviceaccounts/spark-executor" % ex)
    assert exsa["automountServiceAccountToken"] is False


# --- helm against the API server ------------------------------------------------


def test_install_and_upgrade_keep_tokens(kube_cluster, helm, servicemonitor_crd, tmp_path):
    """A real `helm install` and `helm upgrade` against the API server: the
    generated token survives the upgrade (lookup), and `--dry-run=server`
    of the pool values passes the server's checks."""
    kc = kube_cluster.kubeconfig_path
    ns = "sched-install"
    kube_cluster.create_namespace(ns)
    # spark-executors is shared with other tests: the chart does not create it here.
    kube_cluster.create_namespace("spark-executors")
    helm.run("install", "inst", CHART, "--namespace", ns, kubeconfig=kc)
    secret = "/api/v1/namespaces/%s/secrets/inst-session-scheduler-tokens" % ns
    token = base64.b64decode(kube_cluster.get(secret)["data"]["admin"]).decode()
    assert len(token) == 40
    helm.run("upgrade", "inst", CHART, "--namespace", ns, "--set", "config.log.level=debug", kubeconfig=kc)
    assert base64.b64decode(kube_cluster.get(secret)["data"]["admin"]).decode() == token
    cm = kube_cluster.get("/api/v1/namespaces/%s/configmaps/inst-session-scheduler-config" % ns)
    assert "level: debug" in cm["data"]["sessiond.yaml"]
    helm.run("uninstall", "inst", "--namespace", ns, kubeconfig=kc)
    assert not kube_cluster.exists(secret)

    p = helm.run("install", "pool", CHART, "--namespace", "sched-pool-install", "--create-namespace",
                 "-f", POOL_VALUES, "--set", "backend.namespace=spark-pool-install", "--dry-run=server",
                 kubeconfig=kc)
    assert "kind: ServiceMonitor" in p.stdout
