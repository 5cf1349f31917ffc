"""Runbook pages (R3): one page per alert of the shipped rule pack, rendered server-side."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import NOW, FakeRules, make_deps
from vigil.model.labels import Labels
from vigil.rules import default_rule_files, load_rule_files
from vigil.rules.status import ActiveAlert, GroupStatus, RuleStatus
from vigil.web import create_app
from vigil.web.runbooks import load_runbooks


def _pack_alert_names() -> set[str]:
    return {r.alert for g in load_rule_files(default_rule_files()) for r in g.rules if r.alert}


def test_every_pack_alert_has_a_runbook_with_steps() -> None:
    books = load_runbooks()
    missing = _pack_alert_names() - set(books)
    assert not missing
    for name, book in books.items():
        assert book.investigate and book.resolve, name
        assert set(book.related) <= set(books), name


def test_runbook_page_renders_steps_rules_and_active_alerts() -> None:
    alert = ActiveAlert(
        labels=Labels.of(alertname="ServiceDown", instance="https://erp.example/health",
                         severity="critical", priority="P1"),
        annotations=Labels.of(summary="https://erp.example/health is down"),
        state="firing", active_at=NOW - timedelta(minutes=5), fired_at=NOW, resolved_at=None,
        last_sent_at=None, value=0.0)
    rule = RuleStatus(name="ServiceDown", query="probe_success == 0", type="alerting",
                      health="ok", last_error="", last_evaluation=NOW, evaluation_time_s=0.001,
                      labels=Labels.of(severity="critical", priority="P1"), annotations=Labels(),
                      duration_s=120.0, state="firing", alerts=(alert,))
    group = GroupStatus(name="vigil-application", file="application.yml", interval_s=15.0,
                        last_evaluation=NOW, evaluation_time_s=0.01, rules=(rule,))
    deps = dataclasses.replace(make_deps(), rules=FakeRules([group]))
    with TestClient(create_app(deps)) as client:
        r = client.get("/runbooks/ServiceDown")
    assert r.status_code == 200
    html = r.text
    assert "Runbook: <span class=\"alertname\">ServiceDown</span>" in html
    assert "Investigate" in html and "Resolve" in html
    assert "kubectl rollout undo deployment/&lt;deployment&gt;" in html  # escaped, verbatim
    assert "probe_success == 0" in html and "P1" in html
    assert "https://erp.example/health is down" in html and "FIRING" in html
    assert 'href="/static/vigil.css"' in html  # the UI's base template


@pytest.mark.parametrize("name", sorted(_pack_alert_names()))
def test_every_runbook_url_of_the_pack_is_served(client: TestClient, name: str) -> None:
    r = client.get(f"/runbooks/{name}")
    assert r.status_code == 200
    assert load_runbooks()[name].title in r.text


def test_index_lists_runbooks_and_unknown_alert_is_404(client: TestClient) -> None:
    r = client.get("/runbooks")
    assert r.status_code == 200
    assert 'href="/runbooks/PostgresReplicationLag"' in r.text
    r = client.get("/runbooks/NoSuchAlert")
    assert r.status_code == 404
    assert "There is no runbook for the alert NoSuchAlert." in r.text


def test_malformed_runbook_data_names_the_entry() -> None:
    with pytest.raises(ValueError, match="entry Broken"):
        load_runbooks("Broken:\n  meaning: no title\n")
