"""The shifts API and ``vigil shifts`` against a served Vigil app with a real state database,
a real TSDB behind the checks, and access control: viewers read, responders tick with a
note, hand over and run the checks; refusals name the field or what is missing; every change
is in the audit log; the CLI prints the list with marks and evidence and exits 1 when a
check fails, 2 on bad usage."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import httpx
import pytest
from typer.testing import CliRunner

from tests.incidents.support import audit_by_people, basic, cli_token, deps_with, people
from tests.shifts.support import now_s, shifts_config, write_samples
from tests.support.browser import serve_app
from vigil.cli import cli
from vigil.promql import Engine
from vigil.shifts.checks import ShiftChecker
from vigil.shifts.service import ShiftService
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.state.shift_store import ShiftStore
from vigil.tsdb import DB
from vigil.web import create_app

# One shift a day, so every instant of the test falls in a shift of the same name.
CONFIG = shifts_config("""
shifts:
  shifts:
    - name: day
      start: "00:00"
      items:
        - {title: Verify all critical services are green, key: services, check: critical_services}
        - {title: Review backup completion status, key: backups, check: backups_done}
        - {title: Confirm no critical alerts pending, key: critical, check: open_alerts}
        - {title: Check IoT device connectivity, key: iot}
""")
API = "/api/vigil/v1/shifts"
_runner = CliRunner()


def run_shifts(*args: str):
    return _runner.invoke(cli, ["shifts", *args])


@pytest.fixture
def served(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = people(store, viewers=["vic"], responders=["ann"])
    token = cli_token(access, "ann")
    with DB.open(str(tmp_path / "tsdb")) as db:
        at = now_s()
        write_samples(db, at - timedelta(seconds=5), [
            ({"__name__": "probe_success", "instance": "https://erp.example"}, 1.0),
            ({"__name__": "probe_success", "instance": "https://api.example"}, 0.0),
            ({"__name__": "vigil_backup_newest_age_seconds", "dir": "/backups"}, 600.0)])
        service = ShiftService(ShiftStore(store.engine), config=lambda: CONFIG,
                               checker=ShiftChecker(Engine(db), LifecycleStore(store.engine)))
        deps = dataclasses.replace(deps_with(access), shifts=service)
        with serve_app(lambda _url: create_app(deps)) as url:
            yield url, token, store, service
    store.close()


def test_api_reads_ticks_hands_over_with_roles_and_audit(served):
    url, _token, store, service = served
    current = httpx.get(url + API + "/current", headers=basic("vic")).json()["data"]
    shift_id = current["id"]
    assert (current["title"], current["name"]) == ("Day", "day")
    assert [i["status"] for i in current["items"]] == ["open"] * len(current["items"])

    tick = f"{url}{API}/{shift_id}/items/{current['items'][-1]['key']}/tick"
    r = httpx.post(tick, json={"note": "looked"}, headers=basic("vic"))
    assert r.status_code == 403  # viewers read only
    r = httpx.post(tick, json={"note": "  "}, headers=basic("ann"))
    assert (r.status_code, r.json()["errorType"]) == (400, "bad_data")
    assert r.json()["error"] == "note: say what you found when you tick an item"
    r = httpx.post(f"{url}{API}/{shift_id}/items/nope/tick", json={"note": "x"}, headers=basic("ann"))
    assert (r.status_code, r.json()["error"]) == (404, f"shift {shift_id!r} has no item 'nope'")
    r = httpx.post(f"{url}{API}/1999-01-01-day/handover", json={"note": "x"}, headers=basic("ann"))
    assert (r.status_code, r.json()["error"]) == (404, "no shift '1999-01-01-day'")
    r = httpx.post(tick, json={"note": "looked", "done": "yes"}, headers=basic("ann"))
    assert (r.status_code, r.json()["error"]) == (400, "done must be true or false")
    r = httpx.post(tick, json={"note": "all sensors report"}, headers=basic("ann"))
    assert r.status_code == 200
    assert (r.json()["data"]["status"], r.json()["data"]["by"]) == ("done", "ann")

    r = httpx.post(f"{url}{API}/{shift_id}/handover", json={"note": "quiet"}, headers=basic("ann"))
    handed = r.json()["data"]
    assert handed["handover_note"] == "quiet" and handed["handed_over_by"] == "ann"
    following = httpx.get(f"{url}{API}/{handed['next_shift_id']}", headers=basic("vic")).json()["data"]
    assert [i["carried_from"] for i in following["items"] if i["carried_from"]] == \
        [shift_id] * len(handed["open_items"])

    history = httpx.get(url + API, headers=basic("vic"), params={
        "start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}).json()["data"]
    assert [s["id"] for s in history] == [shift_id, handed["next_shift_id"]]
    r = httpx.get(url + API, headers=basic("vic"), params={"start": "yesterday"})
    assert r.status_code == 400 and r.json()["error"].startswith("start/end: parsing time")
    assert audit_by_people(store) == [("ann", "shift.item.tick"), ("ann", "shift.handover")]


def test_cli_show_tick_check_handover_history(served):
    url, token, store, service = served
    common = ("--url", url, "--token", token)
    r = run_shifts("show", *common)
    assert r.exit_code == 0, r.output
    shift_id = service.current()[0].id
    lines = r.output.splitlines()
    assert lines[0].startswith(f"Day {shift_id[:10]} ({shift_id}): ") and lines[0].endswith("0 of 4 done")
    assert any(line.startswith("  [ ]       ") for line in lines)

    r = run_shifts("check", "current", *common)
    assert r.exit_code == 1, r.output  # one probe is down
    assert "  [FAILED]  services: Verify all critical services are green  vigil " in r.output
    assert "evidence: probe_success  == 1  -> 2 series, 1 failing" in r.output
    assert "  [ok]      backups: Review backup completion status  vigil " in r.output
    assert "  [ok]      critical: Confirm no critical alerts pending  vigil " in r.output
    assert "evidence: alert episodes (state database): unresolved, priority in P1 -> 0 found" in r.output
    r = run_shifts("tick", "current", "services", "--note", "api.example in maintenance", *common)
    assert r.exit_code == 0 and r.output == f"{shift_id} services: done by token:ann-cli\n"
    # Ticked by a person, the failed check no longer counts against the shift.
    assert run_shifts("check", shift_id, *common).exit_code == 0
    r = run_shifts("show", shift_id, *common)
    assert "  [x]       services: Verify all critical services are green  token:ann-cli " in r.output
    assert "            note: api.example in maintenance" in r.output

    assert run_shifts("tick", "current", "services", *common).exit_code == 2  # no --note
    assert run_shifts("handover", "current", *common).exit_code == 2
    r = run_shifts("tick", shift_id, "nope", "--note", "x", *common)
    assert r.exit_code == 1 and f"404: shift {shift_id!r} has no item 'nope'" in r.output

    r = run_shifts("handover", "current", "--note", "all calm", *common)
    assert r.exit_code == 0 and r.output.startswith(f"{shift_id} handed over to ")
    data = json.loads(run_shifts("history", "--start", "2000-01-01T00:00:00Z", "--json", *common).output)
    assert data[0]["id"] == shift_id and data[0]["handover_note"] == "all calm"
    r = run_shifts("history", "--start", "soon", *common)
    assert r.exit_code == 2 and "--start" in r.output
    assert audit_by_people(store)[-1] == ("token:ann-cli", "shift.handover")
