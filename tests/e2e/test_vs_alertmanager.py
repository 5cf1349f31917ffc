"""Differential test (A1): the same alert stream goes to Vigil and to a real Alertmanager
0.25 with the same Alertmanager configuration file (Vigil reads it through
``alerting.alertmanager_config``); both deliver to webhook receivers this test runs. Per
(receiver, group key), the sequence of notifications (status, alerts' labels and status)
must be the same. Events are spaced two group_intervals apart, so timer jitter cannot move
an alert into another notification."""

from __future__ import annotations

import subprocess
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.vigil_proc import VigilProcess, eventually
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.e2e

AM_BIN = "/usr/bin/prometheus-alertmanager"


def am_config(team_url: str, pager_url: str) -> str:
    return textwrap.dedent(f"""\
        route:
          receiver: team
          group_by: [alertname]
          group_wait: 1s
          group_interval: 2s
          repeat_interval: 1h
          routes:
            - matchers: ['severity="critical"']
              receiver: pager
              continue: true
            - matchers: ['alertname=~"CPU|Mem"']
              receiver: team
              group_by: [instance]
        inhibit_rules:
          - source_matchers: ['alertname="NodeDown"']
            target_matchers: ['alertname="Disk"']
            equal: [instance]
        receivers:
          - name: team
            webhook_configs: [{{url: "{team_url}"}}]
          - name: pager
            webhook_configs: [{{url: "{pager_url}", send_resolved: false}}]
    """)


class Alertmanager:
    def __init__(self, config: Path, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(tmp / "alertmanager.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [AM_BIN, f"--config.file={config}", f"--storage.path={tmp / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self._log, stderr=subprocess.STDOUT)
        eventually(lambda: httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200,
                   what="alertmanager ready")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self._log.close()


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _alert(name: str, instance: str, severity: str, start: datetime, end: datetime | None = None):
    body = {"labels": {"alertname": name, "instance": instance, "severity": severity},
            "annotations": {"summary": f"{name} on {instance}"}, "startsAt": _iso(start)}
    if end is not None:
        body["endsAt"] = _iso(end)
    return body


def _summary(hooks: dict[str, WebhookReceiver]) -> dict:
    out: dict = {}
    for receiver, hook in hooks.items():
        for n in hook.received:
            alerts = sorted((tuple(sorted(a["labels"].items())), a["status"]) for a in n["alerts"])
            out.setdefault((receiver, n["groupKey"]), []).append((n["status"], alerts))
    return out


def test_same_notifications_as_alertmanager(tmp_path):
    with WebhookReceiver() as v_team, WebhookReceiver() as v_pager, \
            WebhookReceiver() as a_team, WebhookReceiver() as a_pager:
        (tmp_path / "am-vigil.yml").write_text(am_config(v_team.url, v_pager.url))
        (tmp_path / "am-real.yml").write_text(am_config(a_team.url, a_pager.url))
        (tmp_path / "vigil.yml").write_text(
            "default_rules: false\ncollectors: {host: {enabled: false}}\n"
            "alerting: {alertmanager_config: am-vigil.yml}\n")
        vigil = VigilProcess(tmp_path / "vigil.yml", tmp_path / "data").start()
        am = Alertmanager(tmp_path / "am-real.yml", tmp_path)
        try:
            def post(*alerts):
                for url in (vigil.url, am.url):
                    httpx.post(f"{url}/api/v2/alerts", json=list(alerts), timeout=10).raise_for_status()

            t0 = datetime.now(timezone.utc)
            post(_alert("Disk", "db-1", "warning", t0), _alert("Disk", "db-2", "warning", t0),
                 _alert("CPU", "web-1", "critical", t0), _alert("Mem", "web-1", "warning", t0))
            time.sleep(4)
            post(_alert("Disk", "db-3", "warning", t0), _alert("CPU", "web-2", "critical", t0))
            time.sleep(4)
            now = datetime.now(timezone.utc)
            post(_alert("Disk", "db-1", "warning", t0, now - timedelta(seconds=1)),
                 _alert("CPU", "web-1", "critical", t0, now - timedelta(seconds=1)))
            time.sleep(4)
            # NodeDown inhibits Disk on db-2: the Disk group's next notification leaves it out.
            post(_alert("NodeDown", "db-2", "critical", t0))
            time.sleep(5)

            hooks_v = {"team": v_team, "pager": v_pager}
            hooks_a = {"team": a_team, "pager": a_pager}
            want = _summary(hooks_a)
            assert len(want) >= 5, want  # the scenario exercised several groups
            assert _summary(hooks_v) == want
        finally:
            am.stop()
            vigil.stop()
