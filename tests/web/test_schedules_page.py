"""The /schedules page's forms without a browser: who may add, swap and delete (the same
rules as the API), errors shown on the page, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.web.test_schedules_api import NOW, setup  # noqa: F401 - the fixture


def as_user(name: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(name, f"{name}-password")


def test_page_shows_each_schedule_to_viewers(setup):  # noqa: F811
    client, _, _ = setup
    page = client.get("/schedules", auth=as_user("vic"))
    assert page.status_code == 200
    assert 'id="schedule-primary"' in page.text and 'id="schedule-partial"' in page.text
    assert "on call now: bob" in page.text
    assert "override-form" not in page.text  # viewers get no forms
    assert client.get("/schedules?start=someday", auth=as_user("vic")).status_code == 400


def test_forms_follow_the_api_rules(setup):  # noqa: F811
    client, access, service = setup
    form = {"user": "ann", "from": "2026-05-04T13:00", "to": "2026-05-04T15:00", "note": "page"}
    refused = client.post("/schedules/primary/overrides", data=form, auth=as_user("bob"), follow_redirects=False)
    assert refused.status_code == 403 and "only put themselves on call" in refused.text
    made = client.post("/schedules/primary/overrides", data=form, auth=as_user("ann"), follow_redirects=False)
    assert (made.status_code, made.headers["location"]) == (303, "/schedules")
    [row] = service.override_rows("primary", NOW, datetime(2026, 5, 5, tzinfo=UTC))
    # Local wall time in the schedule's zone (Europe/Berlin, CEST in May).
    assert (row.user, row.starts_at, row.ends_at) == ("ann", datetime(2026, 5, 4, 11, tzinfo=UTC),
                                                      datetime(2026, 5, 4, 13, tzinfo=UTC))
    assert "override-form" in client.get("/schedules", auth=as_user("ann")).text
    bad = client.post("/schedules/primary/overrides", data={**form, "to": "later"}, auth=as_user("ann"))
    assert bad.status_code == 400 and "to: expected a date and time" in bad.text
    swap = {"user": "bob", "from": "2026-05-04T18:00", "to": "2026-05-04T20:00",
            "with_user": "ann", "with_from": "2026-05-05T18:00", "with_to": "2026-05-05T20:00"}
    assert client.post("/schedules/primary/swaps", data=swap, auth=as_user("carl")).status_code == 403
    swapped = client.post("/schedules/primary/swaps", data=swap, auth=as_user("bob"), follow_redirects=False)
    assert swapped.status_code == 303
    assert service.on_call("primary", datetime(2026, 5, 4, 17, tzinfo=UTC)).user == "ann"
    assert access.audit_entries(action="schedule.swap")[0].actor == "bob"
    assert client.post(f"/schedules/primary/overrides/{row.id}/delete", auth=as_user("bob")).status_code == 403
    deleted = client.post(f"/schedules/primary/overrides/{row.id}/delete", auth=as_user("ann"), follow_redirects=False)
    assert deleted.status_code == 303
    assert [r.user for r in service.override_rows("primary", NOW, datetime(2026, 5, 6, tzinfo=UTC))] == ["ann", "bob"]
