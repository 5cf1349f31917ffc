"""Grouping, timing, dedup and delivery through the durable outbox to a real HTTP receiver."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.support.webhook import WebhookReceiver
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.notify import OutboxWorker
from vigil.config import load_config_text
from vigil.model import Alert, Labels
from vigil.selfmetrics import SelfMetrics
from vigil.state import Store

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def config(url: str, send_resolved: bool = True):
    return load_config_text(f"""
alerting:
  receivers:
    - name: hook
      webhook_configs: [{{url: "{url}", send_resolved: {str(send_resolved).lower()}}}]
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 4h
""").alerting


def alert(name: str, instance: str, start: datetime, end: datetime | None = None) -> Alert:
    return Alert(Labels({"alertname": name, "instance": instance, "severity": "warning"}),
                 Labels({"summary": f"{name} on {instance}"}), start, end,
                 "http://vigil/graph", updated_at=start)


class Harness:
    def __init__(self, tmp_path, url: str, send_resolved: bool = True) -> None:
        self.clock = Clock()
        self.store = Store.open_in(str(tmp_path))
        self.cfg = config(url, send_resolved)
        self.restart()

    def restart(self) -> None:
        self.dispatcher = Dispatcher(self.cfg, self.store, external_url="http://vigil", clock=self.clock)
        self.dispatcher.restore()
        self.worker = OutboxWorker(self.store, self.dispatcher.integrations(), SelfMetrics(),
                                   clock=self.clock)

    def tick(self) -> None:
        """Flush due groups, then attempt due deliveries, at the current fake time."""
        for group in self.dispatcher.groups():
            if group.due(self.clock.now):
                self.dispatcher.flush(group, self.clock.now)

        async def deliver() -> None:
            async with httpx.AsyncClient() as client:
                await self.worker.deliver_due(client)

        asyncio.run(deliver())


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


def test_group_waits_then_sends_both_alerts_in_one_webhook(tmp_path, hook):
    h = Harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0), alert("HighCPU", "b", T0)])
    h.clock.advance(29)
    h.tick()
    assert hook.received == []
    h.clock.advance(2)
    h.tick()
    assert len(hook.received) == 1
    body = hook.received[0]
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "hook"
    assert body["groupLabels"] == {"alertname": "HighCPU"}
    assert body["groupKey"] == '{}:{alertname="HighCPU"}'
    assert body["commonLabels"] == {"alertname": "HighCPU", "severity": "warning"}
    assert [a["labels"]["instance"] for a in body["alerts"]] == ["a", "b"]
    assert body["alerts"][0]["annotations"] == {"summary": "HighCPU on a"}
    assert body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert body["alerts"][0]["startsAt"] == "2026-11-22T08:00:00Z"
    assert len(body["alerts"][0]["fingerprint"]) == 16


def test_unchanged_group_is_not_resent_until_repeat_interval(tmp_path, hook):
    h = Harness(tmp_path, hook.url)
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
    h = Harness(tmp_path, hook.url)
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
    h = Harness(tmp_path, hook.url)
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
    h = Harness(tmp_path, hook.url, send_resolved=False)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()
    h.dispatcher.put([alert("HighCPU", "a", T0, end=h.clock.now)])
    h.clock.advance(300)
    h.tick()
    assert len(hook.received) == 1


def test_retries_with_backoff_then_delivers_once(tmp_path, hook):
    hook.responses = [(503, {}), (500, {})]
    h = Harness(tmp_path, hook.url)
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
    h = Harness(tmp_path, hook.url)
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
    h = Harness(tmp_path, hook.url)
    h.dispatcher.put([alert("HighCPU", "a", T0)])
    h.clock.advance(31)
    h.tick()
    [entry] = h.store.outbox_list()
    assert entry.status == "dead" and "HTTP 400" in entry.last_error


def test_restart_neither_loses_nor_duplicates(tmp_path, hook):
    hook.responses = [(503, {})]
    h = Harness(tmp_path, hook.url)
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
