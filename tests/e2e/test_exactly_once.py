"""Nothing lost, nothing doubled (A3): ``kill -9`` Vigil while the receiver is down (503);
restart; the receiver comes back and gets each notification exactly once. A receiver that
rejects (400) dead-letters its notification, visible in ``/api/v2/notifications``."""

from __future__ import annotations

import signal
import textwrap
import time

import httpx
import pytest

from tests.support.vigil_proc import VigilProcess, eventually
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.e2e


def _post(vigil: VigilProcess, *names: str) -> None:
    body = [{"labels": {"alertname": n, "instance": "db-1"}, "annotations": {"summary": n}}
            for n in names]
    httpx.post(f"{vigil.url}/api/v2/alerts", json=body, timeout=10).raise_for_status()


def test_kill_9_while_receiver_down_then_each_notification_exactly_once(tmp_path):
    with WebhookReceiver() as hook, WebhookReceiver() as bad:
        hook.responses = [(503, {})] * 10_000
        bad.responses = [(400, {})] * 10_000
        config = tmp_path / "vigil.yml"
        config.write_text(textwrap.dedent(f"""
            default_rules: false
            collectors: {{host: {{enabled: false}}}}
            alerting:
              receivers:
                - name: hook
                  webhook_configs: [{{url: "{hook.url}"}}]
                - name: bad
                  webhook_configs: [{{url: "{bad.url}"}}]
              route:
                receiver: hook
                group_by: [alertname]
                group_wait: 1s
                group_interval: 1s
                repeat_interval: 1h
                routes:
                  - matchers: ['alertname="Rejected"']
                    receiver: bad
        """))
        vigil = VigilProcess(config, tmp_path / "data").start()
        _post(vigil, "DiskFull", "HighCPU", "Rejected")
        # The receiver is down: at least one failed attempt for each group, on record.
        def failing():
            entries = httpx.get(f"{vigil.url}/api/v2/notifications", params={"receiver": "hook"},
                                timeout=5).json()
            return len(entries) == 2 and all(e["status"] == "pending" and e["attempts"] >= 1
                                             and "HTTP 503" in e["lastError"] for e in entries)

        eventually(failing, timeout=30, what="failed attempts against the 503 receiver")
        dead = eventually(lambda: httpx.get(f"{vigil.url}/api/v2/notifications",
                                            params={"status": "dead"}, timeout=5).json(),
                          what="dead letter listed")
        assert [(d["receiver"], d["integration"], d["attempts"]) for d in dead] == [("bad", "webhook/0", 1)]
        assert "HTTP 400" in dead[0]["lastError"] and dead[0]["sentAt"] is None
        vigil.stop(signal.SIGKILL)
        assert hook.received == []

        hook.responses.clear()  # the receiver is back
        vigil.start()
        try:
            hook.wait_for(lambda r: len(r) >= 2, timeout=60)
            # Give a duplicate every chance to show up: several group_intervals and outbox passes.
            time.sleep(5)
            names = sorted(a["labels"]["alertname"] for n in hook.received for a in n["alerts"])
            assert names == ["DiskFull", "HighCPU"]
            sent = httpx.get(f"{vigil.url}/api/v2/notifications", params={"status": "sent"},
                             timeout=5).json()
            assert sorted(s["groupKey"] for s in sent) == sorted(n["groupKey"] for n in hook.received)
            # A dead letter is never retried; as in Alertmanager, the group's next flush
            # (the notification log still lacks it) makes a new notification instead.
            dead = httpx.get(f"{vigil.url}/api/v2/notifications", params={"status": "dead"},
                             timeout=5).json()
            assert dead and {d["attempts"] for d in dead} == {1} and bad.received == []
        finally:
            vigil.stop()


def test_notifications_api_rejects_bad_parameters(tmp_path):
    vigil = VigilProcess(None, tmp_path / "data").start()
    try:
        for params, message in [({"status": "lost"}, "status must be one of"),
                                ({"limit": "x"}, "limit must be an integer")]:
            resp = httpx.get(f"{vigil.url}/api/v2/notifications", params=params, timeout=5)
            assert resp.status_code == 400 and message in resp.json()
    finally:
        vigil.stop()
