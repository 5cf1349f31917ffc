"""Vigil with Prometheus's web config file (``vigil up --web.config.file``): HTTPS and basic
auth as Prometheus and Alertmanager serve them. A real Prometheus 2.42 remote-writes to Vigil
and sends it alerts over HTTPS with basic auth; the real amtool queries alerts and adds a
silence with ``--http.config.file``; wrong credentials get 401; a required client
certificate that is missing refuses the connection; a bad file stops ``vigil up``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.prometheus_sender import (
    always_firing_rules,
    poll_alerts,
    poll_remote_written_up,
    prometheus_sending,
    sending_config,
)
from tests.support.tls import SecureVigil, TestCA, bcrypt_hash

pytestmark = pytest.mark.e2e

VIGIL_CONFIG = ("default_rules: false\ncollectors: {host: {enabled: false}}\n"
                "alerting:\n  receivers: [{name: ops}]\n  route: {receiver: ops, group_by: [alertname]}\n")


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> TestCA:
    ca = TestCA(tmp_path_factory.mktemp("pki"))
    ca.issue("server", server=True)
    return ca


@pytest.fixture(scope="module")
def vigil(tmp_path_factory, ca):
    """Vigil over HTTPS with two basic-auth users and an extra response header."""
    tmp = tmp_path_factory.mktemp("web-config-vigil")
    web = tmp / "web.yml"
    web.write_text(textwrap.dedent(f"""\
        tls_server_config:
          cert_file: {ca.directory / "server.crt"}
          key_file: {ca.directory / "server.key"}
        http_server_config:
          headers: {{X-Frame-Options: deny}}
        basic_auth_users:
          prometheus: {bcrypt_hash("remote-secret", cost=10)}
          amtool: {bcrypt_hash("silencer")}
    """))
    (tmp / "vigil.yml").write_text(VIGIL_CONFIG)
    proc = SecureVigil(tmp / "vigil.yml", tmp / "data", web, ca, auth=("amtool", "silencer")).start()
    yield proc
    proc.stop()


def test_requests_without_valid_credentials_get_401(vigil):
    for auth in (None, ("amtool", "wrong"), ("nobody", "silencer")):
        with vigil.client(auth=auth) as http:
            resp = http.get("/api/v2/alerts")
        assert resp.status_code == 401, auth
        assert resp.headers["www-authenticate"] == "Basic"
        assert "silencer" not in resp.text and "amtool" not in resp.text
    with vigil.client() as http:
        resp = http.get("/api/v2/status")
    assert resp.status_code == 200 and resp.headers["x-frame-options"] == "deny"
    with pytest.raises(httpx.HTTPError):  # plain HTTP is not served on the TLS port
        httpx.get(f"http://127.0.0.1:{vigil.port}/-/ready", timeout=5)


def test_prometheus_remote_writes_and_sends_alerts_over_https_with_basic_auth(vigil, ca, tmp_path):
    prom_port = free_port()
    client = {"basic_auth": {"username": "prometheus", "password": "remote-secret"},
              "tls_config": {"ca_file": str(ca.cert_file)}}
    config = sending_config(prom_port, vigil.url, vigil.port, "tls", remote_write_client=client,
                            alertmanager_client={"scheme": "https", **client})
    rules = always_firing_rules("AlwaysFiringOverTLS", labels={"severity": "page"})
    with prometheus_sending(tmp_path, prom_port, config, rules), vigil.client() as http:
        [up] = poll_remote_written_up(http, what="remote-written samples in Vigil")
        assert up["metric"] == {"__name__": "up", "job": "prom", "instance": f"127.0.0.1:{prom_port}",
                                "cluster": "tls"}
        assert up["value"][1] == "1"
        [alert] = poll_alerts(http, "AlwaysFiringOverTLS", what="alert from Prometheus in Vigil")
        assert alert["labels"] == {"alertname": "AlwaysFiringOverTLS", "severity": "page",
                                   "cluster": "tls"}
        assert alert["status"]["state"] == "active"
    assert "401" not in (tmp_path / "prometheus.log").read_text()


def _amtool(vigil, http_config, *args: str) -> str:
    result = subprocess.run(["amtool", f"--alertmanager.url={vigil.url}",
                             f"--http.config.file={http_config}", *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_amtool_queries_alerts_and_silences_over_https_with_basic_auth(vigil, ca, tmp_path):
    config = tmp_path / "amtool-http.yml"
    config.write_text(f"basic_auth: {{username: amtool, password: silencer}}\n"
                      f"tls_config: {{ca_file: {ca.cert_file}}}\n")
    _amtool(vigil, config, "alert", "add", "alertname=DiskFullTLS", "instance=db-1")
    [alert] = [a for a in json.loads(_amtool(vigil, config, "alert", "query", "-o", "json"))
               if a["labels"]["alertname"] == "DiskFullTLS"]
    assert alert["labels"] == {"alertname": "DiskFullTLS", "instance": "db-1"}
    silence_id = _amtool(vigil, config, "silence", "add", "alertname=DiskFullTLS",
                         "--author=alice", "--comment=over TLS", "--duration=1h").strip()
    assert len(silence_id) == 36
    silences = json.loads(_amtool(vigil, config, "silence", "query", "-o", "json"))
    assert [(s["id"], s["createdBy"]) for s in silences] == [(silence_id, "alice")]

    wrong = tmp_path / "amtool-wrong.yml"
    wrong.write_text(f"basic_auth: {{username: amtool, password: guess}}\n"
                     f"tls_config: {{ca_file: {ca.cert_file}}}\n")
    refused = subprocess.run(["amtool", f"--alertmanager.url={vigil.url}",
                              f"--http.config.file={wrong}", "alert", "query"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "401" in refused.stderr + refused.stdout


def test_a_required_client_certificate_refuses_clients_without_one(ca, tmp_path):
    client = ca.issue("client", server=False)
    web = tmp_path / "web.yml"
    web.write_text(textwrap.dedent(f"""\
        tls_server_config:
          cert_file: {ca.directory / "server.crt"}
          key_file: {ca.directory / "server.key"}
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: {ca.cert_file}
          min_version: TLS12
    """))
    (tmp_path / "vigil.yml").write_text(VIGIL_CONFIG)
    proc = SecureVigil(tmp_path / "vigil.yml", tmp_path / "data", web, ca, client=client).start()
    try:
        with proc.client() as http:
            assert http.get("/api/v2/status").status_code == 200
        for verify in (ca.client_context(), ca.client_context(TestCA(tmp_path / "rogue").issue("rogue", server=False))):
            with pytest.raises(httpx.HTTPError), proc.client(verify=verify) as http:
                http.get("/api/v2/status")
        with proc.client() as http:  # refused handshakes leave the server serving
            assert http.get("/api/v2/status").status_code == 200
    finally:
        proc.stop()


def test_a_bad_web_config_file_stops_vigil_up_with_file_and_line(ca, tmp_path):
    web = tmp_path / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {ca.directory / 'server.crt'}\n"
                   f"  key_file: {tmp_path / 'missing.key'}\nbasic_auth_users:\n  alice: secret\n")
    port = free_port()
    data = tmp_path / "data"
    done = subprocess.run([sys.executable, "-m", "vigil", "up", "--data-dir", str(data),
                           "--listen", f"127.0.0.1:{port}", "--web.config.file", str(web)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"{web}:3:3: tls_server_config.key_file: cannot read key_file" in done.stderr, done.stderr
    assert not data.exists(), "nothing may start half-configured"

    # The same file named by the config's web.config_file, relative to the config.
    (tmp_path / "vigil.yml").write_text("web: {config_file: web.yml}\n")
    checked = subprocess.run([sys.executable, "-m", "vigil", "check", "config", str(tmp_path / "vigil.yml")],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1 and f"{web}:3:3:" in checked.stderr, checked.stderr
    web.write_text(web.read_text().replace(str(tmp_path / "missing.key"), str(ca.directory / "server.key")))
    checked = subprocess.run([sys.executable, "-m", "vigil", "check", "web-config", str(web)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1 and f"{web}:5:3: basic_auth_users.alice: not a bcrypt hash" in checked.stderr
