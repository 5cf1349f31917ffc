"""PagerDuty Events API v2, through the real dispatcher and outbox, against a fake events
endpoint that validates events as PagerDuty documents them and answers as PagerDuty does."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.alerting.harness import T0, FakeService, Harness, alert
from vigil.alerting.notify import build_integrations
from vigil.config import load_config_text

KEY = "0123456789abcdef0123456789abcdef"  # integration keys are 32 characters
SEVERITIES = {"critical", "error", "warning", "info"}


def pagerduty_problem(event: Any) -> tuple[int, str] | None:
    """PagerDuty's 400 for an event it refuses (developer.pagerduty.com, Events API v2
    "Send an Alert Event"/"Send a Resolve Event"), or None if it would accept it."""
    errors: list[str] = []

    def bad(msg: str) -> None:
        errors.append(msg)

    if not isinstance(event, dict):
        return 400, json.dumps({"status": "invalid event", "message": "Event object is invalid"})
    if not isinstance(event.get("routing_key"), str) or len(event["routing_key"]) != 32:
        bad("'routing_key' must be a 32 character string")
    action = event.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        bad("'event_action' is invalid")
    key = event.get("dedup_key")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 255):
        bad("'dedup_key' must be at most 255 characters")
    if action in ("acknowledge", "resolve") and key is None:
        bad("'dedup_key' is required for acknowledge and resolve")
    if action == "trigger":
        p = event.get("payload")
        if not isinstance(p, dict):
            bad("'payload' is missing")
        else:
            if not isinstance(p.get("summary"), str) or not 1 <= len(p["summary"]) <= 1024:
                bad("'payload.summary' must be 1 to 1024 characters")
            if not isinstance(p.get("source"), str) or not p["source"]:
                bad("'payload.source' is missing")
            if p.get("severity") not in SEVERITIES:
                bad("'payload.severity' must be critical, error, warning or info")
            for k in ("component", "group", "class", "timestamp"):
                if k in p and not isinstance(p[k], str):
                    bad(f"'payload.{k}' must be a string")
            if "custom_details" in p and not isinstance(p["custom_details"], dict):
                bad("'payload.custom_details' must be an object")
        for link in event.get("links", []):
            if not isinstance(link, dict) or not isinstance(link.get("href"), str):
                bad("'links' entries need an href")
    if len(json.dumps(event)) > 512 * 1024:
        bad("event is larger than 512 KB")
    if errors:
        return 400, json.dumps({"status": "invalid event", "message": "Event object is invalid",
                                "errors": errors})
    return None


@pytest.fixture
def pd():
    ok = json.dumps({"status": "success", "message": "Event processed"})
    with FakeService(pagerduty_problem, (202, ok, "application/json")) as service:
        yield service


def receiver(url: str, *lines: str, key_line: str = f"routing_key: {KEY}") -> str:
    return "\n".join(["      pagerduty_configs:", f"        - url: {url}/v2/enqueue",
                      f"          {key_line}", *(f"          {line}" for line in lines)])


def test_trigger_event_shape(tmp_path, pd):
    h = Harness(tmp_path, receiver(pd.base, "component: '{{ .CommonLabels.alertname }}'",
                                   "class: cpu", "group: '{{ .GroupLabels.alertname }}-grp'",
                                   "details: {team: '{{ .CommonLabels.team }}', firing: "
                                   "'{{ range .Alerts.Firing }}{{ .Labels.instance }} {{ end }}'}"))
    h.fire_and_flush([
        alert("HighCPU", "a", T0, severity="page", runbook_url="https://runbooks/cpu"),
        alert("HighCPU", "b", T0 + timedelta(seconds=5), severity="warning"),
    ])
    assert pd.rejected == []
    [event] = pd.received
    assert event["routing_key"] == KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == hashlib.sha256(b'{}:{alertname="HighCPU"}').hexdigest()
    p = event["payload"]
    assert p["summary"] == "[FIRING:2] HighCPU"
    assert p["severity"] == "critical"  # the most urgent: "page" maps to critical
    assert p["source"] == "Vigil"  # no common instance: the client name, as Alertmanager
    assert p["timestamp"] == "2026-11-22T08:00:00Z"
    assert (p["component"], p["class"], p["group"]) == ("HighCPU", "cpu", "HighCPU-grp")
    details = p["custom_details"]
    assert details["num_firing"] == 2 and details["num_resolved"] == 0
    assert details["team"] == "" and details["firing"] == "a b "
    assert [a["labels"]["instance"] for a in details["alerts"]] == ["a", "b"]
    assert event["client"] == "Vigil" and event["client_url"] == "http://vigil.example:9494"
    assert event["links"] == [
        {"href": "https://runbooks/cpu", "text": "Runbook: HighCPU"},
        {"href": "http://vigil/graph?g0.expr=up", "text": "Source: HighCPU"},
        {"href": "http://vigil.example:9494/alerts", "text": "Alerts in Vigil"},
    ]
    # The routing key is added at send time; the durable outbox never holds it.
    [entry] = h.store.outbox_list()
    assert KEY not in json.dumps(entry.payload)


def test_dedup_key_is_stable_and_resolve_uses_it(tmp_path, pd):
    key_file = tmp_path / "pd-key"
    key_file.write_text(KEY + "\n")
    h = Harness(tmp_path, receiver(pd.base, key_line=f"routing_key_file: {key_file}"))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    h.dispatcher.put([alert("HighCPU", "b", h.clock.now)])
    h.clock.advance(300)
    h.tick()
    h.dispatcher.put([alert("HighCPU", "a", T0, end=h.clock.now),
                      alert("HighCPU", "b", T0, end=h.clock.now)])
    h.clock.advance(300)
    h.tick()
    assert pd.rejected == []
    assert [e["event_action"] for e in pd.received] == ["trigger", "trigger", "resolve"]
    assert len({e["dedup_key"] for e in pd.received}) == 1
    assert pd.received[1]["payload"]["custom_details"]["num_firing"] == 2
    assert pd.received[2] == {"routing_key": KEY, "event_action": "resolve",
                              "dedup_key": pd.received[0]["dedup_key"]}


def test_other_groups_get_other_dedup_keys(tmp_path, pd):
    h = Harness(tmp_path, receiver(pd.base))
    h.fire_and_flush([alert("HighCPU", "a", T0), alert("DiskFull", "a", T0)])
    assert len(pd.received) == 2
    assert pd.received[0]["dedup_key"] != pd.received[1]["dedup_key"]
    # One instance in common: it is the source.
    assert {e["payload"]["source"] for e in pd.received} == {"a"}


def test_200_alert_group_is_cut_to_pagerduty_limits(tmp_path, pd):
    h = Harness(tmp_path, receiver(pd.base, "description: '{{ range .Alerts }}"
                                   "{{ .Labels.instance }},{{ end }}'"))
    h.fire_and_flush([alert("DiskFull", f"host-{i:03d}", T0, severity="info") for i in range(200)])
    assert pd.rejected == []
    [event] = pd.received
    summary = event["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("…") and summary.startswith("host-000,")
    assert event["payload"]["severity"] == "info"
    details = event["payload"]["custom_details"]
    assert details["num_firing"] == 200
    assert len(details["alerts"]) == 50 and details["truncated_alerts"] == 150


def test_429_is_retried_after_retry_after(tmp_path, pd):
    pd.responses = [(429, {"Retry-After": "45"}, '{"status":"throttle event"}')]
    h = Harness(tmp_path, receiver(pd.base))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "pending" and "HTTP 429" in entry.last_error
    assert entry.next_attempt_at == h.clock.now + timedelta(seconds=45)
    h.clock.advance(45)
    h.tick()
    assert len(pd.received) == 1 and pd.attempts == 2


def test_invalid_event_400_is_dead_lettered(tmp_path, pd):
    key_file = tmp_path / "pd-key"
    key_file.write_text("too-short")
    h = Harness(tmp_path, receiver(pd.base, key_line=f"routing_key_file: {key_file}"))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "dead"
    assert "HTTP 400" in entry.last_error and "invalid event" in entry.last_error


def test_server_error_is_retried(tmp_path, pd):
    pd.responses = [(500, {}, "")]
    h = Harness(tmp_path, receiver(pd.base))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    assert h.store.outbox_list()[0].status == "pending"
    h.clock.advance(1)
    h.tick()
    assert len(pd.received) == 1 and h.store.outbox_list()[0].status == "sent"


def test_missing_key_file_is_retried(tmp_path, pd):
    h = Harness(tmp_path, receiver(pd.base, key_line=f"routing_key_file: {tmp_path / 'nope'}"))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "pending" and "pagerduty/0 routing_key_file" in entry.last_error
    assert pd.attempts == 0


def test_relative_key_file_resolves_against_base_dir(tmp_path, pd):
    (tmp_path / "pd-key").write_text(KEY)
    cfg = load_config_text(f"""
alerting:
  receivers:
    - name: r
      pagerduty_configs: [{{url: "{pd.base}/v2/enqueue", routing_key_file: pd-key}}]
  route: {{receiver: r}}
""").alerting
    [integration] = build_integrations(cfg.receivers[0], base_dir=str(tmp_path))

    async def send() -> None:
        async with httpx.AsyncClient() as client:
            await integration.send(client, {"event_action": "resolve", "dedup_key": "k"})

    asyncio.run(send())
    assert pd.received == [{"routing_key": KEY, "event_action": "resolve", "dedup_key": "k"}]
