"""The status page on a real state database (SQLite and PostgreSQL) and real PromQL: the
recorder evaluates the component queries with the engine over a TSDB holding probe and ``up``
samples, stores the results and appends a transition only on change (once, with two
replicas); overrides are audited once per change; a declared incident with a public update
shows on the page and raises its component."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.incidents.support import engine_query, load_samples, record_note, record_public_update
from tests.state.conftest import store, two_stores  # noqa: F401
from vigil.config import load_config_text
from vigil.incidents.status_page_service import StatusPageService
from vigil.incidents.status_recorder import StatusRecorder
from vigil.promql import Engine
from vigil.state.access_store import AccessStore
from vigil.state.coordination import db_now
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_store import IncidentStore
from vigil.state.status_page_store import StatusPageError, StatusPageStore
from vigil.tsdb import DB

CONFIG = load_config_text("""
alerting:
  time_intervals:
    - name: never
      time_intervals: [{years: ["2001"]}]
status_page:
  title: Smart Dairy
  components:
    - {name: shop, query: 'probe_success{instance=~"https://shop.*"}'}
    - {name: api, query: 'up{job="api"}', partial_outage_below: 0.5}
    - {name: broken, query: 'vector(1) + on() up'}
  maintenance: [never]
""")


def service_of(state) -> StatusPageService:
    return StatusPageService(StatusPageStore(state.engine), IncidentStore(state.engine), lambda: CONFIG)


def test_recorder_reads_real_query_results_and_records_changes_once(store, tmp_path):  # noqa: F811
    service = service_of(store)
    with DB.open(tmp_path / "tsdb") as db:
        recorder = StatusRecorder(service, engine_query(Engine(db)))
        load_samples(db, {("probe_success", "instance", "https://shop"): 1.0,
                  ("probe_success", "instance", "https://shop/checkout"): 0.0,
                  ("up", "job", "api"): 1.0, ("up", "job", "db"): 1.0})
        added = recorder.check_once()
        # "broken" fails at evaluation (one left series, two right ones: matching must be
        # explicit): not
        # checked, not recorded, the others go on.
        assert {(t.component, t.status, t.source) for t in added} == {
            ("shop", "partial_outage", "query"), ("api", "operational", "query")}
        checks = service.store.checks()
        assert (checks["shop"].healthy, checks["shop"].total) == (1, 2)
        assert "broken" not in checks
        assert recorder.check_once() == []  # nothing changed: nothing appended

        load_samples(db, {("probe_success", "instance", "https://shop/checkout"): 1.0})
        [change] = recorder.check_once()
        assert (change.component, change.status) == ("shop", "operational")
        assert [t.status for t in service.store.transitions(change.since - timedelta(days=1))
                if t.component == "shop"] == ["partial_outage", "operational"]


def test_transitions_are_appended_once_by_two_replicas(two_stores):  # noqa: F811
    first, second = (StatusPageStore(s.engine) for s in two_stores)
    assert first.record_transitions({"shop": ("major_outage", "query")})
    assert second.record_transitions({"shop": ("major_outage", "query")}) == []
    assert [t.status for t in second.latest_transitions().values()] == ["major_outage"]


def test_override_is_audited_and_expires(store):  # noqa: F811
    service = service_of(store)
    now = service.store.now()
    with pytest.raises(StatusPageError, match="no status page component") as err:
        service.set_override("nope", status="operational", actor="alice")
    assert err.value.kind == "not_found"
    with pytest.raises(StatusPageError, match="unknown status"):
        service.set_override("shop", status="fine", actor="alice")
    with pytest.raises(StatusPageError, match="not in the future"):
        service.set_override("shop", status="major_outage", until=now - timedelta(seconds=1), actor="alice")
    service.set_override("shop", status="major_outage", message="Payment provider down", actor="alice",
                         until=now + timedelta(hours=1), remote_addr="10.0.0.9")
    [shop] = [c for c in service.statuses() if c.name == "shop"]
    assert (shop.status, shop.source, shop.message) == ("major_outage", "override", "Payment provider down")
    assert [c.status for c in service.statuses(now + timedelta(hours=2)) if c.name == "shop"] == ["operational"]
    service.clear_override("shop", actor="bob")
    with pytest.raises(StatusPageError, match="no override") as err:
        service.clear_override("shop", actor="bob")
    assert err.value.kind == "not_found"
    audit = AccessStore(store.engine).audit_entries(action="statuspage.override")
    assert [(a.actor, a.target, a.before is None, a.after is None) for a in audit] == [
        ("alice", "status-page/components/shop", True, False), ("bob", "status-page/components/shop", False, True)]
    assert audit[0].after["message"] == "Payment provider down" and audit[0].remote_addr == "10.0.0.9"


def test_view_shows_published_incidents_and_their_impact(store):  # noqa: F811
    service = service_of(store)
    incidents = IncidentStore(store.engine)
    published, _ = incidents.declare(title="Checkout failing", severity=2, actor="alice", via="api",
                                     components=["shop"])
    hidden, _ = incidents.declare(title="Internal: DB password leaked", severity=3, actor="alice", via="api",
                                  components=["api"])
    with store.engine.begin() as conn:
        now = db_now(conn)
        record_note(conn, published.id, at=now, actor="alice", text="internal note")
        record_public_update(conn, published.id, at=now, actor="bob", status="investigating",
                             message="Some payments fail.")
    view = service.view()
    assert [i.title for i in view.incidents] == ["Checkout failing"] and view.history == []
    assert [u.message for u in view.incidents[0].updates] == ["Some payments fail."]
    shown = {c.name: c for c in view.components}
    assert (shown["shop"].status, shown["shop"].source) == ("partial_outage", "incident")
    assert (shown["api"].status, shown["api"].source) == ("degraded_performance", "incident")  # unlisted, still counted
    assert (view.status, view.sentence) == ("partial_outage", "Partial outage")
    assert len(view.uptime["shop"]) == 90 and all(d.share is None for d in view.uptime["shop"])
    assert view.maintenance == []  # the interval never comes (2001)
    assert hidden.id not in {i.id for i in view.incidents}


def test_an_external_communication_is_a_public_update_on_the_page(store):  # noqa: F811
    """The checklist/communications store's external send records the ``public_update``
    the page shows; an internal one shows nothing."""
    service = service_of(store)
    inc, _ = IncidentStore(store.engine).declare(title="Milk API down", severity=1, actor="alice", via="api",
                                                 components=["api"])
    comms = IncidentResponseStore(store.engine)
    for kind, body in (("internal", "Severity: SEV-1, commander alice"),
                       ("external", "We are investigating issues affecting the milk API.")):
        comms.send(inc.id, kind=kind, subject="s", body=body, receivers=[], notifications=[], actor="bob",
                   via="api", next_update_at=None)
    [shown] = service.view().incidents
    assert [(u.status, u.message) for u in shown.updates] == [
        ("investigating", "We are investigating issues affecting the milk API.")]


def test_old_transitions_are_pruned_but_the_status_then_is_kept(store):  # noqa: F811
    pages = StatusPageStore(store.engine)
    now = pages.now()
    for days_ago, status in ((200, "operational"), (150, "major_outage"), (120, "operational"), (10, "partial_outage")):
        pages.record_transitions({"shop": (status, "query")}, now - timedelta(days=days_ago))
    pages.record_transitions({"api": ("operational", "query")}, now - timedelta(days=300))
    assert pages.prune_transitions(now - timedelta(days=91)) == 2
    kept = [(t.component, t.status) for t in pages.transitions(now - timedelta(days=400))]
    assert kept == [("api", "operational"), ("shop", "operational"), ("shop", "partial_outage")]
    assert pages.prune_transitions(now - timedelta(days=91)) == 0
