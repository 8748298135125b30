"""A real Kubernetes control plane on loopback for tests: etcd (Debian's
etcd-server), kube-apiserver (built from k8s.io/kubernetes by
scripts/k8s-tools.sh) and kwok, which plays the kubelets of fake nodes: it
marks the nodes it manages Ready, moves pods bound to them (spec.nodeName set
by the client: there is no kube-scheduler) to Running, and removes pods that
are being deleted. There is no kube-controller-manager either: no garbage
collector, no namespace finalizer, no ResourceQuota controller (see
`create_resource_quota`), no ServiceAccount controller (`create_namespace`
creates the `default` ServiceAccount itself).

The API server listens on 127.0.0.1 with TLS (a CA generated per cluster) and
RBAC; the admin is a static bearer token in group system:masters. The
kubeconfig at `kubeconfig_path` carries certificate-authority-data and that
token; `cert_kubeconfig_path` has the same admin as a client certificate
instead.

Use it as a context manager or through the pytest fixture `kube_cluster`
(tests/k8s/conftest.py). Every process is killed on stop(), at interpreter
exit, and (PR_SET_PDEATHSIG) when the Python process that started it dies."""

import atexit
import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[2]
K8S_TOOLS_SCRIPT = ROOT / "scripts" / "k8s-tools.sh"
ETCD = "etcd"

# kwok's configuration: its own node stages, and pod stages of ours. Any pod
# stage given replaces all of kwok's defaults, so both are here:
# - ready: a bound pod runs at once, and its container statuses carry the
#   container's resources, as a kubelet with in-place resize (1.33+) reports
#   them. The API server takes a pods/resize only for pods whose running
#   containers report resources: that is how it tells such a kubelet from an
#   older one.
# - gone: a pod being deleted is removed (its finalizers dropped).
# kwok does not play the kubelet's side of a resize (status following spec).
KWOK_CONFIG = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options: {}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.podIP', operator: DoesNotExist}
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state: {running: {startedAt: {{ $now | Quote }}}}
        resources:{{ YAML .resources 2 }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-gone
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: Exists}
  next:
    finalizers: {empty: true}
    delete: true
"""

# Annotation that tells our kwok which nodes are its own (its own convention).
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_NODE_ANNOTATION_VALUE = "fake"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class KubeError(RuntimeError):
    """An API call answered with an error status; `code` and `body` (the
    Status object when there is one) say which."""

    def __init__(self, method, path, code, body):
        self.method, self.path, self.code, self.body = method, path, code, body
        msg = body.get("message") if isinstance(body, dict) else body
        super().__init__("%s %s: %s %s" % (method, path, code, msg))

    @property
    def reason(self):
        return self.body.get("reason") if isinstance(self.body, dict) else None


def k8s_bin_dir():
    """The folder of kube-apiserver, kwok and helm. Built by
    scripts/k8s-tools.sh (scripts/setup.sh runs it); a test never builds:
    missing tools fail the test with the command that installs them."""
    sched_cache = Path(os.environ.get("SCHED_CACHE", Path.home() / ".cache" / "session-scheduler"))
    d = sched_cache / "k8s" / "bin"
    missing = [t for t in ("kube-apiserver", "kwok", "helm") if not (d / t).is_file()]
    if missing:
        raise RuntimeError("missing %s in %s: run scripts/setup.sh (or bash %s) first"
                           % (", ".join(missing), d, K8S_TOOLS_SCRIPT))
    if shutil.which(ETCD) is None:
        raise RuntimeError("etcd is not installed: run scripts/setup.sh (Debian package etcd-server)")
    return d


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    # Runs in the child between fork and exec: ask the kernel to SIGKILL it
    # when the thread that started it goes (a killed pytest leaves nothing).
    # Its own session, so that stop() can signal the whole group.
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class _Proc:
    """One child process with its output in a log file."""

    def __init__(self, name, args, log_path, env=None):
        self.name, self.args, self.log_path, self.env = name, args, Path(log_path), env
        self.popen = None

    def start(self):
        log = open(self.log_path, "ab")
        try:
            self.popen = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env=self.env, preexec_fn=_die_with_parent, close_fds=True)
        finally:
            log.close()

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout=15):
        """SIGTERM to its process group, SIGKILL after `timeout`."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            steps = ((signal.SIGTERM, timeout), (signal.SIGKILL, 30)) if timeout else ((signal.SIGKILL, 30),)
            for sig, wait in steps:
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            # The leader is gone; a stray child of its group may not be.
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.popen = None

    def kill(self):
        """SIGKILL: a crash."""
        self.stop(timeout=0)

    def tail(self, n=30):
        if not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()[-n:]
        return "--- %s (%s) ---\n%s\n" % (self.name, self.log_path, "\n".join(lines))


