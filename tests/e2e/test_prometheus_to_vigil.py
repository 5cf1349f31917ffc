"""A4: a real Prometheus 2.42 with Vigil as its Alertmanager (API v2). A rule that fires
at once shows in Vigil's ``/api/v2/alerts`` and reaches the webhook receiver."""

from __future__ import annotations

import textwrap

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.prometheus_sender import always_firing_rules, poll_alerts, prometheus_sending
from tests.support.vigil_proc import VigilProcess
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.e2e


def test_prometheus_delivers_alerts_through_vigil(tmp_path):
    with WebhookReceiver() as hook:
        config = tmp_path / "vigil.yml"
        config.write_text(textwrap.dedent(f"""
            default_rules: false
            collectors: {{host: {{enabled: false}}}}
            alerting:
              receivers:
                - name: hook
                  webhook_configs: [{{url: "{hook.url}"}}]
              route:
                receiver: hook
                group_by: [alertname]
                group_wait: 1s
                group_interval: 2s
        """))
        vigil = VigilProcess(config, tmp_path / "data").start()
        prom_port = free_port()
        rules = always_firing_rules("AlwaysFiring", labels={"severity": "page"},
                                    annotations={"summary": "fires at once"})
        prom_config = textwrap.dedent(f"""
            global: {{evaluation_interval: 1s, external_labels: {{cluster: e2e}}}}
            rule_files: [rules.yml]
            alerting:
              alertmanagers:
                - api_version: v2
                  static_configs: [{{targets: ["127.0.0.1:{vigil.port}"]}}]
        """)
        try:
            with (prometheus_sending(tmp_path, prom_port, prom_config, rules),
                  httpx.Client(base_url=vigil.url, timeout=5) as http):
                [alert] = poll_alerts(http, "AlwaysFiring", what="alert from Prometheus in Vigil")
                assert alert["labels"] == {"alertname": "AlwaysFiring", "severity": "page", "cluster": "e2e"}
                assert alert["annotations"] == {"summary": "fires at once"}
                assert alert["status"]["state"] == "active" and alert["receivers"] == [{"name": "hook"}]
                assert f":{prom_port}/graph" in alert["generatorURL"]

                received = hook.wait_for(lambda r: len(r) >= 1, timeout=60)
                first = received[0]
                assert first["receiver"] == "hook" and first["status"] == "firing"
                assert first["groupLabels"] == {"alertname": "AlwaysFiring"}
                assert [a["labels"]["alertname"] for a in first["alerts"]] == ["AlwaysFiring"]
        finally:
            vigil.stop()
