"""Incident figures with fixed times, checked by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from vigil.incidents.figures import incident_figures, summarize
from vigil.state.incident_store import AttachedGroup, Incident, IncidentEvent

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


def _incident(ref: str, **times: datetime | None) -> Incident:
    values: dict = dict(started_at=T0, detected_at=T0, declared_at=T0 + timedelta(minutes=12),
                        acknowledged_at=None, mitigated_at=None, resolved_at=None)
    values.update(times)
    return Incident(id=ref.lower(), ref=ref, title="Checkout down", summary="", impact="", severity=2,
                    status="resolved" if values["resolved_at"] else "investigating", commander=None,
                    roles={}, components=(), channel="", alert_matchers=(), source="candidate",
                    origin_key=None, declared_by="alice", next_update_at=None,
                    updated_at=values["declared_at"], **values)


def _group(key: str, first: datetime | None, detached: datetime | None = None) -> AttachedGroup:
    return AttachedGroup("x", key, {"alertname": key}, "ops", first, T0, None, detached)


def _firing(n: int, key: str, fingerprint: str, start: datetime) -> IncidentEvent:
    return IncidentEvent(n, "x", start, "alert_firing", None, "vigil",
                         {"group_key": key, "fingerprint": fingerprint,
                          "starts_at": start.isoformat().replace("+00:00", "Z")}, False)


def test_one_incident():
    inc = _incident("INC-1", acknowledged_at=T0 + timedelta(minutes=15),
                    mitigated_at=T0 + timedelta(minutes=40), resolved_at=T0 + timedelta(hours=1, minutes=30))
    groups = [_group("A", T0 + timedelta(minutes=2)), _group("B", T0 + timedelta(minutes=5))]
    events = [_firing(1, "A", "f1", T0 + timedelta(minutes=1)),  # an alert older than the group's record
              _firing(2, "A", "f1", T0 + timedelta(minutes=1)),  # the same alert again (refired copy)
              _firing(3, "A", "f2", T0 + timedelta(minutes=3)),
              _firing(4, "B", "f3", T0 + timedelta(minutes=5)),
              _firing(5, "Gone", "f4", T0 - timedelta(hours=1))]  # a group no longer attached
    fig = incident_figures(inc, groups, events)
    assert (fig.alerts, fig.groups) == (3, 2)
    assert fig.first_alert_at == T0 + timedelta(minutes=1)
    assert fig.to_declare == 11 * 60  # 03:01 → 03:12
    assert fig.to_detect == 0
    assert fig.to_acknowledge == 15 * 60  # detected 03:00 → 03:15
    assert fig.to_mitigate == 40 * 60
    assert fig.to_resolve == 90 * 60
    assert fig.as_dict()["firstAlertAt"] == "2026-12-07T03:01:00Z"


def test_an_incident_without_alerts_or_later_times_has_none():
    fig = incident_figures(_incident("INC-2"), [], [])
    assert (fig.alerts, fig.groups, fig.first_alert_at, fig.to_declare) == (0, 0, None, None)
    assert (fig.to_acknowledge, fig.to_mitigate, fig.to_resolve) == (None, None, None)


def test_across_incidents_mean_alerts_and_median_times():
    a = incident_figures(_incident("INC-1", declared_at=T0 + timedelta(minutes=4)),
                         [_group("A", T0)], [_firing(1, "A", "f1", T0), _firing(2, "A", "f2", T0)])
    b = incident_figures(_incident("INC-2", declared_at=T0 + timedelta(minutes=10)),
                         [_group("B", T0)], [_firing(3, "B", "f3", T0)])
    c = incident_figures(_incident("INC-3", declared_at=T0 + timedelta(minutes=30),
                                   resolved_at=T0 + timedelta(hours=2)),
                         [_group("C", T0)], [_firing(n, "C", f"c{n}", T0) for n in range(6)])
    d = incident_figures(_incident("INC-4"), [], [])  # declared by hand, no alerts
    summary = summarize([a, b, c, d])
    assert summary.incidents == 4
    assert summary.alerts_per_incident == (2 + 1 + 6 + 0) / 4
    assert summary.to_declare == 10 * 60  # median of 4, 10 and 30 minutes
    assert summary.to_resolve == 2 * 3600  # only INC-3 is resolved
    assert summary.to_acknowledge is None
    assert summarize([]).as_dict()["alertsPerIncident"] is None
