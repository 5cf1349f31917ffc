"""End to end: log rules in a real ``vigil up``. Lines pushed to Loki's push API make a LogQL
alerting rule (from ``logs.rule_files``) fire to a webhook through the dispatcher, a silence
mutes it for one host, a LogQL recording rule's series is in ``/api/v1/query``, and
``/api/v1/rules`` and the rules page list the log rules beside the PromQL ones."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import httpx
import pytest

from tests.support.vigil_proc import VigilProcess, eventually
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.e2e

LOG_RULES = """
groups:
  - name: ssh
    interval: 1s
    rules:
      - record: host:ssh_failed_logins:count10m
        expr: sum by (host) (count_over_time({job="sshd"} |= "Failed password" [10m]))
      - alert: SSHBruteForce
        expr: |
          sum by (host) (
            count_over_time({job="sshd"} |= "Failed password" | regexp "from (?P<src>\\\\S+) port" [10m])
          ) > 3
        for: 2s
        labels:
          severity: page
        annotations:
          summary: '{{ $value }} failed logins on {{ $labels.host }}'
"""

# Appended to LOG_RULES by the reload step (same indentation as its groups).
BAD_GROUP = """\
  - name: lines
    rules:
      - record: job:log_lines:count10m
        expr: count_over_time({job="sshd"})
"""
NEW_GROUP = """\
  - name: lines
    interval: 1s
    rules:
      - record: job:log_lines:count10m
        expr: sum by (job) (count_over_time({job="sshd"}[10m]))
"""

PROM_RULES = """
groups:
  - name: prom
    interval: 1s
    rules:
      - record: job:up:count
        expr: count(up) or vector(0)
