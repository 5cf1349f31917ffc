"""The dashboard pages as HTML (vigil.web.dashboards_ui), without a browser: the list, a
dashboard's shell, the editor's text, a missing dashboard, Vigil without dashboards, and
the edit/import controls by role (what the browser code is given to work with)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.dashboards.store import DashboardSettings, DashboardStore
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

SOURCE = Path(__file__).resolve().parents[1] / "data" / "dashboards" / "browser-hosts.yaml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(SOURCE, tmp_path)
    # A JSON dashboard too (shown to the editor as YAML) and a file that is not a dashboard.
    (tmp_path / "plain.json").write_text(json.dumps(
        {"kind": "Dashboard", "metadata": {"name": "plain"}, "spec": {"display": {"name": "Plain one"}}}))
    (tmp_path / "broken.yaml").write_text("kind: Dashboard\nmetadata: {}\n")
    return tmp_path


def _client(folder: Path | None, access: AccessPolicy | None = None) -> TestClient:
    store = None if folder is None else DashboardStore(
        lambda: DashboardSettings(folders=(folder,), shipped=None))
    return TestClient(create_app(dataclasses.replace(make_deps(), dashboards=store, access=access)))


def test_list_links_every_dashboard_and_names_skipped_files(folder):
    with _client(folder) as c:
        page = c.get("/dashboards").text
    assert '<a href="/dashboards/browser-hosts">Browser hosts</a>' in page
    assert '<a href="/dashboards/plain">Plain one</a>' in page
    assert "broken.yaml" in page and "Files skipped" in page
    assert 'href="/dashboards/import"' in page  # no access control: everyone edits


def test_dashboard_page_is_a_shell_for_the_browser_code(folder):
    with _client(folder) as c:
        r = c.get("/dashboards/browser-hosts")
    assert r.status_code == 200
    assert 'data-name="browser-hosts"' in r.text
    assert '<script type="module" src="/static/dist/dashboard.js"></script>' in r.text
    assert 'href="/dashboards/browser-hosts/edit"' in r.text
    assert "<style" not in r.text and "onclick" not in r.text  # the CSP allows neither


def test_editor_shows_the_file_as_written_or_json_as_yaml(folder):
    with _client(folder) as c:
        yaml_page = c.get("/dashboards/browser-hosts/edit").text
        json_page = c.get("/dashboards/plain/edit").text
    assert "# The dashboard tests/web/test_dashboards_browser.py opens" in yaml_page  # comments kept
    assert "kind: Dashboard\nmetadata:\n  name: plain\n" in json_page


def test_missing_dashboard_and_no_dashboards_at_all(folder):
    with _client(folder) as c:
        r = c.get("/dashboards/nope")
        assert r.status_code == 404 and "No dashboard named &#39;nope&#39;." in r.text
        assert c.get("/dashboards/nope/edit").status_code == 404
    with _client(None) as c:
        assert "Dashboards are not enabled in this Vigil." in c.get("/dashboards").text
        assert c.get("/dashboards/browser-hosts").status_code == 404


@pytest.fixture
def access(tmp_path: Path) -> Iterator[AccessPolicy]:
    store = Store.open_in(str(tmp_path / "state"))
    service = AccessService(store.access)
    service.add_user("vera", Role.VIEWER, actor="test", password="vera-password")
    service.add_user("ed", Role.EDITOR, actor="test", password="ed-password")
    yield AccessPolicy(service)
    store.close()


@pytest.mark.parametrize(("user", "edits"), [("vera", False), ("ed", True)])
def test_edit_and_import_controls_by_role(folder, access, user, edits):
    with _client(folder, access) as c:
        c.auth = (user, f"{user}-password")
        page = c.get("/dashboards/browser-hosts").text
        listing = c.get("/dashboards").text
        assert ('href="/dashboards/browser-hosts/edit"' in page) is edits
        assert ('href="/dashboards/import"' in listing) is edits
        assert c.get("/dashboards/browser-hosts/edit").status_code == (200 if edits else 403)
        assert c.get("/dashboards/import").status_code == (200 if edits else 403)
