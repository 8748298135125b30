"""The integration tests' harness: a real sessiond process on loopback ports
with its own data directory, configured per test, and clients for it."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SCHED_BUILD_DIR", ROOT / "build"))
SESSIOND = BUILD / "bin" / "sessiond"
SESSIONCTL = BUILD / "bin" / "sessionctl"
TEST_EXECUTOR = ROOT / "tests" / "integration" / "bin" / "test_executor.py"

sys.path[:0] = [str(BUILD / "python"), str(ROOT / "client" / "python")]

import session_scheduler as ss  # noqa: E402

ADMIN_TOKEN = "admin-token-0123456789abcdef"
TENANT_A_TOKEN = "tenant-a-token-0123456789"
TENANT_B_TOKEN = "tenant-b-token-0123456789"

# The reference scenario of DESIGN.md: 20 slots; A share 1 owned 4; B share 4
# owned 16 with B1 share 1 owned 4 and B2 share 3 owned 12.
REFERENCE_TREE = """\
consumers:
  - name: A
    share: 1
    owned: 4
  - name: B
    share: 4
    owned: 16
    children:
      - {name: B1, share: 1, owned: 4}
      - {name: B2, share: 3, owned: 12}
"""


LOCAL_BACKEND = """\
backend:
  type: local
  local:
    hosts:
      - {name: h1, cpu: 10, memory: 10Gi}
      - {name: h2, cpu: 10, memory: 10Gi}
"""


def base_config(data_dir, tree=REFERENCE_TREE, grace="1s", extra="", backend=LOCAL_BACKEND):
    return f"""\
data_dir: {data_dir}
listen: 127.0.0.1:0
metrics_listen: 127.0.0.1:0
log: {{level: debug}}
api: {{max_frame_bytes: 1048576}}
sessions: {{lease_ttl: 20s, kill_timeout: 2s, exited_retention: 30s, max_wait: 5s}}
scheduler:
  slot: {{cpu: 1, memory: 1Gi}}
  grace: {grace}
  pass_interval: 1ms
auth:
  tokens:
    - {{token: {ADMIN_TOKEN}, principal: ops, admin: true}}
    - {{token: {TENANT_A_TOKEN}, principal: team-a, consumers: [/A]}}
    - {{token: {TENANT_B_TOKEN}, principal: team-b, consumers: [/B]}}
{backend}{extra}{tree}"""


class Daemon:
    """A sessiond process. start() waits for its 'listening' line; kill9()
    and restart() keep the data directory."""

    def __init__(self, workdir, config_text):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "sessiond.yaml"
        self.config.write_text(config_text)
        self.proc = None
        self.port = None
        self.metrics_port = None
        self.log_path = None
        self.starts = 0

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    def start(self, timeout=20):
        self.starts += 1
        self.log_path = self.workdir / f"sessiond.{self.starts}.log"
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(SESSIOND), "--config", str(self.config)], stdout=log,
                                     stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log_path.read_text()
            m = re.search(r"event=listening api=127\.0\.0\.1:(\d+) metrics=127\.0\.0\.1:(\d+)", text)
            if m:
                self.port, self.metrics_port = int(m.group(1)), int(m.group(2))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"sessiond exited with {self.proc.returncode}:\n{text}")
            time.sleep(0.05)
        raise RuntimeError("sessiond did not start:\n" + self.log_path.read_text())

    def log(self):
        return "".join(p.read_text() for p in sorted(self.workdir.glob("sessiond.*.log")))

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def kill9_and_restart_on_same_port(self):
        """kill -9, then start again listening where clients (Spark drivers
        know the daemon by its address) expect it."""
        self.config.write_text(self.config.read_text().replace("listen: 127.0.0.1:0\n", f"listen: {self.server}\n", 1))
        self.kill9()
        return self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self, token=ADMIN_TOKEN, **kw):
        return ss.connect(self.server, token=token, **kw)


def marked_pids(data_dir):
    """pids of the processes carrying a daemon's test mark (its executors)."""
    mark = f"SESSIOND_TEST_DATA={data_dir}".encode()
    pids = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            if mark in (pid_dir / "environ").read_bytes():
                pids.append(int(pid_dir.name))
        except OSError:
            continue
    return pids


def kill_marked_processes(data_dir):
    """Executors outlive the daemon by design; tests clean theirs up."""
    for pid in marked_pids(data_dir):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture
def make_daemon(tmp_path):
    daemons = []

    def make(config_text=None, **kw):
        data = tmp_path / f"data{len(daemons)}"
        d = Daemon(tmp_path / f"d{len(daemons)}", config_text or base_config(data, **kw))
        d.data_dir = data
        daemons.append(d)
        return d

    yield make
    for d in daemons:
        d.stop()
        kill_marked_processes(d.data_dir)


def executor_launch(state_dir, data_dir, extra_args=()):
    """A launch spec running the test executor."""
    return ss.api.LaunchSpec(
        command=[sys.executable, str(TEST_EXECUTOR), "--state-dir", str(state_dir), *extra_args],
        env={"SESSIOND_TEST_DATA": str(data_dir)})


def wait_for(predicate, timeout=15, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def granted(client, consumer):
    """Slots held by a consumer (its allocated cpu cores with 1-cpu slots)."""
    for c in client.admin.get_tree().consumers:
        if c.path == consumer:
            return c.allocated.cpu_millis // 1000
    raise KeyError(consumer)
