"""The state database going away for a few seconds (PostgreSQL restarting) stalls work and
loses or doubles nothing (issue 15): a flush that failed is tried again within a second, a
notification delivered while its "sent" mark could not be written is marked later and not
sent again, and right after an outage no replica takes another's claims (every heartbeat
looks old then)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from tests.alerting.harness import alert, webhook_harness
from tests.support.webhook import WebhookReceiver


class DatabaseDown:
    """Make ``store.<method>`` fail the next ``times`` calls as an unreachable server would."""

    def __init__(self, store, method: str, times: int = 1) -> None:
        self.store, self.method, self.left = store, method, times
        self.real = getattr(store, method)
        setattr(store, method, self)

    def __call__(self, *args, **kwargs):
        if self.left:
            self.left -= 1
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return self.real(*args, **kwargs)


def _deliver(worker) -> int:
    async def go() -> int:
        async with httpx.AsyncClient() as client:
            return await worker.deliver_due(client)
    return asyncio.run(go())


def test_a_flush_that_fails_on_the_database_is_tried_again_a_second_later(tmp_path) -> None:
    with WebhookReceiver() as receiver:
        h = webhook_harness(tmp_path, receiver.url)
        h.dispatcher.put([alert("DiskFull", "db1", h.clock.now)])
        h.clock.advance(31)
        (group,) = h.dispatcher.groups()
        DatabaseDown(h.store, "outbox_notify")
        with pytest.raises(OperationalError):
            h.dispatcher.flush(group, h.clock.now)
        # Not a whole group_interval (5m) later: the notification was never queued.
        assert group.next_flush_at == h.clock.now + timedelta(seconds=1)
        assert h.store.outbox_pending_count() == 0
        h.clock.advance(1)
        h.tick()
        receiver.wait_for(lambda got: len(got) == 1)
        assert receiver.received[0]["groupLabels"] == {"alertname": "DiskFull"}


def test_a_delivery_the_database_could_not_mark_is_marked_later_not_sent_again(tmp_path) -> None:
    with WebhookReceiver() as receiver:
        h = webhook_harness(tmp_path, receiver.url)
        h.dispatcher.put([alert("DiskFull", "db1", h.clock.now)])
        h.clock.advance(31)
        for group in h.dispatcher.groups():
            h.dispatcher.flush(group, h.clock.now)
        DatabaseDown(h.store, "outbox_delivered")
        with pytest.raises(OperationalError):
            _deliver(h.worker)  # the receiver got it; marking it sent failed
        assert len(receiver.received) == 1 and h.store.outbox_pending_count() == 1
        _deliver(h.worker)  # the database answers again
        _deliver(h.worker)
        assert len(receiver.received) == 1
        assert h.store.outbox_pending_count() == 0
        assert [e.status for e in h.store.outbox_list()] == ["sent"]


def test_after_an_outage_no_claims_are_taken_over_until_heartbeats_had_time(tmp_path) -> None:
    with WebhookReceiver() as receiver:
        h = webhook_harness(tmp_path, receiver.url)
        h.dispatcher.put([alert("DiskFull", "db1", h.clock.now)])
        h.clock.advance(31)
        for group in h.dispatcher.groups():
            h.dispatcher.flush(group, h.clock.now)
        # Another replica claimed it before the outage; its heartbeat row is gone (or old).
        assert len(h.store.outbox_claim("other-replica", h.clock.now, member_timeout_s=5.0)) == 1
        h.worker.member_timeout_s = 0.5
        DatabaseDown(h.store, "outbox_claim")
        with pytest.raises(OperationalError):
            _deliver(h.worker)
        # Back: the other replica may be alive and about to heartbeat; its claim is left.
        assert _deliver(h.worker) == 0 and receiver.received == []
        time.sleep(0.6)  # member_timeout after the database came back: it is dead indeed
        assert _deliver(h.worker) == 1
        receiver.wait_for(lambda got: len(got) == 1)