_LIVE = weakref.WeakSet()


@atexit.register
def _stop_all():
    for c in list(_LIVE):
        c.stop()


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


class KubeCluster:
    """etcd + kube-apiserver + kwok under `workdir` (certificates, data,
    kubeconfigs, logs)."""

    def __init__(self, workdir=None, kwok=True, apiserver_args=(), bin_dir=None, keep_data=False):
        """workdir: None for a temporary folder, removed by stop().
        keep_data: keep etcd's data (62 MB, mostly a preallocated WAL) after
        stop(); the logs always stay in a given workdir."""
        self._own_workdir = workdir is None
        if workdir is None:
            workdir = tempfile.mkdtemp(prefix="kube-cluster-")
        self.workdir = Path(workdir)
        self.keep_data = keep_data
        self.with_kwok = kwok
        self.extra_apiserver_args = list(apiserver_args)
        self._bin_dir = Path(bin_dir) if bin_dir else None
        self.port = None
        self.etcd_port = None
        self.admin_token = None
        self.etcd = self.apiserver = self.kwok = None
        self.start_seconds = None
        self.session = None
        self.last_warnings = []
        self._discovery = None
        self._lock = threading.Lock()

    # --- paths and addresses ---------------------------------------------

    @property
    def server(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def bin_dir(self):
        if self._bin_dir is None:
            self._bin_dir = k8s_bin_dir()
        return self._bin_dir

    @property
    def helm(self):
        return str(self.bin_dir / "helm")

    @property
    def pki(self):
        return self.workdir / "pki"

    @property
    def ca_file(self):
        return self.pki / "ca.crt"

    @property
    def kubeconfig_path(self):
        """Admin kubeconfig: certificate-authority-data + a bearer token."""
        return self.workdir / "admin.kubeconfig"

    @property
    def cert_kubeconfig_path(self):
        """Admin kubeconfig: certificate-authority-data + a client certificate
        (CN admin-cert, O system:masters)."""
        return self.workdir / "admin-cert.kubeconfig"

    # --- lifecycle --------------------------------------------------------

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=90):
        """Certificates, etcd, kube-apiserver (waits for /readyz) and kwok;
        `start_seconds` is how long it took."""
        t0 = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        bin_dir = self.bin_dir
        _LIVE.add(self)
        try:
            self.port, self.etcd_port, etcd_peer = free_port(), free_port(), free_port()
            self._make_pki()
            self.admin_token = uuid.uuid4().hex + uuid.uuid4().hex
            (self.workdir / "tokens.csv").write_text('%s,admin,admin-uid,"system:masters"\n' % self.admin_token)
            self._write_kubeconfigs()
            self.session = requests.Session()
            # Not the environment's: REQUESTS_CA_BUNDLE would override
            # session.verify, and no proxy is wanted on loopback.
            self.session.trust_env = False
            self.session.verify = str(self.ca_file)
            self.session.headers["Authorization"] = "Bearer " + self.admin_token

            etcd_data = self.workdir / "etcd"
            etcd_url = "http://127.0.0.1:%d" % self.etcd_port
            peer_url = "http://127.0.0.1:%d" % etcd_peer
            self.etcd = _Proc("etcd", [
                ETCD, "--name", "test", "--data-dir", str(etcd_data),
                "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", "test=" + peer_url, "--initial-cluster-state", "new",
                "--logger", "zap", "--log-level", "warn", "--snapshot-count", "10000",
            ], self.workdir / "etcd.log")
            self.etcd.start()
            self._wait(lambda: self._etcd_healthy(), timeout, "etcd health")

            pki = self.pki
            self.apiserver = _Proc("kube-apiserver", [
                str(bin_dir / "kube-apiserver"),
                "--etcd-servers", etcd_url,
                "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
                "--secure-port", str(self.port),
                "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
                "--client-ca-file", str(pki / "ca.crt"),
                "--token-auth-file", str(self.workdir / "tokens.csv"),
                "--authorization-mode", "RBAC",
                "--service-account-issuer", SERVICE_ACCOUNT_ISSUER,
                "--service-account-key-file", str(pki / "sa.pub"),
                "--service-account-signing-key-file", str(pki / "sa.key"),
                "--service-cluster-ip-range", "10.96.0.0/16",
                "--allow-privileged=true",
                # The `kubernetes` Service's endpoints would be 127.0.0.1,
                # which Endpoints validation refuses: no reconciler.
                "--endpoint-reconciler-type", "none",
                "--profiling=false",
                # With WatchList on (the default since 1.32), a watch from
                # resourceVersion "" or "0" is served as a streaming list
                # (sendInitialEvents), which needs etcd's RequestWatchProgress:
                # Debian's etcd 3.4.23 lacks it (3.4.31+), so every such watch
                # would end at once with an error (kwok's informers watch from
                # "0"). Off, those watches are served the classic way.
                "--feature-gates", "WatchList=false",
                # On SIGTERM, end open watches (clients see the stream close)
                # instead of waiting for the HTTP server's 60s shutdown
                # timeout: a graceful restart takes about a second.
                "--shutdown-watch-termination-grace-period", "2s",
                "--v", "1",
            ] + self.extra_apiserver_args, self.workdir / "kube-apiserver.log")
            self._start_apiserver(timeout)

            if self.with_kwok:
                (self.workdir / "kwok.yaml").write_text(KWOK_CONFIG)
                self.kwok = _Proc("kwok", [
                    str(bin_dir / "kwok"),
                    "--kubeconfig", str(self.kubeconfig_path),
                    "--config", str(self.workdir / "kwok.yaml"),
                    "--manage-all-nodes=false",
                    "--manage-nodes-with-annotation-selector",
                    "%s=%s" % (KWOK_NODE_ANNOTATION, KWOK_NODE_ANNOTATION_VALUE),
                    "--cidr", "10.244.0.1/16",
                    "--node-ip", "10.240.0.1",
                ], self.workdir / "kwok.log", env=dict(os.environ, HOME=str(self.workdir)))
                self.kwok.start()
                # kwok has no readiness endpoint without its server; it is
                # ready when it says it has started its controllers.
                self._wait(lambda: self._kwok_started(), timeout, "kwok start")
        except BaseException:
            detail = self.logs()
            self.stop()
            if isinstance(detail, str) and detail:
                print(detail)
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _start_apiserver(self, timeout):
        self.apiserver.start()
        self._wait(lambda: self._ready(), timeout, "kube-apiserver /readyz")
        self._discovery = None

    def stop(self):
        """Stops kwok, kube-apiserver and etcd; safe to call twice."""
        for p in (self.kwok, self.apiserver, self.etcd):
            if p is not None:
                p.stop()
        if self.session is not None:
            self.session.close()
        _LIVE.discard(self)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        elif not self.keep_data:
            shutil.rmtree(self.workdir / "etcd", ignore_errors=True)

    def restart_apiserver(self, timeout=90, down_seconds=0, graceful=True):
        """Stops kube-apiserver and starts it again on the same port with the
        same etcd; `down_seconds` keeps it down that long. graceful: SIGTERM
        (open watches are ended, then it exits, about a second); else SIGKILL
        (connections just drop). Returns the downtime in seconds."""
        t0 = time.monotonic()
        if graceful:
            self.apiserver.stop()
        else:
            self.apiserver.kill()
        if down_seconds:
            time.sleep(down_seconds)
        self._start_apiserver(timeout)
        return time.monotonic() - t0

    def stop_apiserver(self, graceful=True):
        if graceful:
            self.apiserver.stop()
        else:
            self.apiserver.kill()

    def start_apiserver(self, timeout=90):
        self._start_apiserver(timeout)

    def compact_etcd(self):
        """Compacts etcd's history up to its current revision (etcd's JSON
        gateway, as `etcdctl compact` would): a watch that resumes from an
        older resourceVersion then gets 410 Gone and must list again.
        Returns the revision compacted to."""
        url = "http://127.0.0.1:%d/v3/kv/" % self.etcd_port
        key = base64.b64encode(b"/").decode()
        r = requests.post(url + "range", json={"key": key, "limit": 1}, timeout=10)
        r.raise_for_status()
        revision = int(r.json()["header"]["revision"])
        r = requests.post(url + "compaction", json={"revision": revision, "physical": True}, timeout=30)
        r.raise_for_status()
        return revision

    def running(self):
        return all(p is not None and p.running() for p in (self.etcd, self.apiserver)) and \
            (not self.with_kwok or (self.kwok is not None and self.kwok.running()))

    def pids(self):
        return [p.popen.pid for p in (self.etcd, self.apiserver, self.kwok) if p is not None and p.popen]

    def logs(self, n=30):
        return "".join(p.tail(n) for p in (self.etcd, self.apiserver, self.kwok) if p is not None)

    def _wait(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            for p in (self.etcd, self.apiserver, self.kwok):
                if p is not None and p.popen is not None and p.popen.poll() is not None:
                    raise RuntimeError("%s exited with %s while waiting for %s:\n%s"
                                       % (p.name, p.popen.returncode, what, p.tail(60)))
            try:
                if cond():
                    return
            except (requests.RequestException, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("no %s after %ss:\n%s" % (what, timeout, self.logs()))
            time.sleep(0.1)

    def _etcd_healthy(self):
        r = requests.get("http://127.0.0.1:%d/health" % self.etcd_port, timeout=2)
        return r.status_code == 200 and r.json().get("health") == "true"

    def _ready(self):
        r = self.session.get(self.server + "/readyz", timeout=5)
        return r.status_code == 200

    def _kwok_started(self):
        text = self.kwok.log_path.read_text(errors="replace") if self.kwok.log_path.exists() else ""
        return '"msg":"Watch nodes"' in text

    # --- certificates and kubeconfigs -------------------------------------

    def _make_pki(self):
        d = self.pki
        d.mkdir(parents=True, exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
                 "-subj", "/CN=session-scheduler-test-ca", cwd=d)
        ext = d / "apiserver.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
                       "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1\n"
                       "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
        self._signed(d, "apiserver", "/CN=kube-apiserver", ext)
        client_ext = d / "client.ext"
        client_ext.write_text("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
        self._signed(d, "admin", "/O=system:masters/CN=admin-cert", client_ext)
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key.ec", cwd=d)
        _openssl("pkcs8", "-topk8", "-nocrypt", "-in", "sa.key.ec", "-out", "sa.key", cwd=d)
        _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)

    @staticmethod
    def _signed(d, name, subj, ext):
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", name + ".key", "-out", name + ".csr", "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", name + ".crt", "-days", "30", "-extfile", str(ext), cwd=d)

    def _b64(self, path):
        return base64.b64encode(Path(path).read_bytes()).decode()

    def kubeconfig(self, user, credentials, namespace=None):
        """A kubeconfig (as a dict) for this cluster with `credentials`
        ({"token": ...} or {"client-certificate-data": ..., ...})."""
        ctx = {"cluster": "test", "user": user}
        if namespace:
            ctx["namespace"] = namespace
        return {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "test", "cluster": {
                "server": self.server, "certificate-authority-data": self._b64(self.ca_file)}}],
            "users": [{"name": user, "user": credentials}],
            "contexts": [{"name": user + "@test", "context": ctx}],
            "current-context": user + "@test",
        }

    def write_kubeconfig(self, path, user, credentials, namespace=None):
        # JSON is YAML: any kubeconfig reader takes it.
        Path(path).write_text(json.dumps(self.kubeconfig(user, credentials, namespace), indent=2) + "\n")
        os.chmod(path, 0o600)
        return Path(path)

    def _write_kubeconfigs(self):
        self.write_kubeconfig(self.kubeconfig_path, "admin", {"token": self.admin_token})
        self.write_kubeconfig(self.cert_kubeconfig_path, "admin-cert", {
            "client-certificate-data": self._b64(self.pki / "admin.crt"),
            "client-key-data": self._b64(self.pki / "admin.key")})

    # --- REST --------------------------------------------------------------

    def request(self, method, path, body=None, params=None, content_type="application/json", token=None,
                ok=(200, 201, 202), timeout=30):
        """One API call as the admin (or with `token`); returns the decoded
        JSON. Raises KubeError on a status outside `ok`."""
        headers = {}
        if body is not None:
            headers["Content-Type"] = content_type
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        data = json.dumps(body) if body is not None and not isinstance(body, (str, bytes)) else body
        r = self.session.request(method, self.server + path, data=data, params=params, headers=headers,
                                 timeout=timeout)
        # The API server's warnings (deprecated APIs, fields dropped without
        # fieldValidation=Strict) come as Warning headers: `299 - "text"`.
        self.last_warnings = [w.split('"', 1)[1].rstrip('"') if '"' in w else w
                              for w in r.headers.get("Warning", "").split(", 299") if w]
        try:
            out = r.json()
        except ValueError:
            out = r.text
        if r.status_code not in ok:
            raise KubeError(method, path, r.status_code, out)
        return out

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def exists(self, path):
        try:
            self.get(path)
            return True
        except KubeError as e:
            if e.code == 404:
                return False
            raise

    def list(self, path, label_selector=None, field_selector=None, **kw):
        """The items of a collection."""
        params = dict(kw.pop("params", None) or {})
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        return self.get(path, params=params, **kw)["items"]

    def create(self, path, obj, dry_run=False, strict=False, **kw):
        """POST `obj` to the collection `path`. dry_run: server-side dry
        run; strict: fieldValidation=Strict (unknown or duplicate fields are
        errors, not warnings)."""
        return self.request("POST", path, obj, params=self._write_params(dry_run, strict, kw), **kw)

    def replace(self, path, obj, dry_run=False, strict=False, **kw):
        return self.request("PUT", path, obj, params=self._write_params(dry_run, strict, kw), **kw)

    def patch(self, path, patch, kind="merge", dry_run=False, strict=False, **kw):
        """kind: merge (RFC 7386), strategic, json (RFC 6902) or apply
        (server-side apply; give field_manager in params)."""
        ctype = {"merge": "application/merge-patch+json", "strategic": "application/strategic-merge-patch+json",
                 "json": "application/json-patch+json", "apply": "application/apply-patch+yaml"}[kind]
        params = self._write_params(dry_run, strict, kw)
        if kind == "apply":
            params.setdefault("fieldManager", "tests")
        return self.request("PATCH", path, patch, params=params, content_type=ctype, **kw)

    def delete(self, path, grace_period_seconds=None, propagation=None, missing_ok=False, **kw):
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if propagation:
            body["propagationPolicy"] = propagation
        try:
            return self.request("DELETE", path, body, **kw)
        except KubeError as e:
            if missing_ok and e.code == 404:
                return None
            raise

    @staticmethod
    def _write_params(dry_run, strict, kw):
        params = dict(kw.pop("params", None) or {})
        if dry_run:
            params["dryRun"] = "All"
        if strict:
            params["fieldValidation"] = "Strict"
        return params

    def wait_for(self, cond, timeout=30, interval=0.1, what="condition"):
        """Polls `cond()` until it returns something true; returns that."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = cond()
                if last:
                    return last
            except KubeError as e:
                last = e
            if time.monotonic() > deadline:
                raise TimeoutError("%s not met in %ss (last: %r)" % (what, timeout, last))
            time.sleep(interval)

    # --- discovery: kind -> resource path ---------------------------------

    def resource_for(self, api_version, kind):
        """(plural resource name, namespaced) of a kind the server serves."""
        with self._lock:
            if self._discovery is None:
                self._discovery = {}
            if api_version not in self._discovery:
                base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
                res = self.get(base)["resources"]
                self._discovery[api_version] = {r["kind"]: (r["name"], r["namespaced"])
                                                for r in res if "/" not in r["name"]}
        kinds = self._discovery[api_version]
        if kind not in kinds:
            raise KeyError("%s %s is not served by this API server" % (api_version, kind))
        return kinds[kind]

    def path_for(self, api_version, kind, namespace=None, name=None):
        """The REST path of a collection (name None) or an object."""
        plural, namespaced = self.resource_for(api_version, kind)
        base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        if namespaced:
            if not namespace:
                raise ValueError("%s is namespaced: give a namespace" % kind)
            base += "/namespaces/" + quote(namespace)
        path = base + "/" + plural
        return path + "/" + quote(name) if name else path

    def object_path(self, obj, namespace=None):
        md = obj.get("metadata", {})
        return self.path_for(obj["apiVersion"], obj["kind"], md.get("namespace") or namespace, md.get("name"))

    def create_object(self, obj, namespace=None, **kw):
        """POST a manifest (any kind the server serves) to its collection."""
        md = obj.get("metadata", {})
        return self.create(self.path_for(obj["apiVersion"], obj["kind"], md.get("namespace") or namespace),
                           obj, **kw)

    # --- namespaces, service accounts, RBAC --------------------------------

    def create_namespace(self, name, labels=None):
        """Creates the namespace (if missing) and its `default`
        ServiceAccount, which no controller creates here; pods that name no
        serviceAccountName need it (ServiceAccount admission)."""
        try:
            self.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": name, "labels": labels or {}}})
        except KubeError as e:
            if e.code != 409:
                raise
        self.create_service_account(name, "default")
        return name

    def create_service_account(self, namespace, name):
        try:
            return self.create("/api/v1/namespaces/%s/serviceaccounts" % namespace,
                               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
        except KubeError as e:
            if e.code != 409:
                raise
            return self.get("/api/v1/namespaces/%s/serviceaccounts/%s" % (namespace, name))

    def service_account_token(self, namespace, name, seconds=3600):
        """A bound token of the ServiceAccount (TokenRequest API), as a pod
        would get it."""
        tr = self.create("/api/v1/namespaces/%s/serviceaccounts/%s/token" % (namespace, name),
                         {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                          "spec": {"expirationSeconds": seconds}})
        return tr["status"]["token"]

    def service_account_kubeconfig(self, namespace, name, path):
        """A kubeconfig file for the ServiceAccount (token from TokenRequest)."""
        token = self.service_account_token(namespace, name)
        return self.write_kubeconfig(path, "system:serviceaccount:%s:%s" % (namespace, name), {"token": token},
                                     namespace=namespace)

    def write_in_cluster_files(self, directory, namespace, service_account):
        """What a pod finds in /var/run/secrets/kubernetes.io/serviceaccount:
        token, ca.crt and namespace; returns the environment a pod gets
        (KUBERNETES_SERVICE_HOST/PORT) to go with it."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "token").write_text(self.service_account_token(namespace, service_account))
        shutil.copy(self.ca_file, d / "ca.crt")
        (d / "namespace").write_text(namespace)
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.port)}

    def can(self, user, verb, resource, namespace=None, group="", subresource="", name="", groups=None):
        """SubjectAccessReview: may `user` do this? For a ServiceAccount give
        user="system:serviceaccount:NS:NAME" (its groups are added)."""
        if groups is None and user.startswith("system:serviceaccount:"):
            ns = user.split(":")[2]
            groups = ["system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"]
        attrs = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attrs["namespace"] = namespace
        if subresource:
            attrs["subresource"] = subresource
        if name:
            attrs["name"] = name
        sar = self.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": groups or [], "resourceAttributes": attrs}})
        return bool(sar["status"].get("allowed"))

    def wait_rbac(self, objects, timeout=15):
        """Waits until the RBAC authorizer grants what `objects` (Roles,
        ClusterRoles and their bindings, as written) give: it reads them from
        an informer cache a moment behind the writes. For each binding, each
        ServiceAccount subject is asked for the first concrete rule of the
        role it binds."""
        roles = {}
        for o in objects:
            if o["kind"] in ("Role", "ClusterRole"):
                ns = o["metadata"].get("namespace") if o["kind"] == "Role" else None
                roles[(o["kind"], ns, o["metadata"]["name"])] = o
        for b in objects:
            if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            ns = b["metadata"].get("namespace") if b["kind"] == "RoleBinding" else None
            ref = b["roleRef"]
            role = roles.get((ref["kind"], ns if ref["kind"] == "Role" else None, ref["name"]))
            rules = [r for r in (role or {}).get("rules", [])
                     if "*" not in (r["verbs"][0], r.get("resources", ["*"])[0], r["apiGroups"][0])]
            if not rules:
                continue
            rule = rules[0]
            resource, _, sub = rule["resources"][0].partition("/")
            name = (rule.get("resourceNames") or [""])[0]
            for subject in b.get("subjects", []):
                if subject["kind"] != "ServiceAccount":
                    continue
                user = "system:serviceaccount:%s:%s" % (subject["namespace"], subject["name"])
                self.wait_for(lambda: self.can(user, rule["verbs"][0], resource, namespace=ns,
                                               group=rule["apiGroups"][0], subresource=sub, name=name),
                              timeout=timeout, what="%s %s to take effect" % (b["kind"], b["metadata"]["name"]))

    def create_resource_quota(self, namespace, name, hard):
        """A ResourceQuota with `hard` ({"requests.cpu": "8", ...}). No quota
        controller runs here, so its status (hard, used = 0) is written
        directly, as that controller would; quota admission then counts
        new pods into status.used (but nothing gives it back when pods go)."""
        self.create("/api/v1/namespaces/%s/resourcequotas" % namespace, {
            "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name}, "spec": {"hard": hard}})
        used = {k: "0" for k in hard}
        return self.patch("/api/v1/namespaces/%s/resourcequotas/%s/status" % (namespace, name),
                          {"status": {"hard": hard, "used": used}})

    def set_resource_quota(self, namespace, name, hard):
        """Changes a quota's hard limits, spec and status both (as the quota
        controller would follow the spec)."""
        path = "/api/v1/namespaces/%s/resourcequotas/%s" % (namespace, name)
        self.patch(path, {"spec": {"hard": hard}})
        return self.patch(path + "/status", {"status": {"hard": hard}})

    # --- nodes ---------------------------------------------------------------

    def add_nodes(self, n, cpu="4", memory="16Gi", pods="110", gpu=None, prefix="node", labels=None,
                  taints=None, extra=None, wait=True, start=0, timeout=60, managed=True):
        """Creates `n` fake nodes PREFIX-START .. with these capacity =
        allocatable amounts (gpu: nvidia.com/gpu; extra: more resources).
        managed: kwok plays their kubelet (waits until it has them Ready).
        managed=False: a node that says Ready but where nothing happens:
        pods bound to it stay Pending with no IP, and their status is the
        test's to write (an image that never pulls, a pod stuck starting).
        Returns their names."""
        res = {"cpu": str(cpu), "memory": str(memory), "pods": str(pods)}
        if gpu:
            res["nvidia.com/gpu"] = str(gpu)
        res.update({k: str(v) for k, v in (extra or {}).items()})
        names = []
        for i in range(start, start + n):
            name = "%s-%d" % (prefix, i)
            node_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64", "type": "kwok"}
            node_labels.update(labels or {})
            # A node's status may be written on create (kubelets register
            # so): kwok keeps the capacity it finds.
            status = {"capacity": res, "allocatable": res}
            annotations = {KWOK_NODE_ANNOTATION: KWOK_NODE_ANNOTATION_VALUE} if managed else {}
            if not managed:
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                status["conditions"] = [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                         "lastHeartbeatTime": now, "lastTransitionTime": now}]
            self.create("/api/v1/nodes", {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": node_labels, "annotations": annotations},
                "spec": {"taints": taints or []},
                "status": status,
            })
            names.append(name)
        if wait and managed:
            self.wait_for(lambda: all(self.node_ready(nm) for nm in names), timeout=timeout,
                          what="nodes %s Ready" % names[:3])
        return names

    def _kwok_manages(self, node):
        try:
            n = self.get("/api/v1/nodes/" + node)
        except KubeError:
            return False
        return self.with_kwok and \
            n["metadata"].get("annotations", {}).get(KWOK_NODE_ANNOTATION) == KWOK_NODE_ANNOTATION_VALUE

    def node_ready(self, name):
        node = self.get("/api/v1/nodes/" + name)
        return any(c["type"] == "Ready" and c["status"] == "True" for c in node.get("status", {}).get("conditions", []))

    def cordon(self, node, unschedulable=True):
        return self.patch("/api/v1/nodes/" + node, {"spec": {"unschedulable": unschedulable}})

    def uncordon(self, node):
        return self.cordon(node, False)

    def delete_node(self, node):
        return self.delete("/api/v1/nodes/" + node, missing_ok=True)

    # --- pods ----------------------------------------------------------------

    def pod_path(self, namespace, name=None):
        p = "/api/v1/namespaces/%s/pods" % namespace
        return p + "/" + name if name else p

    def get_pod(self, namespace, name):
        return self.get(self.pod_path(namespace, name))

    def list_pods(self, namespace=None, label_selector=None, field_selector=None):
        path = self.pod_path(namespace) if namespace else "/api/v1/pods"
        return self.list(path, label_selector=label_selector, field_selector=field_selector)

    def create_pod(self, namespace, name, node=None, image="registry.invalid/executor:test", cpu="1",
                   memory="1Gi", labels=None, gpu=None, **spec_extra):
        """A one-container pod bound to `node` (spec.nodeName: there is no
        scheduler), requests = limits."""
        res = {"cpu": str(cpu), "memory": str(memory)}
        if gpu:
            res["nvidia.com/gpu"] = str(gpu)
        spec = {"containers": [{"name": "executor", "image": image,
                                "resources": {"requests": res, "limits": res}}],
                "restartPolicy": "Never"}
        if node:
            spec["nodeName"] = node
        spec.update(spec_extra)
        return self.create(self.pod_path(namespace), {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec})

    def pod_phase(self, namespace, name):
        try:
            return self.get_pod(namespace, name).get("status", {}).get("phase")
        except KubeError as e:
            if e.code == 404:
                return None
            raise

    def wait_pod_phase(self, namespace, name, phase, timeout=30):
        return self.wait_for(lambda: self.pod_phase(namespace, name) == phase, timeout=timeout,
                             what="pod %s/%s %s" % (namespace, name, phase))

    def wait_pod_gone(self, namespace, name, timeout=30):
        return self.wait_for(lambda: not self.exists(self.pod_path(namespace, name)), timeout=timeout,
                             what="pod %s/%s gone" % (namespace, name))

    def set_pod_status(self, namespace, name, phase, reason=None, message=None, exit_code=None,
                       container_reason=None, container=None):
        """Writes the pod's status through the status subresource, as a
        kubelet would: phase (Failed, Succeeded, ...), the pod's reason and
        message (Evicted: "The node was low on resource: memory."), and when
        exit_code is given the container(s) terminated with it and
        `container_reason` (OOMKilled, Error, Completed). A pod in phase
        Failed or Succeeded stays there: the API server refuses to move a
        pod out of a terminal phase, and kwok only touches pods without an
        IP or with a deletion timestamp.

        kwok makes every pod on its nodes that has no IP yet Running,
        overwriting what was written; so on a kwok node this first waits
        for the pod to be Running (as a real pod runs before it fails).
        For a pod that must stay Pending use a node of add_nodes(...,
        managed=False)."""
        pod = self.get_pod(namespace, name)
        if pod["spec"].get("nodeName") and not pod.get("status", {}).get("podIP") and \
                self._kwok_manages(pod["spec"]["nodeName"]):
            self.wait_pod_phase(namespace, name, "Running")
            pod = self.get_pod(namespace, name)
        status = {"phase": phase}
        if reason is not None:
            status["reason"] = reason
        if message is not None:
            status["message"] = message
        if exit_code is not None:
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            old = {c["name"]: c for c in pod.get("status", {}).get("containerStatuses", [])}
            statuses = []
            for c in pod["spec"]["containers"]:
                if container is not None and c["name"] != container:
                    if c["name"] in old:
                        statuses.append(old[c["name"]])
                    continue
                started = old.get(c["name"], {}).get("state", {}).get("running", {}).get("startedAt", now)
                statuses.append({
                    "name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": 0,
                    "started": False,
                    "state": {"terminated": {"exitCode": exit_code, "reason": container_reason or
                                             ("Completed" if exit_code == 0 else "Error"),
                                             "startedAt": started, "finishedAt": now}}})
            status["containerStatuses"] = statuses
            status["conditions"] = [
                {"type": t, "status": "False", "lastTransitionTime": now, "reason": "PodFailed"
                 if phase == "Failed" else "PodCompleted"} for t in ("Ready", "ContainersReady")]
        # Strategic merge: containerStatuses and conditions merge by name/type.
        return self.patch(self.pod_path(namespace, name) + "/status", {"status": status}, kind="strategic")

    def fail_pod(self, namespace, name, exit_code=1, reason="Error"):
        """The executor container exited with `exit_code`; the pod Failed."""
        return self.set_pod_status(namespace, name, "Failed", exit_code=exit_code, container_reason=reason)

    def oom_kill_pod(self, namespace, name):
        """The kernel OOM-killed the executor container (exit 137)."""
        return self.set_pod_status(namespace, name, "Failed", exit_code=137, container_reason="OOMKilled")

    def evict_pod(self, namespace, name, message="The node was low on resource: memory. "):
        """Kubelet eviction: the pod Failed with reason Evicted."""
        return self.set_pod_status(namespace, name, "Failed", reason="Evicted", message=message,
                                   exit_code=137, container_reason="Error")
