"""The alerts page's filters (vigil.web.alert_filters) and the live pages' refresh parameter,
without a browser: what the URL asks, what each alert is marked with, what is kept."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.model import Labels
from vigil.rules.status import ActiveAlert
from vigil.web import create_app
from vigil.web.alert_filters import alert_marks, filter_alerts, filter_episodes, parse_alert_filter
from vigil.web.oncall_ui import alerts_return_url
from vigil.web.pages import live_refresh_seconds

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _alert(state: str, **labels: str) -> ActiveAlert:
    return ActiveAlert(labels=Labels(labels), annotations=Labels(), state=state, active_at=AT,
                       fired_at=None, resolved_at=None, last_sent_at=None, value=1.0)


DB = _alert("firing", alertname="DbDown", severity="critical", team="db")
WEB = _alert("pending", alertname="WebSlow", severity="warning", team="web")
DISK = _alert("firing", alertname="DiskFull", severity="Critical", team="db")
EPISODES = [{"id": "e1", "groupLabels": {"alertname": "DbDown"}, "priority": "P1", "state": "acknowledged",
             "acknowledgedBy": "ann"},
            {"id": "e2", "groupLabels": {"alertname": "DiskFull"}, "priority": "P3", "state": "open",
             "acknowledgedBy": None}]


def _silenced(labels: Labels) -> list[str]:
    return ["s1"] if labels.get("team") == "web" else []


def _kept(**params: str) -> list[str]:
    marks = alert_marks([DB, WEB, DISK], EPISODES, _silenced)
    chosen = parse_alert_filter(params)
    assert chosen.error == ""
    return [a.labels.get("alertname") for a in filter_alerts(chosen, [DB, WEB, DISK], marks)]


def test_each_filter_keeps_the_alerts_it_names():
    assert _kept() == ["DbDown", "WebSlow", "DiskFull"]
    assert _kept(state="firing") == ["DbDown", "DiskFull"]
    assert _kept(state="Pending") == ["WebSlow"]
    assert _kept(state="silenced") == ["WebSlow"]
    assert _kept(state="acknowledged") == ["DbDown"]
    assert _kept(severity="critical") == ["DbDown", "DiskFull"]  # case-insensitive values
    assert _kept(priority="p3") == ["DiskFull"]
    assert _kept(labels='team="db", alertname=~"Disk.*"') == ["DiskFull"]
    assert _kept(state="firing", priority="P1", labels="{team!=\"web\"}") == ["DbDown"]


def test_marks_tell_priority_acknowledgement_and_silences():
    marks = alert_marks([DB, WEB], EPISODES, _silenced)
    assert (marks[str(DB.labels)].priority, marks[str(DB.labels)].acknowledged) == ("P1", True)
    assert marks[str(WEB.labels)].episode is None and marks[str(WEB.labels)].silenced_by == ("s1",)
    assert alert_marks([WEB], EPISODES, None)[str(WEB.labels)].silenced_by == ()


def test_bad_filters_are_named_and_ignored():
    chosen = parse_alert_filter({"state": "asleep", "labels": "team"})
    assert chosen.state == "" and chosen.labels == () and not chosen.active
    assert 'unknown state "asleep"' in chosen.error and "labels: bad matcher format: team" in chosen.error


def test_the_on_call_table_follows_priority_and_acknowledged():
    assert [e["id"] for e in filter_episodes(parse_alert_filter({"priority": "P3"}), EPISODES)] == ["e2"]
    assert [e["id"] for e in filter_episodes(parse_alert_filter({"state": "acknowledged"}), EPISODES)] == ["e1"]
    assert len(filter_episodes(parse_alert_filter({"state": "firing"}), EPISODES)) == 2


def test_refresh_parameter():
    assert live_refresh_seconds({}) == 10
    assert live_refresh_seconds({"refresh": "off"}) == 0
    assert live_refresh_seconds({"refresh": "1"}) == 2
    assert live_refresh_seconds({"refresh": "30"}) == 30
    assert live_refresh_seconds({"refresh": "soon"}) == 10


def test_alerts_page_filters_by_url_and_marks_live_regions():
    client = TestClient(create_app(make_deps()))
    page = client.get("/alerts?state=pending&refresh=5").text
    assert "Load is high on host-2:9100" in page and "Instance host-1:9100 down" not in page
    assert 'data-live="5"' in page and "showing 1 of 2 alerts" in page
    assert '<option value="pending" selected>' in page
    assert 'id="filter-error"' in client.get("/alerts?state=asleep").text
    for path in ("/rules", "/targets"):
        assert 'data-live="10"' in client.get(path).text


def test_actions_return_to_the_filtered_alerts_page_and_nowhere_else():
    assert alerts_return_url("/alerts?state=firing&labels=team%3D%22db%22") == \
        "/alerts?state=firing&labels=team%3D%22db%22"
    assert alerts_return_url("/alerts?state=firing&episode_error=old", episode_error="gone") == \
        "/alerts?state=firing&episode_error=gone"
    for elsewhere in ("https://evil.example/alerts?state=firing", "//evil.example/alerts",
                      "/alerts/../logout", "/silences?state=firing", "/alerts\\@evil.example",
                      "javascript:alert(1)", None, ""):
        assert alerts_return_url(elsewhere) == "/alerts", elsewhere

