"""The dashboards API through the real app and access gate: viewers list, read, lint and
resolve variables (from a real TSDB); editors save (one audit entry, the file re-read);
viewers are refused saving; a file edited on disk shows without a restart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from tests.incidents.support import assembled_app, basic
from tests.web.fakes import NOW_S, make_deps
from vigil.access import AccessService, Role
from vigil.config.access import AccessConfig
from vigil.dashboards.store import DashboardSettings, DashboardStore
from vigil.model import Labels
from vigil.promql import Engine
from vigil.state import Store
from vigil.tsdb import DB
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

BASE = "/api/vigil/v1/dashboards"
FULL_TEXT = Path(__file__).with_name("full_dashboard.yaml").read_text()
VIC, EVE = basic("vic"), basic("eve")


def _load_series(db: DB) -> None:
    app = db.appender()
    now_ms = int(NOW_S * 1000)
    for step in range(20):
        ts = now_ms - (19 - step) * 15_000
        for job, instance in (("node", "db-1:9100"), ("node", "web-1:9100"), ("vigil", "vigil:9090")):
            app.append(Labels({"__name__": "up", "job": job, "instance": instance}), ts, 1)
    app.commit()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The slow parts, once per module: the state database with its people, and the TSDB."""
    tmp = tmp_path_factory.mktemp("dashboards-api")
    store = Store.open_in(str(tmp / "state"))
    access = AccessService(store.access, AccessConfig())
    access.add_user("vic", Role.VIEWER, actor="test", password="vic-pw")
    access.add_user("eve", Role.EDITOR, actor="test", password="eve-pw")
    with DB.open(tmp / "tsdb") as db:
        _load_series(db)
        yield store, access, db
    store.close()


@pytest.fixture
def env(shared, tmp_path):
    store, access, db = shared
    folder, shipped = tmp_path / "boards", tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "farm.yaml").write_text(FULL_TEXT)
    boards = DashboardStore(lambda: DashboardSettings((folder,), shipped, 15.0))
    deps = dataclasses.replace(make_deps(), engine=Engine(db), storage=db,
                               access=AccessPolicy(access, False), dashboards=boards)
    seen = {e.id for e in store.access.audit_entries()}
    with TestClient(create_app(deps)) as client:
        yield client, _NewAudit(store, seen), folder, shipped


class _NewAudit:
    """The audit entries written during one test."""

    def __init__(self, store: Store, seen: set[int]) -> None:
        self.store, self.seen = store, seen

    def entries(self) -> list:
        return [e for e in self.store.access.audit_entries() if e.id not in self.seen]


def _saves(audit: _NewAudit) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in audit.entries() if e.actor != "test"]


def test_viewer_lists_and_reads(env):
    client, _, _, shipped = env
    r = client.get(BASE, headers=VIC)
    assert r.status_code == 200, r.text
    assert r.json()["data"] == [{
        "name": "farm-hosts", "project": "smart-dairy", "title": "Farm hosts",
        "description": "CPU, memory and scrape health of the milking-parlour hosts",
        "source": "shipped", "file": str(shipped / "farm.yaml"), "editable": True}]
    one = client.get(f"{BASE}/farm-hosts", headers=VIC).json()["data"]
    assert one["dashboard"] == yaml.safe_load(FULL_TEXT)
    assert (one["source"], one["editable"]) == ("shipped", True)
    assert client.get(f"{BASE}/nope", headers=VIC).status_code == 404
    assert client.get(BASE).status_code == 401


def test_editor_saves_once_audited_viewer_is_refused(env):
    client, audit, folder, shipped = env
    data = yaml.safe_load(FULL_TEXT)
    data["spec"]["display"]["name"] = "Farm hosts (edited)"
    assert client.put(f"{BASE}/farm-hosts", json=data, headers=VIC).status_code == 403
    assert not folder.exists()
    r = client.put(f"{BASE}/farm-hosts", json=data, headers=EVE)
    assert r.status_code == 200, r.text
    saved = r.json()["data"]
    assert (saved["source"], saved["file"]) == ("folder", str(folder / "farm-hosts.yaml"))
    assert yaml.safe_load((folder / "farm-hosts.yaml").read_text()) == data
    assert (shipped / "farm.yaml").read_text() == FULL_TEXT
    assert _saves(audit) == [("eve", "dashboard.save", "farm-hosts")]
    [entry] = [e for e in audit.entries() if e.action == "dashboard.save"]
    assert entry.after["dashboard"]["spec"]["display"]["name"] == "Farm hosts (edited)"
    assert entry.before["file"] == str(shipped / "farm.yaml")
    listed = client.get(BASE, headers=VIC).json()["data"]
    assert [(d["title"], d["source"]) for d in listed] == [("Farm hosts (edited)", "folder")]
    # edited on disk: shows on the next request
    text = (folder / "farm-hosts.yaml").read_text().replace("Farm hosts (edited)", "By hand")
    (folder / "farm-hosts.yaml").write_text(text)
    assert client.get(f"{BASE}/farm-hosts", headers=VIC).json()["data"]["dashboard"]["spec"][
        "display"]["name"] == "By hand"


