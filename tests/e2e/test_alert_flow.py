"""End to end: `vigil up` scrapes an endpoint, a rule goes pending then firing, the webhook
gets it, and resolution follows. Vigil is restarted in the middle: data and alert state
survive and no notification is sent twice."""

from __future__ import annotations

import textwrap
import time

import httpx
import pytest

from tests.support.metrics_server import MetricsServer
from tests.support.vigil_proc import VigilProcess, eventually
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.e2e


def write_config(tmp_path, target: str, hook_url: str):
    (tmp_path / "rules.yml").write_text(textwrap.dedent("""
        groups:
          - name: app
            interval: 1s
            rules:
              - alert: QueueTooDeep
                expr: app_queue_depth > 100
                for: 4s
                labels:
                  severity: warning
                annotations:
                  summary: "Queue {{ $labels.queue }} is {{ $value }} deep"
              - record: queue:depth:sum
                expr: sum by (job) (app_queue_depth)
    """))
    config = tmp_path / "vigil.yml"
    config.write_text(textwrap.dedent(f"""
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        default_rules: false
        scrape_configs:
          - job_name: app
            static_configs:
              - targets: ["{target}"]
                labels: {{team: shop}}
        rule_files: [rules.yml]
        alerting:
          resend_delay: 2s
          receivers:
            - name: hook
              webhook_configs: [{{url: "{hook_url}"}}]
          route:
            receiver: hook
            group_by: [alertname]
            group_wait: 1s
            group_interval: 2s
            repeat_interval: 1h
    """))
    return config


def firing(bodies):
    return [b for b in bodies if b["status"] == "firing"]


def test_pending_firing_resolved_across_restarts(tmp_path):
    with MetricsServer('app_queue_depth{queue="orders"} 50\n') as app, WebhookReceiver() as hook:
        config = write_config(tmp_path, app.address, hook.url)
        vigil = VigilProcess(config, tmp_path / "data").start()
        try:
            sample = eventually(lambda: vigil.query("app_queue_depth"), what="first scrape")
            assert sample[0]["metric"] == {"__name__": "app_queue_depth", "queue": "orders",
                                           "job": "app", "instance": app.address, "team": "shop"}
            assert sample[0]["value"][1] == "50"
            assert eventually(lambda: vigil.query('up{job="app"}'))[0]["value"][1] == "1"
            eventually(lambda: vigil.query("queue:depth:sum"), what="recording rule output")
            before_raise = time.time()

            app.text = 'app_queue_depth{queue="orders"} 150\n'
            pending = eventually(lambda: [a for a in vigil.get("/api/v1/alerts")["alerts"]
                                          if a["state"] == "pending"], what="pending alert")
            active_at = pending[0]["activeAt"]
            assert hook.received == []

            # Restart while pending: `for` keeps counting from the original activeAt.
            vigil.stop()
            vigil.start()
            alerts = eventually(lambda: vigil.get("/api/v1/alerts")["alerts"], what="alerts after restart")
            assert alerts[0]["activeAt"] == active_at

            bodies = hook.wait_for(lambda r: firing(r), timeout=30)
            alert = firing(bodies)[0]["alerts"][0]
            assert alert["status"] == "firing"
            assert alert["labels"] == {"alertname": "QueueTooDeep", "queue": "orders", "job": "app",
                                       "instance": app.address, "team": "shop", "severity": "warning"}
            assert alert["annotations"] == {"summary": "Queue orders is 150 deep"}

            # Restart while firing: no second firing notification, data from before is kept.
            vigil.stop()
            vigil.start()
            eventually(lambda: [a for a in vigil.get("/api/v1/alerts")["alerts"] if a["state"] == "firing"],
                       what="firing after restart")
            time.sleep(6)  # several group_interval and resend_delay periods
            assert len(firing(hook.received)) == 1, hook.received
            # Every stored sample, not a range query's steps: a scrape that timed out under
            # load marks the series stale, and a step grid can then miss the one 50 sample.
            window = f"{int(time.time() - before_raise) + 60}s"
            stored = vigil.get("/api/v1/query", query=f"app_queue_depth[{window}]")["result"]
            assert len(stored) == 1, stored
            assert {"50", "150"} <= {v for _, v in stored[0]["values"]}, stored

            app.text = 'app_queue_depth{queue="orders"} 10\n'
            bodies = hook.wait_for(lambda r: any(b["status"] == "resolved" for b in r), timeout=30)
            resolved = [b for b in bodies if b["status"] == "resolved"][0]
            assert resolved["alerts"][0]["labels"]["alertname"] == "QueueTooDeep"
            assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
            assert len(firing(hook.received)) == 1
        finally:
            vigil.stop()


def test_own_metrics_and_ui_are_served(tmp_path):
    with MetricsServer("x 1\n") as app, WebhookReceiver() as hook:
        vigil = VigilProcess(write_config(tmp_path, app.address, hook.url), tmp_path / "data").start()
        try:
            metrics = httpx.get(f"{vigil.url}/metrics", timeout=10).text
            assert "vigil_build_info" in metrics
            assert "vigil_tsdb_head_samples_appended_total" in metrics
            # Vigil scrapes itself, so its own metrics are queryable too.
            eventually(lambda: vigil.query("vigil_build_info"), what="self-scrape")
            page = httpx.get(f"{vigil.url}/targets", timeout=10)
            assert page.status_code == 200 and app.address in page.text
        finally:
            vigil.stop()
