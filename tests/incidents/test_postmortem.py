"""The post-mortem's Markdown, rendered from an incident with fixed times and parsed back:
headings, the timeline rows in order, figures in minutes, contributing alerts with their
queries and graph links, the checklist and the action items."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from vigil.incidents.figures import incident_figures
from vigil.incidents.postmortem import ChecklistLine, query_of, render_postmortem
from vigil.state.action_item_store import ActionItem
from vigil.state.incident_store import AttachedGroup, Incident, IncidentEvent

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)
QUERY = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout"}[5m]))) > 0.5'
GENERATOR = "http://prometheus:9090/graph?g0.expr=" + QUERY.replace(" ", "+").replace("{", "%7B").replace(
    "}", "%7D").replace('"', "%22") + "&g0.tab=1"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _incident() -> Incident:
    return Incident(
        id="i1", ref="INC-20261207-001", title="Checkout is slow", summary="Checkout latency rose to 4 s.",
        impact="Customers could not pay for 50 minutes.", severity=2, status="resolved", commander="alice",
        roles={"communications": "bob", "scribe": None, "responders": ["carol", "dave"]},
        components=("Checkout",), channel="#incident-20261207-001", alert_matchers=(), source="candidate",
        origin_key="candidate:c1", declared_by="alice", started_at=at(0), detected_at=at(0),
        declared_at=at(12), acknowledged_at=at(12), mitigated_at=at(40), resolved_at=at(90),
        next_update_at=None, updated_at=at(90))


def _events() -> list[IncidentEvent]:
    labels = {"alertname": "HighLatency", "service": "checkout", "severity": "page"}
    rows = [
        (at(0), "alert_firing", None, {"group_key": "g1", "labels": labels, "fingerprint": "f1",
                                       "starts_at": "2026-12-07T03:00:00Z", "generator_url": GENERATOR}),
        (at(12), "declared", "alice", {"severity": 2, "title": "Checkout is slow", "source": "candidate"}),
        (at(12), "candidate_accepted", "alice", {"candidate_id": "c1", "groups": ["g1", "g2"]}),
        (at(20), "status", "alice", {"from": "investigating", "to": "identified", "note": "bad deploy"}),
        (at(25), "public_update", "bob", {"status": "identified", "message": "We found the cause | fixing"}),
        (at(40), "status", "alice", {"from": "identified", "to": "monitoring", "note": ""}),
        (at(85), "alert_resolved", None, {"group_key": "g1", "labels": labels, "fingerprint": "f1",
                                          "ends_at": "2026-12-07T04:25:00Z", "generator_url": GENERATOR}),
        (at(90), "status", "alice", {"from": "monitoring", "to": "resolved", "note": ""}),
    ]
    return [IncidentEvent(n, "i1", t, kind, actor, "api" if actor else "vigil", detail, kind == "public_update")
            for n, (t, kind, actor, detail) in enumerate(rows, 1)]


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:]
            out[current] = []
        elif current:
            out[current].append(line)
    return out


def _table(lines: list[str]) -> list[list[str]]:
    rows = [line for line in lines if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


def render(**kw) -> str:
    inc, events = _incident(), _events()
    attached = [AttachedGroup("i1", "g1", {"alertname": "HighLatency"}, "ops", at(0), at(12), None, None)]
    items = [ActionItem(7, "i1", inc.ref, "Add a canary for checkout deploys", "carol", date(2026, 12, 21),
                        "https://tickets.example/OPS-1", "open", "alice", at(95), None, None)]
    return render_postmortem(inc, events, incident_figures(inc, attached, events), items,
                             external_url="https://vigil.example/", **kw)


def test_the_postmortem_has_each_section_with_the_right_values():
    text = render()
    assert text.splitlines()[0] == "# INC-20261207-001: Checkout is slow"
    sections = _sections(text)
    assert list(sections) == ["Summary", "Impact", "Timeline", "Figures", "Contributing alerts", "Action items"]
    header = dict((row[0], row[1]) for row in _table(text.split("## Summary")[0].splitlines()))
    assert header["Severity"] == "SEV-2" and header["Status"] == "Resolved"
    assert (header["Commander"], header["Communications"], header["Scribe"]) == ("alice", "bob", "—")
    assert header["Responders"] == "carol, dave" and header["Duration"] == "1 h 30 min"
    assert "Checkout latency rose to 4 s." in sections["Summary"]
    assert "Customers could not pay for 50 minutes." in sections["Impact"]

    timeline = _table(sections["Timeline"])
    assert [row[0] for row in timeline] == [
        "2026-12-07 03:00:00", "2026-12-07 03:12:00", "2026-12-07 03:12:00", "2026-12-07 03:20:00",
        "2026-12-07 03:25:00", "2026-12-07 03:40:00", "2026-12-07 04:25:00", "2026-12-07 04:30:00"]
    assert [row[1] for row in timeline] == ["Vigil", "alice", "alice", "alice", "bob", "alice", "Vigil", "alice"]
    assert timeline[1][2] == "Declared SEV-2: Checkout is slow (candidate)"
    assert timeline[3][2] == "Status: investigating → identified — bad deploy"
    assert timeline[4][2] == r"**Public update (identified): We found the cause \| fixing**"  # marked, pipe escaped
    assert not any("Public" in row[2] for i, row in enumerate(timeline) if i != 4)

    figures = {row[0]: row[1] for row in _table(sections["Figures"])}
    assert figures["Time to detect (start → detection)"] == "0.0"
    assert figures["Time to acknowledge (detection → acknowledged)"] == "12.0"
    assert figures["Time to mitigate (start → monitoring)"] == "40.0"
    assert figures["Time to resolve (start → resolved)"] == "90.0"
    assert figures["First alert → declaration"] == "12.0"
    assert "Alerts: 1 in 1 alert group." in sections["Figures"]

    alerts = "\n".join(sections["Contributing alerts"])
    assert "### HighLatency" in alerts
    assert '- Labels: `{alertname="HighLatency", service="checkout", severity="page"}`' in alerts
    assert "- Fired: 2026-12-07 03:00:00 UTC" in alerts and "- Resolved: 2026-12-07 04:25:00 UTC" in alerts
    assert f"```promql\n{QUERY}\n```" in alerts
    link = re.search(r"\((https://vigil\.example/graph\?[^)]+)\)", alerts).group(1)
    params = parse_qs(urlsplit(link).query)
    # The graph covers the alert's firing to the resolution, 15 minutes either side.
    assert params == {"g0.expr": [QUERY], "g0.range_input": ["120m"], "g0.end_input": ["2026-12-07T04:45:00Z"]}

    [item] = _table(sections["Action items"])
    assert item == ["7", "Add a canary for checkout deploys", "carol", "2026-12-21", "open",
                    "[link](https://tickets.example/OPS-1)"]


def test_the_checklist_section_appears_only_when_given():
    text = render(checklist=[ChecklistLine("Page on-call engineer", at(12), at(13), "alice"),
                             ChecklistLine("Post status to status page", at(42), None, None, overdue=True)])
    lines = _sections(text)["Response checklist"]
    assert "- [x] Page on-call engineer (due 2026-12-07 03:12:00 UTC) — done 2026-12-07 03:13:00 UTC by alice" in lines
    assert "- [ ] Post status to status page (due 2026-12-07 03:42:00 UTC) — **overdue**" in lines
    assert list(_sections(text))[-2:] == ["Response checklist", "Action items"]
    assert _sections(render(checklist=[]))["Response checklist"] == ["", "_No checklist for SEV-2._", ""]


def test_query_of_reads_g0_expr():
    assert query_of(GENERATOR) == QUERY
    assert query_of("") == "" and query_of("http://x/alerts") == ""