def test_save_refusals_name_every_finding_with_its_path(env):
    client, audit, folder, _ = env
    bad = FULL_TEXT.replace("kind: TimeSeriesChart", "kind: LineChart").replace("$site", "$place")
    r = client.put(f"{BASE}/farm-hosts", content=bad, headers={**EVE, "Content-Type": "application/yaml"})
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert {(e["path"], e["message"].split(" (")[0]) for e in errors} == {
        ("spec.panels.cpu.spec.plugin.kind", "unknown panel kind 'LineChart'"),
        ("spec.panels.cpu.spec.display.name", "unknown variable $place")}
    assert all(e["line"] for e in errors)  # YAML bodies give lines
    r = client.put(f"{BASE}/other", json=yaml.safe_load(FULL_TEXT), headers=EVE)
    assert r.status_code == 400 and "URL names 'other'" in r.json()["error"]
    r = client.put(f"{BASE}/farm-hosts", content="{not json", headers=EVE)
    assert r.status_code == 400 and r.json()["errors"][0]["message"].startswith("invalid JSON")
    assert _saves(audit) == [] and not folder.exists()


def test_lint_is_a_viewers_read(env):
    client, audit, _, _ = env
    r = client.post(f"{BASE}/lint", content=FULL_TEXT.replace("panels/notes", "panels/nope"),
                    headers={**VIC, "Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert [e["path"] for e in r.json()["data"]["errors"]] == [
        "spec.layouts[1].spec.items[2].content.$ref", "spec.panels.notes"]
    clean = client.post(f"{BASE}/lint", json=yaml.safe_load(FULL_TEXT), headers=VIC)
    assert clean.json()["data"]["errors"] == []
    assert _saves(audit) == []


def test_variables_resolve_label_values_from_the_tsdb(env):
    client, _, _, _ = env
    window = {"start": str(NOW_S - 3600), "end": str(NOW_S)}
    r = client.get(f"{BASE}/farm-hosts/variables", params=window, headers=VIC)
    assert r.status_code == 200, r.text
    found = {v["name"]: v for v in r.json()["data"]}
    assert [o["value"] for o in found["job"]["options"]] == ["node", "vigil"]
    assert found["job"]["current"] == "node"
    # PromQL variable: up{job="node"} evaluated by the engine, its instance labels
    assert [o["value"] for o in found["instance"]["options"]] == ["db-1:9100", "web-1:9100"]
    assert (found["instance"]["current"], found["instance"]["multi"], found["instance"]["allowAll"]) == (
        "$__all", True, True)
    picked = client.get(f"{BASE}/farm-hosts/variables", headers=VIC,
                        params=[*window.items(), ("var-job", "vigil")]).json()["data"]
    assert [o["value"] for o in picked[1]["options"]] == ["vigil:9090"]


def test_queries_are_interpolated_per_panel(env):
    client, _, _, _ = env
    params = [("start", str(NOW_S - 86400)), ("end", str(NOW_S)), ("width_px", "960"),
              ("var-instance", "db-1:9100"), ("var-instance", "web-1:9100")]
    r = client.get(f"{BASE}/farm-hosts/queries", params=params, headers=VIC)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    [cpu] = data["panels"]["cpu"]
    assert 'instance=~"(db-1:9100|web-1:9100)"' in cpu["query"] and "[3m30s]" in cpu["query"]
    assert cpu["step"] == 180.0 and cpu["legend"] == "{{instance}}"
    assert data["panels"]["up"][0]["query"] == 'up{job="node"}'
    assert data["titles"]["cpu"] == "CPU busy on parlour-1"
    bad = client.get(f"{BASE}/farm-hosts/queries", params={"width_px": "wide"}, headers=VIC)
    assert bad.status_code == 400 and "width_px" in bad.json()["error"]


def test_the_assembled_app_reads_the_configured_folder_live(tmp_path):
    """``dashboards: {folders: [boards]}`` is relative to the config file; a file added
    while Vigil runs is listed on the next request, and saving writes there."""
    boards = tmp_path / "boards"
    boards.mkdir()
    app = assembled_app(tmp_path, "dashboards:\n  folders: [boards]\n  shipped: false\n")
    try:
        with TestClient(app.web) as client:
            assert client.get(BASE).json()["data"] == []
            (boards / "farm.yaml").write_text(FULL_TEXT)
            [listed] = client.get(BASE).json()["data"]
            assert (listed["name"], listed["file"]) == ("farm-hosts", str(boards / "farm.yaml"))
            data = yaml.safe_load(FULL_TEXT)
            data["spec"]["duration"] = "12h"
            assert client.put(f"{BASE}/farm-hosts", json=data).status_code == 200
            assert yaml.safe_load((boards / "farm.yaml").read_text())["spec"]["duration"] == "12h"
    finally:
        app.close()
