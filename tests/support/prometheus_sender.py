"""A real Prometheus 2.42 process that sends to a Vigil under test: it evaluates one alert
rule that always fires (``vector(1)``) and is configured by the test to remote-write to Vigil
and/or send it alerts; helpers poll Vigil until the samples or the alert arrive."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.prometheus import PROMETHEUS
from tests.support.vigil_proc import eventually

__all__ = ["always_firing_rules", "poll_alerts", "poll_remote_written_up", "prometheus_sending",
           "sending_config"]


def always_firing_rules(alertname: str, labels: dict[str, str] | None = None,
                        annotations: dict[str, str] | None = None) -> str:
    """A rule file (YAML) with one group, evaluated every second, of one alert that always
    fires."""
    rule: dict[str, object] = {"alert": alertname, "expr": "vector(1)"}
    if labels:
        rule["labels"] = labels
    if annotations:
        rule["annotations"] = annotations
    return json.dumps({"groups": [{"name": "always", "interval": "1s", "rules": [rule]}]})


def sending_config(prom_port: int, vigil_url: str, vigil_port: int, cluster: str,
                   remote_write_client: dict[str, object],
                   alertmanager_client: dict[str, object]) -> str:
    """A Prometheus configuration (YAML) that scrapes itself every second (job ``prom``),
    evaluates ``rules.yml`` every second, labels everything ``cluster``, remote-writes to Vigil
    and sends alerts to it (API v2); the ``*_client`` settings (authorization, basic_auth,
    tls_config, scheme) go into the remote-write and the Alertmanager entry."""
    return json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                   "external_labels": {"cluster": cluster}},
        "rule_files": ["rules.yml"],
        "scrape_configs": [{"job_name": "prom",
                            "static_configs": [{"targets": [f"127.0.0.1:{prom_port}"]}]}],
        "remote_write": [{"url": f"{vigil_url}/api/v1/write", **remote_write_client,
                          "queue_config": {"batch_send_deadline": "1s"}}],
        "alerting": {"alertmanagers": [{"api_version": "v2", **alertmanager_client,
                                        "static_configs": [{"targets": [f"127.0.0.1:{vigil_port}"]}]}]},
    })


@contextmanager
def prometheus_sending(workdir: Path, port: int, config_yaml: str, rules_yaml: str) -> Iterator[Path]:
    """Run Prometheus on 127.0.0.1:``port`` with ``config_yaml`` (which names ``rules.yml``,
    written from ``rules_yaml``) and its TSDB under ``workdir``; yield its log file's path and
    stop it afterwards. Alerts are re-sent every second (the default resend delay is 1 m, and
    Prometheus drops the first send: the Alertmanager is discovered ~5 s after start)."""
    (workdir / "rules.yml").write_text(rules_yaml)
    (workdir / "prometheus.yml").write_text(config_yaml)
    log_path = workdir / "prometheus.log"
    with log_path.open("w") as log:
        prom = subprocess.Popen(
            [PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'prom'}", "--rules.alert.resend-delay=1s",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            yield log_path
        finally:
            prom.terminate()
            prom.wait(30)


def poll_remote_written_up(http: httpx.Client, what: str) -> list[dict]:
    """The ``up{job="prom"}`` series Vigil answers once Prometheus's remote write arrived."""
    def samples():
        resp = http.get("/api/v1/query", params={"query": 'up{job="prom"}'})
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]["result"]

    return eventually(samples, timeout=60, what=what)


def poll_alerts(http: httpx.Client, alertname: str, what: str) -> list[dict]:
    """Vigil's active alerts named ``alertname``, once there is at least one."""
    def alerts():
        resp = http.get("/api/v2/alerts")
        assert resp.status_code == 200, resp.text
        return [a for a in resp.json() if a["labels"].get("alertname") == alertname]

    return eventually(alerts, timeout=60, what=what)
