"""The schedule API over a real access service and state store: reads for viewers,
overrides and swaps for responders (themselves) and admins (anyone), the audit log, the
calendar download and the token-in-URL subscription feeds (parsed back with icalendar)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from icalendar import Calendar
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.oncall.schedule import Layer, Restriction, Schedule
from vigil.oncall.schedules import ScheduleService
from vigil.state import Store
from vigil.state.schedule_store import ScheduleStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)  # a Monday; the daily layer has bob now
PRIMARY = Schedule("primary", "Europe/Berlin", (
    Layer("daily", ("ann", "bob"), timedelta(days=1), date(2026, 5, 1), time(9)),
    Layer("nights", ("carl",), timedelta(days=1), date(2026, 5, 1), time(0),
          restrictions=(Restriction("daily", 0, 6 * 60),)),
))
PARTIAL = Schedule("partial", "UTC", (
    Layer("days", ("ann",), timedelta(days=1), date(2026, 5, 1), time(0),
          restrictions=(Restriction("daily", 9 * 60, 17 * 60),)),))


@pytest.fixture
def setup(tmp_path):
    store = Store.open_in(str(tmp_path))
    access = AccessService(store.access)
    for name, role in (("root", Role.ADMIN), ("ann", Role.RESPONDER), ("bob", Role.RESPONDER),
                       ("carl", Role.RESPONDER), ("vic", Role.VIEWER)):
        access.add_user(name, role, actor="test", password=f"{name}-password")
    service = ScheduleService(ScheduleStore(store.engine), lambda: {"primary": PRIMARY, "partial": PARTIAL},
                              active_users=lambda: {u.name for u in access.users() if not u.disabled},
                              clock=lambda: NOW)
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(access), schedules=service)
    with TestClient(create_app(deps)) as client:
        yield client, access, service
    store.close()


def as_user(name: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(name, f"{name}-password")


def test_viewers_read_schedules_who_and_shifts(setup):
    client, _, _ = setup
    listed = client.get("/api/vigil/v1/schedules", auth=as_user("vic")).json()["data"]
    assert [s["name"] for s in listed] == ["primary", "partial"]
    assert listed[0]["on_call"] == {"user": "bob", "until": "2026-05-04T22:00:00Z", "source": "layer daily"}
    assert listed[0]["layers"][1]["restrictions"] == [{"kind": "daily", "start_minute": 0, "end_minute": 360}]
    who = client.get("/api/vigil/v1/schedules/primary/oncall", params={"at": "2026-05-05T01:00:00Z"},
                     auth=as_user("vic")).json()["data"]
    assert (who["user"], who["until"], who["source"], who["name"]) == ("carl", "2026-05-05T04:00:00Z", "layer", "nights")
    shifts = client.get("/api/vigil/v1/schedules/partial/shifts", auth=as_user("vic"),
                        params={"from": "2026-05-04T00:00:00Z", "to": "2026-05-05T00:00:00Z"}).json()["data"]
    assert [(s["user"], s["from"], s["to"], s["source"]) for s in shifts] == [
        (None, "2026-05-04T00:00:00Z", "2026-05-04T09:00:00Z", "gap"),
        ("ann", "2026-05-04T09:00:00Z", "2026-05-04T17:00:00Z", "layer"),
        (None, "2026-05-04T17:00:00Z", "2026-05-05T00:00:00Z", "gap")]


def test_bad_requests_say_what(setup):
    client, _, _ = setup
    missing = client.get("/api/vigil/v1/schedules/nope/oncall", auth=as_user("vic"))
    assert (missing.status_code, missing.json()["error"]) == (404, "no schedule named 'nope'")
    bad = client.get("/api/vigil/v1/schedules/primary/oncall", params={"at": "yesterday"}, auth=as_user("vic"))
    assert bad.status_code == 400 and bad.json()["error"].startswith("at: parsing time")
    backwards = client.get("/api/vigil/v1/schedules/primary/shifts", auth=as_user("vic"),
                           params={"from": "2026-05-04T00:00:00Z", "to": "2026-05-03T00:00:00Z"})
    assert (backwards.status_code, backwards.json()["error"]) == (400, "the end must be after the start")


def test_responder_overrides_for_themselves_only_and_admin_for_anyone(setup):
    client, access, service = setup
    body = {"user": "ann", "from": "2026-05-04T10:00:00Z", "to": "2026-05-04T14:00:00Z", "note": "covering"}
    assert client.post("/api/vigil/v1/schedules/primary/overrides", json=body, auth=as_user("vic")).status_code == 403
    refused = client.post("/api/vigil/v1/schedules/primary/overrides", json=body, auth=as_user("bob"))
    assert refused.status_code == 403 and "only put themselves" in refused.json()["error"]
    made = client.post("/api/vigil/v1/schedules/primary/overrides", json=body, auth=as_user("ann"))
    assert made.status_code == 201
    row = made.json()["data"]
    assert (row["user"], row["created_by"], row["note"]) == ("ann", "ann", "covering")
    assert service.on_call("primary", NOW).user == "ann"
    entry = access.audit_entries(action="schedule.override.create")[0]
    assert (entry.actor, entry.target) == ("ann", "schedule:primary")
    by_admin = client.post("/api/vigil/v1/schedules/primary/overrides", auth=as_user("root"),
                           json={**body, "user": "carl", "from": "2026-05-06T00:00:00Z", "to": "2026-05-07T00:00:00Z"})
    assert by_admin.status_code == 201
    unknown = client.post("/api/vigil/v1/schedules/primary/overrides", auth=as_user("root"), json={**body, "user": "zed"})
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unknown or disabled user 'zed'")
    listed = client.get("/api/vigil/v1/schedules/primary/overrides", auth=as_user("vic"),
                        params={"from": "2026-05-01T00:00:00Z"}).json()["data"]
    assert [o["user"] for o in listed] == ["ann", "carl"]
    # bob may not delete ann's override; ann may; the audit log keeps what was deleted.
    assert client.delete(f"/api/vigil/v1/schedules/primary/overrides/{row['id']}", auth=as_user("bob")).status_code == 403
    gone = client.delete(f"/api/vigil/v1/schedules/primary/overrides/{row['id']}", auth=as_user("ann"))
    assert gone.status_code == 200 and gone.json()["data"][0]["id"] == row["id"]
    assert service.on_call("primary", NOW).user == "bob"
    assert access.audit_entries(action="schedule.override.delete")[0].before[0]["id"] == row["id"]
    assert client.delete(f"/api/vigil/v1/schedules/primary/overrides/{row['id']}", auth=as_user("ann")).status_code == 404


def test_swap_exchanges_two_shifts_of_people_on_call(setup):
    client, _, service = setup
    # bob has 2026-05-04 09:00 CEST (07:00Z) to 05-05; ann has 05-05 to 05-06.
    body = {"user": "bob", "from": "2026-05-04T07:00:00Z", "to": "2026-05-04T22:00:00Z",
            "with_user": "ann", "with_from": "2026-05-05T07:00:00Z", "with_to": "2026-05-05T22:00:00Z"}
    assert client.post("/api/vigil/v1/schedules/primary/swaps", json=body, auth=as_user("carl")).status_code == 403
    made = client.post("/api/vigil/v1/schedules/primary/swaps", json=body, auth=as_user("bob"))
    assert made.status_code == 201, made.text
    assert service.on_call("primary", NOW).user == "ann"
    assert service.on_call("primary", datetime(2026, 5, 5, 12, tzinfo=UTC)).user == "bob"
    not_on_call = client.post("/api/vigil/v1/schedules/primary/swaps", auth=as_user("root"),
                              json={**body, "from": "2026-05-04T21:00:00Z", "to": "2026-05-05T01:00:00Z"})
    assert not_on_call.status_code == 400 and "is not on call for all of" in not_on_call.json()["error"]


def parse_events(ics: bytes) -> list:
    cal = Calendar.from_ical(ics)
    return list(cal.walk("VEVENT"))


def test_calendar_download_and_feed_tokens(setup):
    client, access, _ = setup
    download = client.get("/api/vigil/v1/schedules/partial/calendar.ics", auth=as_user("vic"))
    assert download.headers["content-type"].startswith("text/calendar")
    events = parse_events(download.content)
    on_day = [e for e in events if e.decoded("dtstart") == datetime(2026, 5, 4, 9, tzinfo=UTC)]
    assert len(on_day) == 1
    event = on_day[0]
    assert event.decoded("dtend") == datetime(2026, 5, 4, 17, tzinfo=UTC)
    assert str(event["summary"]) == "ann on call (partial)"
    gaps = [e for e in events if str(e["summary"]) == "Nobody on call (partial)"]
    assert gaps and all(e.decoded("dtstart").tzinfo is not None for e in gaps)
    # Calendar clients cannot log in: without a token there is no feed.
    assert client.get("/calendar/nothing/schedules/partial.ics").status_code == 404
    assert client.post("/api/vigil/v1/calendar/token", auth=as_user("vic")).status_code == 403
    created = client.post("/api/vigil/v1/calendar/token", auth=as_user("ann")).json()["data"]
    token = created["token"]
    assert created["me"].endswith(f"/calendar/{token}/me.ics")
    first = client.get(f"/calendar/{token}/schedules/partial.ics")
    again = client.get(f"/calendar/{token}/schedules/partial.ics")
    assert first.status_code == 200
    assert [str(e["uid"]) for e in parse_events(first.content)] == [str(e["uid"]) for e in parse_events(again.content)]
    assert len({str(e["uid"]) for e in parse_events(first.content)}) == len(parse_events(first.content))
    mine = parse_events(client.get(f"/calendar/{token}/me.ics").content)
    assert mine and all(str(e["summary"]).startswith("ann on call") for e in mine)
    assert {str(e["summary"]) for e in mine} == {"ann on call (primary)", "ann on call (partial)"}
    assert access.audit_entries(action="calendar.token.create")[0].target == "user:ann"
    # Revoked by its owner, or by an admin: the URL stops working.
    assert client.delete("/api/vigil/v1/calendar/token", auth=as_user("ann")).status_code == 200
    assert client.get(f"/calendar/{token}/me.ics").status_code == 404
    token = client.post("/api/vigil/v1/calendar/token", auth=as_user("ann")).json()["data"]["token"]
    assert client.delete("/api/vigil/v1/calendar/tokens/ann", auth=as_user("bob")).status_code == 403
    assert client.delete("/api/vigil/v1/calendar/tokens/ann", auth=as_user("root")).status_code == 200
    assert client.get(f"/calendar/{token}/schedules/primary.ics").status_code == 404
    # A disabled user's feed stops too.
    token = client.post("/api/vigil/v1/calendar/token", auth=as_user("bob")).json()["data"]["token"]
    assert client.get(f"/calendar/{token}/me.ics").status_code == 200
    access.disable_user("bob", actor="test")
    assert client.get(f"/calendar/{token}/me.ics").status_code == 404
