"""/metrics scraped by a real Prometheus server (Debian's package) started
here on loopback; the per-consumer series are read back through its HTTP
query API."""

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from harness import granted, wait_for

PROMETHEUS = shutil.which("prometheus")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
    except (urllib.error.URLError, ConnectionError):
        return []  # not up yet
    assert body["status"] == "success", body
    return body["data"]["result"]


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_health_endpoints(make_daemon):
    d = make_daemon().start()
    d.client().admin.status()  # families appear with their first sample
    assert http_get(d.metrics_port, "/healthz") == (200, "ok\n")
    assert http_get(d.metrics_port, "/readyz") == (200, "ready\n")
    code, _ = http_get(d.metrics_port, "/nope")
    assert code == 404
    code, text = http_get(d.metrics_port, "/metrics")
    assert code == 200
    for family in ("sessiond_consumer_owned", "sessiond_scheduling_cycle_seconds", "sessiond_rpc_seconds",
                   "sessiond_store_write_seconds", "sessiond_time_to_first_executor_seconds",
                   "sessiond_backend_launch_seconds", "sessiond_preemptions_total"):
        assert f"# TYPE {family}" in text, family


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is installed by scripts/setup.sh")
def test_prometheus_scrapes_per_consumer_series(make_daemon, tmp_path):
    d = make_daemon().start()
    c = d.client()
    a = c.register("/A", initial_demand=20)
    wait_for(lambda: granted(c, "/A") == 20, what="A = 20")
    b1 = c.register("/B/B1", initial_demand=16)
    wait_for(lambda: granted(c, "/B/B1") == 16, timeout=10, what="B1 reclaimed 16")

    port = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: sessiond
    static_configs: [{{targets: ['127.0.0.1:{d.metrics_port}']}}]
""")
    log = open(tmp_path / "prometheus.log", "w")
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path}/tsdb",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        series = wait_for(lambda: query(port, 'sessiond_consumer_allocated{resource="cpu_cores"}'), timeout=30,
                          interval=0.5, what="the first scrape")
        wait_for(lambda: len(query(port, 'sessiond_consumer_allocated{resource="cpu_cores"}')) >= 5, timeout=15,
                 interval=0.5, what="every consumer's series")
        got = {r["metric"]["consumer"]: float(r["value"][1])
               for r in query(port, 'sessiond_consumer_allocated{resource="cpu_cores"}')}
        assert got == {"/": 20.0, "/A": 4.0, "/B": 16.0, "/B/B1": 16.0, "/B/B2": 0.0}, got
        owned = {r["metric"]["consumer"]: float(r["value"][1])
                 for r in query(port, 'sessiond_consumer_owned{resource="cpu_cores"}')}
        assert owned["/A"] == 4.0 and owned["/B/B2"] == 12.0
        borrowed = {r["metric"]["consumer"]: float(r["value"][1])
                    for r in query(port, 'sessiond_consumer_borrowed{resource="cpu_cores"}')}
        assert borrowed["/B/B1"] == 12.0 and borrowed["/A"] == 0.0
        lent = {r["metric"]["consumer"]: float(r["value"][1])
                for r in query(port, 'sessiond_consumer_lent{resource="cpu_cores"}')}
        assert lent["/B/B2"] == 12.0
        preempt = query(port, 'sessiond_preemptions_total{reason="ownership"}')
        assert preempt and float(preempt[0]["value"][1]) >= 1
        rpcs = query(port, 'sum(sessiond_rpc_seconds_count{method="Sessions:register_session"})')
        assert float(rpcs[0]["value"][1]) == 2
        assert query(port, "sessiond_scheduling_cycle_seconds_count")
        assert series
    finally:
        prom.terminate()
        prom.wait(10)
    a.unregister()
    b1.unregister()
