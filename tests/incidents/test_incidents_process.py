"""A real ``vigil up`` running an incident: every change it answered is still there after
``kill -9`` (timeline, roles, checklist, action items, communications, audit entries), and the
page queued at the declaration is delivered once, not again after the restart."""

from __future__ import annotations

import signal
import textwrap
import time

import httpx
import pytest

from tests.support.vigil_proc import VigilProcess, eventually
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.e2e

AUTH = ("root", "incident-test-pw")
API = "/api/vigil/v1"


def _call(vigil: VigilProcess, method: str, path: str, **body):
    resp = httpx.request(method, f"{vigil.url}{API}{path}", json=body or None, auth=AUTH, timeout=10)
    assert resp.status_code < 300, resp.text
    return resp.json().get("data")


def test_every_answered_change_survives_kill_9_and_the_page_is_sent_once(tmp_path):
    with WebhookReceiver() as hook:
        config = tmp_path / "vigil.yml"
        (tmp_path / "root.pw").write_text(AUTH[1])
        config.write_text(textwrap.dedent(f"""
            default_rules: false
            collectors: {{host: {{enabled: false}}}}
            alerting:
              receivers: [{{name: ops}}]
              route: {{receiver: ops, group_by: [alertname]}}
            incidents:
              severities:
                - severity: 1
                  response: {{users: [ann]}}
            users:
              - {{name: ann, contacts: [{{kind: webhook, address: "{hook.url}"}}]}}
              - {{name: root, role: admin, password_file: root.pw}}
            """))
        vigil = VigilProcess(config, tmp_path / "data").start()
        try:
            httpx.post(f"{vigil.url}/api/v2/alerts", timeout=10, auth=AUTH, json=[
                {"labels": {"alertname": "MilkApiDown", "service": "milk-api", "priority": "P1"},
                 "annotations": {"summary": "milk API answers 503"}}]).raise_for_status()
            episodes = eventually(lambda: _call(vigil, "GET", "/episodes"), timeout=30, what="an alert episode")
            inc = _call(vigil, "POST", "/incidents/from-group", group_key=episodes[0]["groupKey"])
            ref = inc["ref"]
            assert inc["severity"] == 1  # P1
            hook.wait_for(lambda r: len(r) >= 1, timeout=30)
            _call(vigil, "POST", f"/incidents/{ref}/roles", role="commander", user="ann")
            _call(vigil, "POST", f"/incidents/{ref}/status", status="identified", note="bad deploy 2.3")
            _call(vigil, "POST", f"/incidents/{ref}/notes", text="rolled back to 2.2")
            _call(vigil, "POST", f"/incidents/{ref}/checklist/create-channel/done", note="#incident opened")
            _call(vigil, "POST", f"/incidents/{ref}/action-items", title="Canary the deploys", owner="ann")
            _call(vigil, "POST", f"/incidents/{ref}/communications", kind="external",
                  symptoms="failed milk uploads")
            vigil.stop(signal.SIGKILL)  # right after the last answer

            vigil.start()
            after = _call(vigil, "GET", f"/incidents/{ref}")
            assert (after["status"], after["commander"]) == ("identified", "ann")
            kinds = [e["kind"] for e in after["timeline"]]
            for kind in ("declared", "alert_attached", "page", "role", "status", "note", "task_done",
                         "action_item", "communication", "public_update"):
                assert kind in kinds, (kind, kinds)
            notes = [e["detail"].get("text") for e in after["timeline"] if e["kind"] == "note"]
            assert notes == ["rolled back to 2.2"]
            phases = _call(vigil, "GET", f"/incidents/{ref}/checklist")["phases"]
            tasks = {t["key"]: t for p in phases for t in p["tasks"]}
            assert tasks["create-channel"]["done"] and tasks["create-channel"]["note"] == "#incident opened"
            # "Page on-call engineer" is ticked by Vigil itself (done_when: paged), before or after the kill.
            paged = eventually(lambda: next(t for p in _call(vigil, "GET", f"/incidents/{ref}/checklist")["phases"]
                                            for t in p["tasks"] if t["key"] == "page-oncall" and t["done"]),
                               timeout=30, what="page-oncall ticked by Vigil")
            assert paged["doneByVigil"] and paged["note"].startswith("paged ann via ")
            assert [i["title"] for i in _call(vigil, "GET", f"/incidents/{ref}/action-items")] == ["Canary the deploys"]
            sent = _call(vigil, "GET", f"/incidents/{ref}/communications")
            assert [c["kind"] for c in sent] == ["external"] and "failed milk uploads" in sent[0]["body"]
            audit = httpx.get(f"{vigil.url}{API}/audit", auth=AUTH, timeout=10).json()["data"]
            actions = [a["action"] for a in audit if a["action"].startswith("incident.") and a["actor"] != "vigil"]
            assert actions == ["incident.declare", "incident.role", "incident.status", "incident.note",
                               "incident.task.done", "incident.action_item.add",
                               "incident.communication.external"], actions
            time.sleep(3)  # every chance for the declaration's page to go out twice
            pages = [b for b in hook.received if b.get("kind") == "vigil.incident"]
            assert [(p["user"], p["incident"]["ref"]) for p in pages] == [("ann", ref)]
        finally:
            vigil.stop()
