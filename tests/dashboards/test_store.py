"""Folders and shipped dashboards: who wins by name, live re-reads, atomic saves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from vigil.config.loader import load_config_text
from vigil.dashboards.store import (
    SHIPPED_DIR,
    DashboardError,
    DashboardSettings,
    DashboardStore,
    settings_from_config,
)

FULL = Path(__file__).with_name("full_dashboard.yaml").read_text()


def _write(path: Path, name: str, title: str) -> None:
    data = yaml.safe_load(FULL)
    data["metadata"]["name"] = name
    data["spec"]["display"]["name"] = title
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def dirs(tmp_path):
    first, second, shipped = tmp_path / "first", tmp_path / "second", tmp_path / "shipped"
    for d in (first, second, shipped):
        d.mkdir()
    return first, second, shipped


def _store(first, second, shipped) -> DashboardStore:
    return DashboardStore(lambda: DashboardSettings((first, second), shipped, 15.0))


def test_first_folder_wins_then_later_folders_then_shipped(dirs):
    first, second, shipped = dirs
    _write(shipped / "hosts.yaml", "hosts", "Shipped hosts")
    _write(shipped / "db.yaml", "db", "Database")
    _write(second / "hosts.yml", "hosts", "Second hosts")
    _write(first / "any-file-name.yaml", "hosts", "First hosts")
    (first / "notes.txt").write_text("not a dashboard")
    store = _store(first, second, shipped)
    listed = {e.name: e for e in store.list()}
    assert sorted(listed) == ["db", "hosts"]
    assert listed["hosts"].dashboard.title == "First hosts"
    assert listed["hosts"].source == "folder" and listed["hosts"].file == str(first / "any-file-name.yaml")
    assert listed["db"].source == "shipped" and listed["db"].editable
    assert store.list()[0].summary() == {
        "name": "db", "project": "smart-dairy", "title": "Database",
        "description": listed["db"].dashboard.description, "source": "shipped",
        "file": str(shipped / "db.yaml"), "editable": True}


def test_without_folders_nothing_is_editable_and_saving_is_refused(dirs):
    _, _, shipped = dirs
    _write(shipped / "db.yaml", "db", "Database")
    store = DashboardStore(lambda: DashboardSettings((), shipped))
    assert [e.editable for e in store.list()] == [False]
    with pytest.raises(DashboardError) as info:
        store.save("db", yaml.safe_load((shipped / "db.yaml").read_text()))
    assert info.value.kind == "conflict"


def test_invalid_files_are_skipped_and_reported(dirs):
    first, second, shipped = dirs
    (first / "broken.yaml").write_text("kind: Dashboard\nspec: [\n")
    (first / "wrong.json").write_text('{"kind": "Dashboard", "metadata": {"name": "x"}, "spec": {"panelz": {}}}')
    _write(first / "ok.yaml", "ok", "OK")
    store = _store(first, second, shipped)
    assert [e.name for e in store.list()] == ["ok"]
    problems = store.problems()
    assert any("broken.yaml:3" in p and "invalid YAML" in p for p in problems)
    assert any("wrong.json" in p and "panelz" in p for p in problems)


def test_a_file_edited_on_disk_shows_on_the_next_read(dirs):
    first, second, shipped = dirs
    _write(first / "hosts.yaml", "hosts", "Before")
    store = _store(first, second, shipped)
    assert store.get("hosts").dashboard.title == "Before"
    _write(first / "hosts.yaml", "hosts", "After!")
    assert store.get("hosts").dashboard.title == "After!"
    os.unlink(first / "hosts.yaml")
    with pytest.raises(DashboardError) as info:
        store.get("hosts")
    assert info.value.kind == "not_found"


def test_saving_a_shipped_dashboard_writes_a_copy_into_the_first_folder(dirs):
    first, second, shipped = dirs
    _write(shipped / "hosts.yaml", "hosts", "Shipped")
    shipped_text = (shipped / "hosts.yaml").read_text()
    store = _store(first, second, shipped)
    data = yaml.safe_load(shipped_text)
    data["spec"]["display"]["name"] = "Edited"
    before, after = store.save("hosts", data)
    assert before.source == "shipped" and after.source == "folder"
    assert after.file == str(first / "hosts.yaml")
    assert (shipped / "hosts.yaml").read_text() == shipped_text  # never written
    assert store.get("hosts").dashboard.title == "Edited"
    assert yaml.safe_load((first / "hosts.yaml").read_text())["spec"]["display"]["name"] == "Edited"
    assert sorted(p.name for p in first.iterdir()) == ["hosts.yaml"]  # no temporary file left


def test_saving_rewrites_the_file_that_holds_the_dashboard_in_the_first_folder(dirs):
    first, second, shipped = dirs
    (first / "h.json").write_text('{"kind": "Dashboard", "metadata": {"name": "h"}, "spec": {}}')
    store = _store(first, second, shipped)
    data = {"kind": "Dashboard", "metadata": {"name": "h"}, "spec": {"duration": "2h"}}
    store.save("h", data)
    assert sorted(p.name for p in first.iterdir()) == ["h.json"]
    assert store.get("h").dashboard.spec.duration == "2h"


def test_save_refuses_invalid_dashboards_a_name_mismatch_and_a_foreign_file(dirs):
    first, second, shipped = dirs
    store = _store(first, second, shipped)
    bad = yaml.safe_load(FULL.replace("kind: TimeSeriesChart", "kind: LineChart"))
    with pytest.raises(DashboardError) as info:
        store.save("farm-hosts", bad)
    assert info.value.kind == "invalid"
    assert [e.path for e in info.value.errors] == ["spec.panels.cpu.spec.plugin.kind"]
    with pytest.raises(DashboardError, match="URL names 'other'"):
        store.save("other", yaml.safe_load(FULL))
    (first / "farm-hosts.yaml").write_text("not: a dashboard\n")
    with pytest.raises(DashboardError) as info:
        store.save("farm-hosts", yaml.safe_load(FULL))
    assert info.value.kind == "conflict"
    assert (first / "farm-hosts.yaml").read_text() == "not: a dashboard\n"


def test_settings_from_config_resolve_folders_against_the_config_file(tmp_path):
    config = load_config_text("dashboards:\n  folders: [boards, /abs/x]\n  shipped: false\n",
                              str(tmp_path / "vigil.yml"))
    settings = settings_from_config(config)
    assert settings.folders == (tmp_path / "boards", Path("/abs/x"))
    assert settings.shipped is None
    assert settings_from_config(load_config_text("{}", str(tmp_path / "v.yml"))).shipped == SHIPPED_DIR
