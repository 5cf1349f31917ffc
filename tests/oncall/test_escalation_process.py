"""A real ``vigil up`` escalating with second-long waits: ``kill -9`` between two steps, and
after the restart the step that fell due meanwhile is sent once, the next one too, none twice."""

from __future__ import annotations

import signal
import textwrap
import time

import httpx
import pytest

from tests.support.vigil_proc import VigilProcess, eventually
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.e2e


AUTH = ("root", "escalation-test-pw")


def _get(vigil: VigilProcess, path: str, **params: str):
    resp = httpx.get(f"{vigil.url}{path}", params=params, auth=AUTH, timeout=5)
    resp.raise_for_status()
    return resp.json()


def _sent_pages(vigil: VigilProcess) -> list[dict]:
    return _get(vigil, "/api/v2/notifications", receiver="@oncall", status="sent")


def test_kill_9_between_two_steps_sends_the_next_once(tmp_path):
    with WebhookReceiver() as hook:
        config = tmp_path / "vigil.yml"
        (tmp_path / "root.pw").write_text(AUTH[1])
        users = "\n".join(f"  - {{name: {n}, contacts: [{{kind: webhook, address: \"{hook.url}\"}}]}}"
                          for n in ("ann", "bob", "carl"))
        config.write_text(textwrap.dedent("""
            default_rules: false
            collectors: {host: {enabled: false}}
            alerting:
              receivers: [{name: ops}]
              route: {receiver: ops, group_by: [alertname], escalation_policy: fast}
            escalation_policies:
              - name: fast
                steps:
                  - notify_users: [ann]
                  - wait: 2s
                  - notify_users: [bob]
                  - wait: 4s
                  - notify_users: [carl]
            """) + "users:\n" + users + "\n  - {name: root, role: admin, password_file: root.pw}\n")
        vigil = VigilProcess(config, tmp_path / "data").start()
        try:
            httpx.post(f"{vigil.url}/api/v2/alerts", timeout=10, auth=AUTH, json=[
                {"labels": {"alertname": "DiskFull", "priority": "P1"}}]).raise_for_status()
            hook.wait_for(lambda r: len(r) >= 1, timeout=30)
            # Delivered AND recorded as sent: a kill now is between two steps, not inside a delivery.
            eventually(lambda: len(_sent_pages(vigil)) == 1, timeout=15, what="the first page recorded sent")
            vigil.stop(signal.SIGKILL)
            assert [b["user"] for b in hook.received] == ["ann"]
            time.sleep(2.5)  # bob's step falls due while Vigil is down
            vigil.start()
            hook.wait_for(lambda r: len(r) >= 3, timeout=60)
            time.sleep(4)  # every chance for a double to show up
            assert [(b["user"], b["level"]) for b in hook.received] == [("ann", 1), ("bob", 2), ("carl", 3)]
            episode = hook.received[0]["episode"]["id"]
            assert {b["episode"]["id"] for b in hook.received} == {episode}
            status = _get(vigil, f"/api/vigil/v1/episodes/{episode}/escalation")["data"]
            assert (status["policy"], status["level"], status["stopped"]) == ("fast", 3, "finished")
            assert "vigil_oncall_escalations_total" in httpx.get(f"{vigil.url}/metrics", auth=AUTH, timeout=5).text
        finally:
            vigil.stop()
