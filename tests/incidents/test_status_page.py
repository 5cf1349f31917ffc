"""The status page's rules, from plain values and fixed times: a component's status from its
query's series, the worst of query and incidents, overrides and their expiry, maintenance,
what of an incident is published, uptime per UTC day across day boundaries, and maintenance
windows from time intervals (daylight-saving change included)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from vigil.config import load_config_text
from vigil.incidents.maintenance import windows
from vigil.incidents.status_page import (
    component_statuses,
    headline,
    overall_uptime,
    public_incidents,
    query_status,
    uptime_by_day,
)
from vigil.model.timeinterval import compile_interval
from vigil.state.incident_store import Incident, IncidentEvent
from vigil.state.status_page_store import ComponentCheck, ComponentOverride, StatusTransition

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
SECTION = load_config_text("""
status_page:
  components:
    - {name: shop, description: Web shop, group: Customers, query: 'probe_success{instance="https://shop"}'}
    - {name: api, query: 'up{job="api"}', partial_outage_below: 0.5}
    - {name: dashboards, query: 'up{job="grafana"}'}
  incident_impact: {SEV-3: partial_outage}
""").status_page


def incident(severity: int, components: tuple[str, ...], *, status: str = "investigating",
             resolved_at: datetime | None = None, inc_id: str = "i1", title: str = "Checkout fails") -> Incident:
    return Incident(
        id=inc_id, ref="INC-20261207-001", title=title, summary="internal summary", impact="", severity=severity,
        status=status, commander="alice", roles={"communications": "bob", "scribe": None, "responders": ["carol"]},
        components=components, channel="#incident", alert_matchers=('alertname="ShopDown"',), source="manual",
        origin_key=None, declared_by="alice", started_at=NOW, detected_at=NOW, declared_at=NOW,
        acknowledged_at=None, mitigated_at=None, resolved_at=resolved_at, next_update_at=None, updated_at=NOW)


def check(name: str, status: str) -> ComponentCheck:
    return ComponentCheck(name, status, 1, 1, NOW)


def test_query_status_from_the_healthy_share():
    assert query_status([1.0, 1.0], 1.0) == ("operational", 2, 2)
    assert query_status([1.0, 0.0], 1.0) == ("partial_outage", 1, 2)
    assert query_status([1.0, 1.0, 1.0, 0.0], 0.5) == ("degraded_performance", 3, 4)
    assert query_status([1.0, 0.0], 0.5) == ("degraded_performance", 1, 2)  # at the threshold
    assert query_status([1.0, 0.0, 0.0], 0.5) == ("partial_outage", 1, 3)
    assert query_status([0.0, float("nan")], 1.0) == ("major_outage", 0, 2)
    assert query_status([], 1.0) == ("major_outage", 0, 0)  # the series are gone


def statuses(**kw):
    base = {"checks": {}, "incidents": [], "overrides": {}, "maintenance": {}, "now": NOW}
    return {c.name: c for c in component_statuses(SECTION, **{**base, **kw})}


def test_worst_of_query_and_open_incidents():
    checks = {"shop": check("shop", "degraded_performance"), "api": check("api", "major_outage"),
              "dashboards": check("dashboards", "operational")}
    shown = statuses(checks=checks, incidents=[incident(2, ("shop", "dashboards"))])
    assert (shown["shop"].status, shown["shop"].source) == ("partial_outage", "incident")  # SEV-2 > degraded
    assert (shown["api"].status, shown["api"].source) == ("major_outage", "query")
    assert (shown["dashboards"].status, shown["dashboards"].label) == ("partial_outage", "Partial outage")
    # A milder incident leaves a worse query result; a resolved one changes nothing.
    shown = statuses(checks=checks, incidents=[incident(3, ("api",)), incident(1, ("shop",), status="resolved")])
    assert shown["api"].status == "major_outage" and shown["shop"].status == "degraded_performance"
    # The configured impact: SEV-3 is a partial outage here (default: degraded performance).
    assert statuses(incidents=[incident(3, ("dashboards",))])["dashboards"].status == "partial_outage"
    assert statuses()["shop"].source == "none" and statuses()["shop"].status == "operational"
    assert headline(list(statuses(checks=checks).values())) == ("major_outage", "Major outage")
    assert headline(list(statuses().values())) == ("operational", "All systems operational")


def test_override_wins_until_it_expires():
    override = ComponentOverride("shop", "operational", "Fixed, watching", "alice", NOW - timedelta(hours=1),
                                 NOW + timedelta(minutes=5))
    kw = {"checks": {"shop": check("shop", "degraded_performance")}, "incidents": [incident(1, ("shop",))],
          "overrides": {"shop": override}}
    shown = statuses(**kw)["shop"]
    assert (shown.status, shown.source, shown.message) == ("operational", "override", "Fixed, watching")
    assert shown.override_until == NOW + timedelta(minutes=5)
    later = statuses(**{**kw, "now": NOW + timedelta(minutes=5)})["shop"]
    assert (later.status, later.source) == ("major_outage", "incident")


def test_maintenance_replaces_the_query_but_not_incidents():
    kw = {"checks": {"shop": check("shop", "major_outage")}, "maintenance": {"shop": "Database upgrade"}}
    shown = statuses(**kw)["shop"]
    assert (shown.status, shown.label, shown.message) == ("under_maintenance", "Under maintenance", "Database upgrade")
    assert headline([shown]) == ("under_maintenance", "Maintenance in progress")
    assert statuses(**kw, incidents=[incident(2, ("shop",))])["shop"].status == "partial_outage"


def event(eid: int, at: datetime, kind: str, detail: dict, public: bool) -> IncidentEvent:
    return IncidentEvent(eid, "i1", at, kind, "alice", "api", detail, public)


def test_public_incidents_carry_only_public_updates():
    events = {"i1": [
        event(1, NOW, "declared", {"title": "Checkout fails"}, False),
        event(2, NOW + timedelta(minutes=1), "note", {"text": "db password rotated by carol"}, False),
        event(3, NOW + timedelta(minutes=2), "public_update", {"status": "investigating",
                                                               "message": "Checkout errors"}, True),
        event(4, NOW + timedelta(minutes=3), "public_update", {"status": "identified", "message": "draft"}, False),
        event(5, NOW + timedelta(minutes=9), "public_update", {"status": "identified",
                                                               "message": "Cause found"}, True),
    ], "i2": [event(6, NOW, "note", {"text": "x"}, False)]}
    unpublished = incident(1, ("api",), inc_id="i2", title="Secret internal title")
    [shown] = public_incidents(SECTION, [incident(2, ("shop", "unknown-thing")), unpublished], events)
    assert (shown.title, shown.status, shown.status_label) == ("Checkout fails", "identified", "Identified")
    assert (shown.impact, shown.impact_label, shown.components) == ("partial_outage", "Partial outage", ("shop",))
    assert [(u.id, u.message) for u in shown.updates] == [(5, "Cause found"), (3, "Checkout errors")]
    assert shown.started_at == NOW + timedelta(minutes=2) and shown.resolved_at is None
    done = public_incidents(SECTION, [incident(2, ("shop",), status="resolved", resolved_at=NOW)], events)
    assert done[0].status == "resolved" and done[0].resolved_at == NOW


def t(component: str, status: str, at: datetime) -> StatusTransition:
    return StatusTransition(component, status, at, "query")


def test_uptime_per_day_across_day_boundaries():
    now = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
    log = [
        t("shop", "operational", datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)),  # first record
        t("shop", "major_outage", datetime(2026, 12, 5, 22, 0, tzinfo=timezone.utc)),  # over midnight
        t("shop", "degraded_performance", datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc)),  # not an outage
        t("shop", "partial_outage", datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)),
        t("shop", "operational", datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc)),
        t("api", "major_outage", datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)),
    ]
    days = uptime_by_day(log, "shop", days=5, now=now)
    assert [d.day for d in days] == [date(2026, 12, 3) + timedelta(days=i) for i in range(5)]
    assert days[0].share is None and days[0].worst is None  # before the first record: no data
    assert days[1].share == 1.0  # 18:00-24:00 observed, all operational
    assert days[2].share == pytest.approx(22 / 24) and days[2].worst == "major_outage"
    assert days[3].share == pytest.approx((24 - 1 - 6) / 24) and days[3].worst == "major_outage"
    assert days[4].share == 1.0  # today so far (00:00-06:00)
    assert overall_uptime(days) == pytest.approx((1 + 22 / 24 + 17 / 24 + 1) / 4)
    api = uptime_by_day(log, "api", days=2, now=now)
    assert api[0].share is None and api[1].share == pytest.approx(0.0)  # 03:00-06:00 down


def test_maintenance_windows_follow_the_zone_and_merge():
    sunday_night = [compile_interval({"weekdays": ["sunday"], "location": "Europe/Berlin",
                                      "times": [{"start_time": "02:00", "end_time": "04:00"}]}),
                    compile_interval({"weekdays": ["sunday"], "location": "Europe/Berlin",
                                      "times": [{"start_time": "03:00", "end_time": "05:00"}]})]
    start = datetime(2026, 3, 20, tzinfo=timezone.utc)
    got = windows(sunday_night, start, start + timedelta(days=14))
    utc = timezone.utc
    assert got == [
        (datetime(2026, 3, 22, 1, 0, tzinfo=utc), datetime(2026, 3, 22, 4, 0, tzinfo=utc)),  # CET, merged
        # 29 March: clocks jump from 02:00 to 03:00; the window is 03:00-05:00 CEST.
        (datetime(2026, 3, 29, 1, 0, tzinfo=utc), datetime(2026, 3, 29, 3, 0, tzinfo=utc)),
    ]
    for w_start, w_end in got:  # the same instants the dispatcher's contains() mutes
        assert any(i.contains(w_start) for i in sunday_night)
        assert not any(i.contains(w_start - timedelta(minutes=1)) for i in sunday_night)
        assert not any(i.contains(w_end) for i in sunday_night)
    # Clipped to the range asked for; a whole-day interval is one window per day.
    assert windows(sunday_night, datetime(2026, 3, 22, 2, 0, tzinfo=utc),
                   datetime(2026, 3, 22, 3, 0, tzinfo=utc)) == [
        (datetime(2026, 3, 22, 2, 0, tzinfo=utc), datetime(2026, 3, 22, 3, 0, tzinfo=utc))]
    weekend = [compile_interval({"weekdays": ["saturday", "sunday"]})]
    assert windows(weekend, start, start + timedelta(days=7)) == [
        (datetime(2026, 3, 21, tzinfo=utc), datetime(2026, 3, 23, tzinfo=utc))]
