"""Vigil with users (issue 14), as a real process: a real Prometheus 2.42 remote-writes with
a Vigil API token and sends alerts with a Vigil user's basic auth; the real amtool with
``--http.config.file`` reads as a viewer (silencing refused) and silences as a responder;
the audit log shows who did it; a reload that drops a user disables them; a network address
with nobody configured is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

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
from tests.support.vigil_proc import VigilProcess, eventually

pytestmark = pytest.mark.e2e

BASE = ("default_rules: false\ncollectors: {host: {enabled: false}}\n"
        "alerting:\n  receivers: [{name: ops}]\n  route: {receiver: ops, group_by: [alertname]}\n")
USERS = """users:
  - {name: prom, role: responder, password_file: prom.pw}
  - {name: vic, role: viewer, password_env: VIC_PW}
  - {name: root, role: admin, password_file: root.pw}
"""


def vigil_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vigil", *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture(scope="module")
def vigil(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("access-vigil")
    (tmp / "prom.pw").write_text("prom-secret\n")
    (tmp / "root.pw").write_text("root-secret\n")
    (tmp / "vigil.yml").write_text(BASE + USERS)
    os.environ["VIC_PW"] = "vic-secret"  # inherited by the vigil process
    proc = VigilProcess(tmp / "vigil.yml", tmp / "data").start()
    yield proc
    proc.stop()
    os.environ.pop("VIC_PW", None)


def _amtool(vigil, config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["amtool", f"--alertmanager.url={vigil.url}",
                           f"--http.config.file={config}", *args],
                          capture_output=True, text=True, timeout=30)


def test_anonymous_requests_are_refused(vigil):
    assert httpx.get(f"{vigil.url}/api/v1/query", params={"query": "1"}, timeout=10).status_code == 401
    assert httpx.get(f"{vigil.url}/-/ready", timeout=10).status_code == 200
    r = httpx.get(f"{vigil.url}/api/v1/query", params={"query": "1"}, auth=("vic", "nope"), timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid credentials"


def test_prometheus_writes_with_a_token_and_alerts_with_basic_auth(vigil, tmp_path):
    created = vigil_cli("tokens", "create", "prometheus", "--role", "responder", "--expires", "1d",
                        "--data-dir", str(vigil.data_dir))
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    prom_port = free_port()
    config = sending_config(prom_port, vigil.url, vigil.port, "users",
                            remote_write_client={"authorization": {"credentials": token}},
                            alertmanager_client={"basic_auth": {"username": "prom",
                                                                "password": "prom-secret"}})
    with (prometheus_sending(tmp_path, prom_port, config, always_firing_rules("AlwaysFiringWithUsers")),
          httpx.Client(base_url=vigil.url, auth=("vic", "vic-secret"), timeout=10) as http):
        [up] = poll_remote_written_up(http, what="remote-written samples")
        assert up["metric"]["cluster"] == "users"
        poll_alerts(http, "AlwaysFiringWithUsers", what="alert from Prometheus")
    # Prometheus logs a refused send as "... status 401 Unauthorized" (remote write and alerts).
    assert "401 Unauthorized" not in (tmp_path / "prometheus.log").read_text()
    listed = json.loads(vigil_cli("tokens", "list", "--json", "--data-dir", str(vigil.data_dir)).stdout)
    assert [t["last_used_at"] is not None for t in listed if t["name"] == "prometheus"] == [True]


def test_amtool_as_viewer_and_as_responder(vigil, tmp_path):
    viewer = tmp_path / "viewer.yml"
    viewer.write_text("basic_auth: {username: vic, password: vic-secret}\n")
    responder = tmp_path / "responder.yml"
    responder.write_text("basic_auth: {username: prom, password: prom-secret}\n")
    assert _amtool(vigil, viewer, "alert", "query").returncode == 0
    refused = _amtool(vigil, viewer, "silence", "add", "alertname=X", "--comment=c", "--duration=1h")
    assert refused.returncode != 0
    added = _amtool(vigil, responder, "silence", "add", "alertname=X", "--comment=maintenance",
                    "--duration=1h")
    assert added.returncode == 0, added.stderr
    entries = json.loads(vigil_cli("audit", "--json", "--user", "prom", "--data-dir",
                                   str(vigil.data_dir)).stdout)
    created = [e for e in entries if e["action"] == "silence.create"]
    assert len(created) == 1 and created[0]["target"].startswith("silence:")
    assert created[0]["before"] is None and created[0]["after"]["comment"] == "maintenance"
    everything = vigil_cli("audit", "--json", "--data-dir", str(vigil.data_dir)).stdout
    for secret in ("prom-secret", "vic-secret", "root-secret"):
        assert secret not in everything


def test_vigil_silence_takes_a_token_from_the_environment_or_option(vigil):
    created = vigil_cli("tokens", "create", "silencer", "--role", "responder",
                        "--data-dir", str(vigil.data_dir))
    token = created.stdout.strip()
    base = {k: v for k, v in os.environ.items() if k not in ("VIGIL_URL", "VIGIL_TOKEN")}
    args = [sys.executable, "-m", "vigil", "silence", "add", "alertname=Y", "--comment", "c",
            "--duration", "1h", "--url", vigil.url]
    refused = subprocess.run(args, capture_output=True, text=True, timeout=30, env=base)
    assert refused.returncode == 1 and refused.stderr == "error: authentication required\n"
    added = subprocess.run(args, capture_output=True, text=True, timeout=30,
                           env={**base, "VIGIL_TOKEN": token})
    assert added.returncode == 0, added.stderr
    by_option = subprocess.run([*args, "--token", token], capture_output=True, text=True,
                               timeout=30, env=base)
    assert by_option.returncode == 0, by_option.stderr
    entries = json.loads(vigil_cli("audit", "--json", "--user", "token:silencer", "--data-dir",
                                   str(vigil.data_dir)).stdout)
    assert [e["action"] for e in entries] == ["silence.create"] * 2


def test_reload_disables_a_user_removed_from_the_config(vigil):
    (vigil.config).write_text(BASE + USERS.replace(
        "  - {name: vic, role: viewer, password_env: VIC_PW}\n", ""))
    vigil.proc.send_signal(signal.SIGHUP)

    def refused():
        r = httpx.get(f"{vigil.url}/api/v1/query", params={"query": "1"}, auth=("vic", "vic-secret"),
                      timeout=10)
        return r.status_code == 401

    eventually(refused, timeout=30, what="vic refused after the reload")
    users = json.loads(vigil_cli("users", "list", "--json", "--data-dir", str(vigil.data_dir)).stdout)
    assert {u["name"]: u["disabled"] for u in users} == {"prom": False, "vic": True, "root": False}
    r = httpx.get(f"{vigil.url}/api/v1/query", params={"query": "1"}, auth=("root", "root-secret"),
                  timeout=10)
    assert r.status_code == 200


def test_network_address_without_users_is_refused(tmp_path):
    (tmp_path / "vigil.yml").write_text(BASE)
    result = vigil_cli("up", "--config", str(tmp_path / "vigil.yml"), "--data-dir",
                       str(tmp_path / "data"), "--listen", f"0.0.0.0:{free_port()}")
    assert result.returncode == 1
    assert "refusing to listen on 0.0.0.0" in result.stderr
    assert "allow_unauthenticated: true" in result.stderr
