"""Incident candidates expire: a proposed candidate whose groups all stopped firing, or one
proposed ``correlation.expire_after`` ago, becomes ``expired`` (once, across replicas), is no
longer listed as proposed (``?state=expired`` lists it) and cannot be accepted (409 with the
reason)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.incidents.support import basic, deps_with, people
from tests.incidents.test_correlation import T0, checkout_burst
from tests.state.conftest import two_stores  # noqa: F401
from vigil.config import load_config_text
from vigil.config.correlation import CorrelationConfig
from vigil.errors import ConfigError
from vigil.incidents.correlation import Correlator, expiry_reason
from vigil.incidents.review import IncidentReview
from vigil.incidents.service import IncidentService
from vigil.oncall.lifecycle import FiringGroup
from vigil.state import Store
from vigil.state.action_item_store import ActionItemStore
from vigil.state.incident_candidate_store import Candidate, CandidateGroup, CandidateStore
from vigil.state.incident_candidates_schema import incident_candidates
from vigil.state.incident_store import IncidentError, IncidentStore
from vigil.web import create_app

VIEWER, RESPONDER = basic("vic"), basic("rita")
DAY = 86400.0


def _candidate(proposed_at: datetime, *keys: str) -> Candidate:
    groups = tuple(CandidateGroup(k, {"service": "checkout"}, "ops", T0, 1, "P3") for k in keys)
    return Candidate("c1", "k", {"service": "checkout"}, T0, "t", 4, "proposed", proposed_at, proposed_at,
                     None, None, None, "", groups)


def test_expiry_reason_with_fixed_times():
    cand = _candidate(T0, "a", "b")
    assert expiry_reason(cand, {"b", "other"}, T0 + timedelta(hours=23, minutes=59), DAY) is None
    assert expiry_reason(cand, {"b"}, T0 + timedelta(hours=24), DAY) == (
        "nobody accepted or dismissed it within 1d")
    assert expiry_reason(cand, {"b"}, T0 + timedelta(hours=3), 2 * 3600.0) == (
        "nobody accepted or dismissed it within 2h")
    assert expiry_reason(cand, {"other"}, T0 + timedelta(minutes=1), DAY) == "its alert groups stopped firing"
    assert expiry_reason(cand, set(), T0, None) == "its alert groups stopped firing"
    assert expiry_reason(cand, {"a"}, T0 + timedelta(days=30), None) is None  # never by age


def test_expire_after_config_default_null_and_errors():
    assert CorrelationConfig().expire_after == DAY
    assert load_config_text("correlation: {expire_after: 90m}").correlation.expire_after == 5400.0
    assert load_config_text("correlation: {expire_after: null}").correlation.expire_after is None
    with pytest.raises(ConfigError, match=r"correlation.expire_after"):
        load_config_text("correlation:\n  expire_after: 0s\n")


def _correlator(store: Store, groups: list[FiringGroup], **config) -> Correlator:
    service = IncidentService(IncidentStore(store.engine), lambda: load_config_text(""), groups=lambda: list(groups))
    return Correlator(CandidateStore(store.engine), lambda: CorrelationConfig(**config), lambda: list(groups),
                      service=service)


def test_groups_that_stopped_firing_expire_the_candidate_which_cannot_be_accepted(tmp_path):
    store = Store.open_in(str(tmp_path))
    groups = checkout_burst()[:3]
    correlator = _correlator(store, groups)
    [cand] = correlator.observe()
    groups.pop(0)  # HighLatency resolved: the others still fire
    assert correlator.observe() == [] and correlator.expire() == []
    assert correlator.store.get(cand.id).state == "proposed"
    groups.clear()
    assert correlator.observe() == []
    expired = correlator.store.get(cand.id)
    assert (expired.state, expired.reason, expired.decided_by) == ("expired", "its alert groups stopped firing", None)
    assert expired.decided_at is not None
    assert correlator.store.candidates(state="proposed") == []
    assert [c.id for c in correlator.store.candidates(state="expired")] == [cand.id]
    with pytest.raises(IncidentError, match=r"expired at .*: its alert groups stopped firing; declare an "
                                            r"incident by hand") as err:
        correlator.accept(cand.id, actor="rita", via="api")
    assert err.value.kind == "conflict"
    assert IncidentStore(store.engine).incidents() == []
    with pytest.raises(IncidentError, match="is expired, not proposed"):
        correlator.dismiss(cand.id, actor="rita", via="api", reason="noise")
    # The same firing again is not proposed again; it is expired once.
    groups[:] = checkout_burst()[:3]
    assert correlator.observe() == [] and correlator.expire() == []
    store.close()


def _proposed_at(store: Store, candidate_id: str, at: datetime) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(incident_candidates).where(incident_candidates.c.id == candidate_id).values(
            proposed_at=at))


def test_an_undecided_candidate_expires_after_expire_after_while_its_groups_fire(tmp_path):
    store = Store.open_in(str(tmp_path))
    groups = checkout_burst()[:3]
    correlator = _correlator(store, groups)
    [cand] = correlator.observe()
    now = correlator.store.now()
    _proposed_at(store, cand.id, now - timedelta(hours=23))
    assert correlator.expire() == []
    assert _correlator(store, groups, expire_after=None).expire() == []
    _proposed_at(store, cand.id, datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert _correlator(store, groups, enabled=False).expire() == []  # turned off: left as it is
    [expired] = correlator.expire()
    assert (expired.id, expired.state, expired.reason) == (cand.id, "expired", "nobody accepted or dismissed it within 1d")
    assert correlator.observe() == []  # its groups, still firing, are not proposed again
    store.close()


def test_two_replicas_expire_once(two_stores):  # noqa: F811
    first, second = two_stores
    groups = checkout_burst()[:3]
    replicas = [_correlator(first, groups), _correlator(second, groups)]
    [cand] = replicas[0].observe()
    groups.clear()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: c.expire(), replicas))
    assert sorted(len(r) for r in results) == [0, 1]
    assert [c.id for c in CandidateStore(second.engine).candidates(state="expired")] == [cand.id]


def test_api_lists_expired_candidates_and_refuses_to_accept_them(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = people(store, viewers=["vic"], responders=["rita"])
    groups = checkout_burst()[:3]
    correlator = _correlator(store, groups)
    review = IncidentReview(IncidentStore(store.engine), ActionItemStore(store.engine), correlator=correlator,
                            external_url="https://vigil.example")
    [cand] = correlator.observe()
    groups.clear()
    correlator.observe()
    base = "/api/vigil/v1/incident-candidates"
    with TestClient(create_app(deps_with(access, incident_review=review))) as client:
        assert client.get(base, headers=VIEWER).json()["data"] == []
        [listed] = client.get(f"{base}?state=expired", headers=VIEWER).json()["data"]
        assert (listed["id"], listed["state"], listed["reason"]) == (cand.id, "expired",
                                                                     "its alert groups stopped firing")
        assert listed["decidedBy"] is None and listed["decidedAt"] is not None
        refused = client.post(f"{base}/{cand.id}/accept", headers=RESPONDER, json={})
        assert refused.status_code == 409 and refused.json()["errorType"] == "conflict"
        decided = listed["decidedAt"][:19] + "Z"  # the message gives the time to the second
        assert refused.json()["error"] == (f"incident candidate {cand.id} expired at {decided}: its "
                                           "alert groups stopped firing; declare an incident by hand if the outage "
                                           "goes on")
        bad = client.get(f"{base}?state=stale", headers=VIEWER)
        assert bad.status_code == 400 and "expired" in bad.json()["error"]
    assert IncidentStore(store.engine).incidents() == []
    store.close()
