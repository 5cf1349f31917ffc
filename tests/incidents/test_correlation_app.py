"""Correlation in the assembled app: alerts posted to the Alertmanager API become groups,
the primary's pass proposes one candidate, one click declares the incident, the timeline
loop copies the alerts, and the post-mortem shows their queries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from starlette.testclient import TestClient

from tests.incidents.support import assembled_app

CONFIG = """\
default_rules: false
collectors: {host: {enabled: false}}
alerting:
  receivers: [{name: ops}]
  route: {receiver: ops, group_by: [alertname]}
correlation: {window: 10m, labels: [service]}
"""


def test_alerts_to_candidate_to_incident_to_postmortem(tmp_path):
    app = assembled_app(tmp_path, CONFIG)
    try:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        alerts = [("HighLatency", "checkout", 8, "P2"), ("ErrorRate", "checkout", 5, "P1"),
                  ("DiskFull", "billing", 6, "P3"), ("PodRestarts", "checkout", 40, "P3")]
        with TestClient(app.web) as client:
            r = client.post("/api/v2/alerts", json=[{
                "labels": {"alertname": name, "service": service, "priority": priority},
                "startsAt": (now - timedelta(minutes=ago)).isoformat(),
                "generatorURL": f"http://prometheus:9090/graph?g0.expr=rate(errors_total%7Bservice%3D%22{service}%22%7D%5B5m%5D)+%3E+{ago}&g0.tab=1"}
                for name, service, ago, priority in alerts])
            assert r.status_code == 200, r.text
            [cand] = app.correlator.observe()
            assert [g.group_labels["alertname"] for g in cand.groups] == ["HighLatency", "ErrorRate"]
            assert cand.severity == 2  # a P1 alert suggests SEV-2
            [listed] = client.get("/api/vigil/v1/incident-candidates").json()["data"]
            assert listed["id"] == cand.id
            r = client.post(f"/api/vigil/v1/incident-candidates/{cand.id}/accept", json={})
            assert r.status_code == 200, r.text
            ref = r.json()["data"]["incident"]["ref"]
            assert app.incident_timeline.tick() == 2  # both alerts copied into the timeline
            text = client.get(f"/api/vigil/v1/incidents/{ref}/postmortem").text
            assert "### HighLatency" in text and "### ErrorRate" in text and "DiskFull" not in text
            assert '```promql\nrate(errors_total{service="checkout"}[5m]) > 8\n```' in text
            assert "## Response checklist" in text  # the app hands the checklist in
            figures = client.get(f"/api/vigil/v1/incidents/{ref}/figures").json()["data"]
            assert (figures["alerts"], figures["groups"]) == (2, 2)
            assert figures["firstAlertAt"] == (now - timedelta(minutes=8)).isoformat().replace("+00:00", "Z")
            assert figures["secondsToDeclare"] >= 8 * 60
    finally:
        app.close()
