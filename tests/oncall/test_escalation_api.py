"""The escalation API through the real app and access gate: the policies with their levels,
offsets and routes, and one episode's escalation (level paged, next step and when it is due)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import timedelta

from starlette.testclient import TestClient

from tests.oncall.test_escalation import RUNBOOK, Clock, _config, _engine, _open
from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.access import AccessService, Role
from vigil.config.access import AccessConfig
from vigil.config.oncall import OncallConfig
from vigil.oncall.lifecycle import Lifecycle
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

VIEWER = {"Authorization": "Basic " + base64.b64encode(b"vic:vic-pw").decode()}


def test_policies_and_an_episodes_escalation(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    service = AccessService(store.access, AccessConfig())
    service.add_user("vic", Role.VIEWER, actor="test", password="vic-pw")
    ep = _open(store)
    clock = Clock(ep.opened_at + timedelta(minutes=6))
    esc = _engine(store, _config(RUNBOOK), clock)
    esc.tick()
    life = Lifecycle(LifecycleStore(store.engine), OncallConfig(), lambda: [])
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(service, False), escalation=esc, oncall=life,
                               alerting=real_alerting(tmp_path / "alerting"))
    with TestClient(create_app(deps)) as client:
        assert client.get("/api/vigil/v1/escalation_policies").status_code == 401
        policies = client.get("/api/vigil/v1/escalation_policies", headers=VIEWER).json()["data"]
        assert [p["name"] for p in policies] == ["runbook"] and policies[0]["routes"] == ["{}"]
        assert [(s["kind"], s["level"], s["afterSeconds"]) for s in policies[0]["steps"]] == [
            ("notify_schedule", 1, 0.0), ("wait", 1, 0.0), ("notify_users", 2, 300.0),
            ("wait", 2, 300.0), ("notify_team", 3, 1200.0)]
        assert policies[0]["steps"][4]["value"] == "sre" and policies[0]["cycleSeconds"] == 1200.0
        one = client.get("/api/vigil/v1/escalation_policies/runbook", headers=VIEWER).json()["data"]
        assert one == policies[0]
        assert client.get("/api/vigil/v1/escalation_policies/nope", headers=VIEWER).status_code == 404

        status = client.get(f"/api/vigil/v1/episodes/{ep.id}/escalation", headers=VIEWER).json()["data"]
        assert (status["policy"], status["level"], status["stopped"]) == ("runbook", 2, None)
        due = (ep.opened_at + timedelta(minutes=20)).isoformat().replace("+00:00", "Z")
        assert status["next"] == {"level": 3, "kind": "notify_team", "cycle": 0, "step": 4, "dueAt": due}
        assert [(t["level"], [p["user"] for p in t["paged"]]) for t in status["taken"]] == [
            (1, ["dora"]), (2, ["ann"])]
        assert client.get("/api/vigil/v1/episodes/nope/escalation", headers=VIEWER).status_code == 404
        detail = client.get(f"/api/vigil/v1/episodes/{ep.id}", headers=VIEWER).json()["data"]
        assert detail["escalation"] == status
        assert [e["kind"] for e in detail["events"]] == ["opened", "escalation", "escalation"]

        # The alerts page: one line per episode (the page's clock is the database's, real time).
        page = client.get("/alerts", headers=VIEWER).text
        assert "runbook: level 2; next notify team (level 3) in " in page
    store.close()
