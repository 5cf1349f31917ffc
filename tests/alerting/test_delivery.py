"""Grouping, timing, dedup and delivery through the durable outbox to a real HTTP receiver."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.alerting.harness import T0, alert, webhook_harness
from tests.support.webhook import WebhookReceiver


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


def test_group_waits_then_sends_both_alerts_in_one_webhook(tmp_path, hook):
    h = webhook_harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0), alert("HighCPU", "b", T0)])
    h.clock.advance(29)
    h.tick()
    assert hook.received == []
    h.clock.advance(2)
    h.tick()
    assert len(hook.received) == 1
    body = hook.received[0]
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "r"
    assert body["groupLabels"] == {"alertname": "HighCPU"}
    assert body["groupKey"] == '{}:{alertname="HighCPU"}'
    assert body["commonLabels"] == {"alertname": "HighCPU", "severity": "warning"}
    assert [a["labels"]["instance"] for a in body["alerts"]] == ["a", "b"]
    assert body["alerts"][0]["annotations"] == {"summary": "HighCPU on a"}
    assert body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert body["alerts"][0]["startsAt"] == "2026-11-22T08:00:00Z"
    assert len(body["alerts"][0]["fingerprint"]) == 16


def test_unchanged_group_is_not_resent_until_repeat_interval(tmp_path, hook):
    h = webhook_harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()
    for _ in range(10):  # 50 minutes of group_interval flushes
        h.clock.advance(300)
        h.tick()
    assert len(hook.received) == 1
    h.clock.advance(4 * 3600)
    h.tick()
    assert len(hook.received) == 2


def test_new_alert_in_group_is_sent_at_next_group_interval(tmp_path, hook):
    h = webhook_harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()
    h.clock.advance(10)
    h.dispatcher.put([alert("HighCPU", "b", h.clock.now)])
    h.tick()
    assert len(hook.received) == 1
    h.clock.advance(300)
    h.tick()
    assert [a["labels"]["instance"] for a in hook.received[1]["alerts"]] == ["a", "b"]


def test_resolution_is_sent_and_group_forgotten(tmp_path, hook):
    h = webhook_harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()
    h.clock.advance(60)
    h.dispatcher.put([alert("HighCPU", "a", T0, end=h.clock.now)])
    h.clock.advance(300)
    h.tick()
    assert len(hook.received) == 2
    resolved = hook.received[1]
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["endsAt"] == "2026-11-22T08:01:31Z"
    assert h.dispatcher.groups() == []


def test_send_resolved_false_sends_no_resolution(tmp_path, hook):
    h = webhook_harness(tmp_path, hook.url, send_resolved=False)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()
    h.dispatcher.put([alert("HighCPU", "a", T0, end=h.clock.now)])
    h.clock.advance(300)
    h.tick()
    assert len(hook.received) == 1


def test_retries_with_backoff_then_delivers_once(tmp_path, hook):
    hook.responses = [(503, {}), (500, {})]
    h = webhook_harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()  # attempt 1 fails
    [entry] = h.store.outbox_list()
    assert entry.status == "pending" and entry.attempts == 1 and "HTTP 503" in entry.last_error
    assert entry.next_attempt_at == h.clock.now + timedelta(seconds=1)
    h.clock.advance(1)
    h.tick()  # attempt 2 fails, backoff doubles
    [entry] = h.store.outbox_list()
    assert entry.next_attempt_at == h.clock.now + timedelta(seconds=2)
    h.clock.advance(2)
    h.tick()
    assert hook.attempts == 3 and len(hook.received) == 1
    assert h.store.outbox_list()[0].status == "sent"
    h.clock.advance(300)
    h.tick()
    assert len(hook.received) == 1


def test_retry_after_on_429_is_honoured(tmp_path, hook):
    hook.responses = [(429, {"Retry-After": "120"})]
    h = webhook_harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()
    [entry] = h.store.outbox_list()
    assert entry.next_attempt_at == h.clock.now + timedelta(seconds=120)
    h.clock.advance(60)
    h.tick()
    assert hook.attempts == 1
    h.clock.advance(61)
    h.tick()
    assert len(hook.received) == 1


def test_client_error_is_dead_lettered_with_reason(tmp_path, hook):
    hook.responses = [(400, {})]
    h = webhook_harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()
    [entry] = h.store.outbox_list()
    assert entry.status == "dead" and "HTTP 400" in entry.last_error


def test_restart_neither_loses_nor_duplicates(tmp_path, hook):
    hook.responses = [(503, {})]
    h = webhook_harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0), alert("DiskFull", "a", T0)])
    h.clock.advance(31)
    h.tick()  # HighCPU or DiskFull fails once, the other is delivered
    assert len(hook.received) == 1
    h.restart()  # new process: alerts and outbox come back from the store
    assert len(h.dispatcher.alerts()) == 2
    h.clock.advance(1)
    h.tick()
    assert len(hook.received) == 2
    for _ in range(5):
        h.clock.advance(300)
        h.tick()
    assert sorted(b["groupLabels"]["alertname"] for b in hook.received) == ["DiskFull", "HighCPU"]


def test_downtime_longer_than_projected_end_does_not_resolve(tmp_path, hook):
    h = webhook_harness(tmp_path, hook.url)
    # A rule-sent firing alert: projected to end 60 s after its last update.
    h.dispatcher.put([alert("HighCPU", "a", T0, end=T0 + timedelta(seconds=60))])
    h.clock.advance(31)
    h.tick()
    assert [b["status"] for b in hook.received] == ["firing"]
    h.clock.advance(120)  # Vigil was down past the projected end
    h.dispatcher = type(h.dispatcher)(h.cfg, h.store, external_url="http://vigil", clock=h.clock)
    h.dispatcher.restore(grace_s=60)
    h.clock.advance(30)
    h.tick()
    assert [b["status"] for b in hook.received] == ["firing"], "restart must not resolve it"
    h.clock.advance(300)  # grace over and the sender never re-sent: now it is resolved
    h.tick()
    assert [b["status"] for b in hook.received] == ["firing", "resolved"]
