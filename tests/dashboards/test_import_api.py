"""POST /api/vigil/v1/dashboards/import/grafana through the real app and access gate: editors
convert (nothing saved) and save (through the store, once, audited); viewers are refused;
bad bodies, name clashes and dashboards with nothing converted are refused with the reason.
(Few tests on purpose: each starts an app with password logins.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from tests.incidents.support import basic
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.config.access import AccessConfig
from vigil.dashboards.store import DashboardSettings, DashboardStore
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

URL = "/api/vigil/v1/dashboards/import/grafana"
GRAFANA = Path(__file__).parents[1] / "data" / "grafana"
VIC, EVE = basic("vic"), basic("eve")
JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def env(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = AccessService(store.access, AccessConfig())
    access.add_user("vic", Role.VIEWER, actor="test", password="vic-pw")
    access.add_user("eve", Role.EDITOR, actor="test", password="eve-pw")
    folder = tmp_path / "boards"
    boards = DashboardStore(lambda: DashboardSettings((folder,), None, 15.0))
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(access, False), dashboards=boards)
    with TestClient(create_app(deps)) as client:
        yield client, store, folder
    store.close()


def _audit(store: Store) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in store.access.audit_entries() if e.actor != "test"]


def test_editor_converts_without_saving_viewer_is_refused(env):
    client, store, folder = env
    body = (GRAFANA / "postgres-overview.json").read_bytes()
    r = client.post(URL, content=body, headers=EVE | JSON_HEADERS)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["saved"] is None
    assert data["dashboard"]["metadata"] == {"name": "postgres-overview"}
    assert yaml.safe_load(data["yaml"]) == data["dashboard"]
    assert {k: data["summary"][k] for k in ("title", "panels", "converted", "placeholders", "variables")} == {
        "title": "Postgres Overview", "panels": 6, "converted": 6, "placeholders": 0, "variables": 3}
    assert not folder.exists()
    assert _audit(store) == [("eve", "dashboard.convert", "postgres-overview")]
    assert client.post(URL, content=body, headers=VIC | JSON_HEADERS).status_code == 403
    assert client.post(URL, content=body, headers=JSON_HEADERS).status_code == 401


def test_save_writes_once_then_refuses_a_clash_unless_overwrite(env):
    client, store, folder = env
    body = (GRAFANA / "redis-exporter.json").read_bytes()
    r = client.post(URL + "?save=true&name=nodes&project=farm", content=body, headers=EVE | JSON_HEADERS)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["saved"] == {"file": str(folder / "nodes.yaml")}
    assert yaml.safe_load((folder / "nodes.yaml").read_text()) == data["dashboard"]
    assert data["dashboard"]["metadata"] == {"name": "nodes", "project": "farm"}
    listed = client.get("/api/vigil/v1/dashboards/nodes", headers=VIC).json()["data"]
    assert listed["dashboard"] == data["dashboard"]
    again = client.post(URL + "?save=true&name=nodes", content=body, headers=EVE | JSON_HEADERS)
    assert again.status_code == 409
    assert "a dashboard named 'nodes' exists" in again.json()["error"]
    over = client.post(URL + "?save=true&name=nodes&overwrite=true", content=body, headers=EVE | JSON_HEADERS)
    assert over.status_code == 200, over.text
    assert "project" not in yaml.safe_load((folder / "nodes.yaml").read_text())["metadata"]
    assert _audit(store) == [("eve", "dashboard.import", "nodes"), ("eve", "dashboard.import", "nodes")]


def test_bad_input_is_refused_with_the_reason(env):
    client, _, folder = env
    not_json = client.post(URL, content=b"not json", headers=EVE | JSON_HEADERS)
    assert not_json.status_code == 400
    assert not_json.json()["error"].startswith("the body must be a Grafana dashboard as JSON")
    old = client.post(URL, json={"schemaVersion": 14, "rows": []}, headers=EVE)
    assert (old.status_code, old.json()["errorType"]) == (400, "bad_data")
    assert old.json()["error"].startswith("rows: schemaVersion 14 keeps panels in rows[]")
    empty = client.post(URL, json={"title": "Empty", "schemaVersion": 30, "panels": []}, headers=EVE)
    assert empty.status_code == 200
    assert empty.json()["data"]["summary"]["panels"] == 0
    only_pie = {"title": "Pies", "schemaVersion": 30, "panels": [
        {"type": "piechart", "title": "Share", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}]}
    preview = client.post(URL, json=only_pie, headers=EVE)
    assert preview.status_code == 200
    assert preview.json()["data"]["summary"]["placeholdersByReason"] == {
        "panel type 'piechart' has no Vigil equivalent": 1}
    saved = client.post(URL + "?save=true", json=only_pie, headers=EVE)
    assert saved.status_code == 400
    assert saved.json()["error"] == "none of the 1 panels could be converted; not saved"
    bad = client.post(URL + "?name=no%20spaces", json=only_pie, headers=EVE)
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("metadata.name: the converted dashboard is invalid")
    assert not folder.exists()