"""


def _config(tmp_path: Path, hook_url: str) -> Path:
    (tmp_path / "log-rules.yml").write_text(textwrap.dedent(LOG_RULES))
    (tmp_path / "rules.yml").write_text(textwrap.dedent(PROM_RULES))
    config = tmp_path / "vigil.yml"
    config.write_text(textwrap.dedent(f"""
        global:
          evaluation_interval: 1s
        default_rules: false
        collectors: {{host: {{enabled: false}}}}
        rule_files: [rules.yml]
        logs:
          rule_files: [log-rules.yml]
        alerting:
          resend_delay: 2s
          receivers:
            - name: hook
              webhook_configs: [{{url: "{hook_url}"}}]
          route:
            receiver: hook
            group_by: [alertname, host]
            group_wait: 1s
            group_interval: 2s
            repeat_interval: 1h
    """))
    return config


def _push(vigil: VigilProcess, host: str, lines: list[str]) -> None:
    now_ns = time.time_ns()
    values = [[str(now_ns - (len(lines) - i) * 1_000_000), line] for i, line in enumerate(lines)]
    r = httpx.post(f"{vigil.url}/loki/api/v1/push", timeout=10,
                   json={"streams": [{"stream": {"job": "sshd", "host": host}, "values": values}]})
    assert r.status_code == 204, r.text


def _failures(n: int, src: str) -> list[str]:
    return [f"Failed password for root from {src} port {50000 + i} ssh2" for i in range(n)]


def test_log_rules_fire_record_and_are_listed(tmp_path: Path) -> None:
    with WebhookReceiver() as hook:
        vigil = VigilProcess(_config(tmp_path, hook.url), tmp_path / "data").start()
        try:
            # Host c is silenced before its lines arrive: its alert must never be delivered.
            r = httpx.post(f"{vigil.url}/api/v2/silences", timeout=10, json={
                "matchers": [{"name": "host", "value": "c", "isRegex": False, "isEqual": True}],
                "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2100-01-01T00:00:00Z",
                "createdBy": "test", "comment": "maintenance on c"})
            assert r.status_code == 200, r.text
            silence_id = r.json()["silenceID"]

            _push(vigil, "a", _failures(5, "10.0.0.1") + ["Accepted publickey for deploy"])
            _push(vigil, "b", _failures(2, "10.0.0.2"))
            _push(vigil, "c", _failures(4, "10.0.0.3"))

            # The recording rule's series, in the TSDB, through PromQL.
            def recorded() -> dict[str, str] | None:
                result = vigil.query("host:ssh_failed_logins:count10m")
                values = {s["metric"]["host"]: s["value"][1] for s in result}
                return values if len(values) == 3 else None

            assert eventually(recorded, what="recorded log series") == {"a": "5", "b": "2", "c": "4"}

            # The alerting rule fires for a (and c, silenced); the webhook gets a only.
            body = eventually(lambda: next((b for b in hook.received if b["status"] == "firing"),
                                           None), what="webhook notification")
            (alert,) = body["alerts"]
            assert alert["labels"] == {"alertname": "SSHBruteForce", "host": "a", "severity": "page"}
            assert alert["annotations"]["summary"] == "5 failed logins on a"
            assert alert["generatorURL"].endswith("/rules")

            def silenced_c() -> dict | None:
                alerts = httpx.get(f"{vigil.url}/api/v2/alerts", timeout=10).json()
                return next((a for a in alerts if a["labels"].get("host") == "c"), None)

            c = eventually(silenced_c, what="host c's alert at the dispatcher")
            assert c["status"]["state"] == "suppressed" and c["status"]["silencedBy"] == [silence_id]
            assert all(a["labels"]["host"] != "c" for b in hook.received for a in b["alerts"])
            assert vigil.query('ALERTS{alertname="SSHBruteForce", alertstate="firing"}')

            # The rules API lists the log rules as Loki's ruler (Prometheus's shape) would.
            groups = {g["name"]: g for g in vigil.get("/api/v1/rules")["groups"]}
            assert set(groups) == {"ssh", "prom"}
            ssh = groups["ssh"]
            assert ssh["file"].endswith("log-rules.yml")
            assert [(r["type"], r["name"], r["health"]) for r in ssh["rules"]] == [
                ("recording", "host:ssh_failed_logins:count10m", "ok"),
                ("alerting", "SSHBruteForce", "ok")]
            assert ssh["rules"][0]["query"] == (
                'sum by (host)(count_over_time({job="sshd"} |= "Failed password"[10m]))')
            assert ssh["rules"][1]["state"] == "firing"
            assert ssh["rules"][1]["labels"] == {"severity": "page"}
            recording = vigil.get("/api/v1/rules", type="record")["groups"]
            assert {r["name"] for g in recording for r in g["rules"]} == {
                "host:ssh_failed_logins:count10m", "job:up:count"}

            html = httpx.get(f"{vigil.url}/rules", timeout=10).text
            ssh_section = html[html.index('id="group-ssh"'):]
            assert "LogQL rules" in ssh_section[:ssh_section.index("</p>")]
            assert "/graph?g0.expr=sum%20by%20%28host%29" not in html

            # A reload re-reads the log rule files: a bad one is refused where it is wrong
            # and the running rules stay; a good one adds its rules.
            rules_file = tmp_path / "log-rules.yml"
            rules_file.write_text(LOG_RULES + BAD_GROUP)
            r = httpx.post(f"{vigil.url}/-/reload", timeout=30)
            assert r.status_code == 500
            assert f"{rules_file}:21:9: groups[1].rules[0].expr: could not parse expression: " \
                   "parse error at line 1, col 29: syntax error: unexpected ), expecting RANGE" in r.text
            rules_file.write_text(LOG_RULES + NEW_GROUP)
            assert httpx.post(f"{vigil.url}/-/reload", timeout=30).status_code == 200
            assert eventually(lambda: vigil.query("job:log_lines:count10m"),
                              what="the reloaded rule's series")[0]["value"][1] == "12"
            assert {g["name"] for g in vigil.get("/api/v1/rules")["groups"]} == {
                "ssh", "lines", "prom"}
        finally:
            vigil.stop()
