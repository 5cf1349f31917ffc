"""The outbox worker: delivers what the dispatcher wrote to the durable outbox.

A notification is in the outbox (committed) before any attempt to send it, and it is marked
delivered together with its notification-log entry in one transaction. A crash between the
receiver's 2xx and that transaction re-sends once on restart (at-least-once); every other
path sends exactly once. Retries back off exponentially from ``base_backoff_s`` up to
``max_backoff_s`` and honour ``Retry-After``; after ``max_attempts`` failures, or at once for
an unrecoverable error, the notification is dead-lettered with its last error. An
integration with a ``rate_limit`` delivers at most that often; the rest wait (postponed,
no attempt counted) in the outbox.

Several replicas each run a worker on the same outbox. A worker delivers only entries it
claimed (:meth:`vigil.state.Store.outbox_claim`), so the work is spread and nothing is sent
by two at once; a claim by a replica whose heartbeat is older than ``member_timeout_s`` is
taken over. Rate-limited integrations are delivered by the primary only (``is_primary``):
their token bucket is in its memory, so one replica holding them keeps the limit. Each
delivery carries the entry's stable ``notification_id`` (webhooks: the
``X-Vigil-Notification-Id`` header), so a receiver can drop the re-send that follows a crash
between its 2xx and the entry being marked sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

import httpx

from vigil.alerting.notify.integration import Integration
from vigil.alerting.notify.ratelimit import TokenBucket
from vigil.errors import NotifyError
from vigil.selfmetrics import SelfMetrics
from vigil.state import OutboxEntry, Store

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        integrations: Mapping[tuple[str, str], Integration],
        metrics: SelfMetrics,
        *,
        clock: Callable[[], datetime] = _utcnow,
        max_attempts: int = 10,
        base_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        member_id: str = "local",
        member_timeout_s: float = 5.0,
        is_primary: Callable[[], bool] = lambda: True,
        poll_s: float = 1.0,
        claim_limit: int = 100,
    ) -> None:
        self.store = store
        self.member_id = member_id
        self.member_timeout_s = member_timeout_s
        self.is_primary = is_primary
        self.poll_s = poll_s  # longest wait between looks (entries other replicas queue)
        self.claim_limit = claim_limit
        self.integrations = dict(integrations)
        self.metrics = metrics
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buckets: dict[tuple[str, str], tuple[object, TokenBucket]] = {}
        # The state database failed since the last successful claim: after such an outage
        # every replica's heartbeat looks old, so none takes another's claims until they
        # have all had member_timeout to heartbeat again (monotonic time it came back).
        self._database_failed = False
        self._database_back_at = float("-inf")
        # Delivered (the receiver said 2xx) but not yet marked sent, because the database
        # failed: marked when it answers again, never sent again (entry id -> entry, time).
        self._sent_unmarked: dict[int, tuple[OutboxEntry, datetime]] = {}
        self.set_integrations(integrations)

    def set_integrations(self, integrations: Mapping[tuple[str, str], Integration]) -> None:
        self.integrations = dict(integrations)
        # Keep a bucket across reloads while its limit is unchanged, so a reload cannot
        # be used to burst past it.
        buckets = {}
        for key, integration in self.integrations.items():
            limit = getattr(getattr(integration, "config", None), "rate_limit", None)
            if limit is None:
                continue
            old = self._buckets.get(key)
            buckets[key] = old if old and old[0] == limit else (
                limit, TokenBucket(limit.limit / limit.per, limit.burst or limit.limit))
        self._buckets = buckets

    def _postpone_s(self, entry: OutboxEntry) -> float:
        """0 when the entry may be delivered now (a token was taken), else seconds to wait."""
        bucket = self._buckets.get((entry.receiver, entry.integration))
        return 0.0 if bucket is None else bucket[1].take(self.clock().timestamp())

    def wake(self) -> None:
        """Ask the worker to look at the outbox now (called after the dispatcher adds).
        Safe from any thread: the dispatcher flushes in worker threads, and an
        ``asyncio.Event`` set off its loop would not wake the loop until something else did."""
        loop = self._loop
        try:
            same = asyncio.get_running_loop() is loop
        except RuntimeError:
            same = False
        if loop is None or same or loop.is_closed():
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def deliver_due(self, client: httpx.AsyncClient, limit: int | None = None) -> int:
        """One pass: claim the notifications due now (at most ``limit``, default
        ``claim_limit``) and attempt them. Returns how many were claimed."""
        await self._mark_sent_unmarked()
        # Not the primary: leave rate-limited integrations to it (their bucket is there).
        exclude = () if self.is_primary() else tuple(self._buckets)
        take_over = (not self._database_failed
                     and time.monotonic() - self._database_back_at >= self.member_timeout_s)
        try:
            due = await asyncio.to_thread(
                self.store.outbox_claim, self.member_id, self.clock(),
                member_timeout_s=self.member_timeout_s, limit=limit or self.claim_limit,
                exclude=exclude, take_over=take_over)
        except Exception:
            self._database_failed = True
            raise
        if self._database_failed:
            self._database_failed, self._database_back_at = False, time.monotonic()
        go = []
        for entry in due:
            wait_s = self._postpone_s(entry)
            if wait_s:
                await asyncio.to_thread(self.store.outbox_postpone, entry,
                                        self.clock() + timedelta(seconds=wait_s))
            else:
                go.append(entry)
        if go:
            await asyncio.gather(*(self._deliver(client, e) for e in go))
        self.metrics.outbox_depth.set(await asyncio.to_thread(self.store.outbox_pending_count))
        return len(due)

    def stop(self) -> None:
        """Finish the deliveries under way, then leave :meth:`run`. Cancelling instead could
        cut a delivery between the receiver's 2xx and marking it sent, so that it is sent
        again after the restart."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with httpx.AsyncClient() as client:
            while not self._stopping:
                self._wake.clear()
                claimed = await self.deliver_due(client)
                if claimed >= self.claim_limit:
                    continue
                next_at = await asyncio.to_thread(self.store.outbox_next_due_at, self.member_id,
                                                  member_timeout_s=self.member_timeout_s)
                delay = self.poll_s if next_at is None else max(0.0, (next_at - self.clock()).total_seconds())
                if not claimed and delay == 0.0:
                    # Due but not ours to take now (a rate-limited entry, left to the
                    # primary): look again at the next poll, not at once.
                    delay = self.poll_s
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=min(delay, self.poll_s) or 0.01)
                except TimeoutError:
                    pass

    async def _deliver(self, client: httpx.AsyncClient, entry: OutboxEntry) -> None:
        integration = self.integrations.get((entry.receiver, entry.integration))
        if integration is None:
            await asyncio.to_thread(self.store.outbox_failed, entry,
                                    f"receiver {entry.receiver!r} has no integration {entry.integration!r} any more",
                                    retry_at=None)
            return
        kind = entry.integration.split("/")[0]
        started = time.monotonic()
        try:
            await integration.send(client, entry.payload, notification_id=entry.notification_id)
        except NotifyError as exc:
            self.metrics.notifications_failed.labels(kind).inc()
            retry_at = self._retry_at(entry, exc)
            if retry_at is None:
                log.error("notification %d to %s dead-lettered: %s", entry.id, entry.receiver, exc)
            else:
                log.warning("notification %d to %s failed (attempt %d), retrying at %s: %s",
                            entry.id, entry.receiver, entry.attempts + 1, retry_at.isoformat(), exc)
            await asyncio.to_thread(self.store.outbox_failed, entry, str(exc), retry_at=retry_at)
            return
        self.metrics.notification_latency.labels(kind).observe(time.monotonic() - started)
        self.metrics.notifications_sent.labels(kind).inc()
        sent_at = self.clock()
        try:
            await asyncio.to_thread(self.store.outbox_delivered, entry, sent_at)
        except Exception:
            self._sent_unmarked[entry.id] = (entry, sent_at)
            self._database_failed = True
            raise

    async def _mark_sent_unmarked(self) -> None:
        """Mark sent what was delivered while the database could not record it; this
        replica still holds their claims, so nobody else sends them meanwhile."""
        for entry_id, (entry, sent_at) in list(self._sent_unmarked.items()):
            await asyncio.to_thread(self.store.outbox_delivered, entry, sent_at)
            del self._sent_unmarked[entry_id]

    def _retry_at(self, entry: OutboxEntry, exc: NotifyError) -> datetime | None:
        if not exc.recoverable or entry.attempts + 1 >= self.max_attempts:
            return None
        backoff = min(self.max_backoff_s, self.base_backoff_s * 2 ** entry.attempts)
        if exc.retry_after_s is not None:
            backoff = max(backoff, min(exc.retry_after_s, 3600.0))
        return self.clock() + timedelta(seconds=backoff)
