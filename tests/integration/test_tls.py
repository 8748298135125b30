"""TLS on the Thrift API: a client trusting the server's certificate gets
through; a plaintext client and one that does not trust it do not."""

import shutil
import subprocess

import pytest

import session_scheduler as ss
from harness import base_config

OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="openssl CLI needed to make a test certificate")
def test_tls(make_daemon, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    d = make_daemon(base_config(tmp_path / "data", extra=f"  # tls\n") .replace(
        "api: {max_frame_bytes: 1048576}", f"api: {{max_frame_bytes: 1048576, tls: {{cert: {cert}, key: {key}}}}}"))
    d.data_dir = tmp_path / "data"
    d.start()
    assert "tls=on" in d.log()
    ok = d.client(tls=True, ca=str(cert))
    assert ok.admin.status().ready
    s = ok.register("/A", initial_demand=1)
    s.unregister()
    with pytest.raises(ss.ConnectionFailed):
        d.client(timeout=3).admin.status()  # plaintext against TLS
    with pytest.raises(ss.ConnectionFailed):
        d.client(tls=True, timeout=3).admin.status()  # does not trust the self-signed certificate
    assert ok.admin.status().ready
