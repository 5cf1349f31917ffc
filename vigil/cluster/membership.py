"""This replica's place in the cluster: registration, heartbeats, the primary lease, shards.

One :class:`Membership` per ``vigil up`` process. Its :meth:`~Membership.run` task writes a
heartbeat every ``heartbeat_interval`` and takes or renews the ``primary`` lease (ttl =
``member_timeout``), so at most one live replica is primary, and when the primary dies
another one takes over within ``member_timeout`` plus one heartbeat.

Clocks. Lease expiries and heartbeat ages are the database's clock (see
:mod:`vigil.state.cluster_store`); replica clocks need not agree for the lease to be safe.
A replica counts how long its own lease may still be valid from the moment it *sent* the
renewal, on its monotonic clock, and stops calling itself primary ``margin`` seconds before
then: the database's expiry is at least that far in the future, so no other replica can
hold the lease while this one still believes it does (assuming clocks run at the same
rate, which they do to far better than the margin). Wall-clock agreement (NTP) matters only
for what the primary does with times, e.g. alert ``activeAt`` handed over between replicas.

When the database cannot be reached the loop keeps trying every heartbeat; :meth:`is_primary`
turns False by itself once the lease may have run out, and the replica becomes primary
again (or stays a replica) when the database answers.

Thread-safe: :meth:`is_primary`, :meth:`shard`, :meth:`live_members` and :meth:`view` may be
called from any thread; role-change callbacks run on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vigil.state.cluster_store import ClusterStore, Lease, Member

__all__ = ["PRIMARY_LEASE", "Membership", "MemberSnapshot"]

log = logging.getLogger(__name__)

PRIMARY_LEASE = "primary"
# Members silent (or stopped) this long are deleted from the table by the primary.
FORGET_AFTER_S = 3600.0
PRUNE_EVERY_S = 60.0

RoleCallback = Callable[[bool], None]


@dataclass(frozen=True)
class MemberSnapshot:
    """The last view of the cluster read from the database."""

    members: tuple[Member, ...]
    lease: Lease | None
    db_now: datetime
    read_at: float  # monotonic time of the read


class Membership:
    """See the module docstring."""

    def __init__(self, store: ClusterStore, *, name: str, url: str, version: str,
                 heartbeat_interval_s: float = 1.0, member_timeout_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, member_id: str | None = None) -> None:
        self.store = store
        self.member_id = member_id or str(uuid.uuid4())
        self.name = name
        self.url = url
        self.version = version
        self.heartbeat_interval_s = heartbeat_interval_s
        self.member_timeout_s = member_timeout_s
        # Stop acting as primary this long before the lease can expire in the database.
        self.margin_s = min(heartbeat_interval_s, member_timeout_s * 0.2)
        self._clock = clock
        self._lock = threading.Lock()
        self._registered = False
        self._valid_until = float("-inf")  # monotonic; primary until then unless renewed
        self._holds_lease = False
        self._snapshot: MemberSnapshot | None = None
        self._live: tuple[Member, ...] = ()
        self._db_error: str | None = None
        self._last_contact: float | None = None
        self._last_prune = float("-inf")
        self._reported_primary = False
        self._reported_db_error = False
        self._callbacks: list[RoleCallback] = []
        self._resigned = False
        self._pending: asyncio.Task[None] | None = None  # the heartbeat round under way

    # ------------------------------------------------------------ queries (any thread)

    def is_primary(self) -> bool:
        """True while this replica holds the primary lease and it cannot have expired."""
        with self._lock:
            return self._holds_lease and self._clock() < self._valid_until

    def live_members(self) -> list[Member]:
        """Members alive at the last read, in shard order (name, then id)."""
        with self._lock:
            return list(self._live)

    def shard(self) -> tuple[int, int]:
        """(index of this replica among the live members, their count), for sharding work
        such as scrape targets by ``hashmod``. (0, 1) until the first read, or when this
        replica is not among them (it cannot reach the database: it then does everything
        rather than nothing)."""
        with self._lock:
            ids = [m.id for m in self._live]
        if self.member_id not in ids:
            return 0, 1
        return ids.index(self.member_id), len(ids)

    def on_role_change(self, callback: RoleCallback) -> None:
        """Call ``callback(is_primary)`` on the event loop whenever the role changes."""
        self._callbacks.append(callback)

    def view(self) -> dict[str, Any]:
        """The cluster as this replica last saw it, for ``/api/vigil/v1/cluster``."""
        with self._lock:
            snap, live, error, contact = self._snapshot, self._live, self._db_error, self._last_contact
        primary_now = self.is_primary()
        now = self._clock()
        out: dict[str, Any] = {
            "self": self.member_id, "member_timeout_seconds": self.member_timeout_s,
            "heartbeat_interval_seconds": self.heartbeat_interval_s,
            "database": {"reachable": error is None and contact is not None, "error": error,
                         "last_contact_seconds_ago": None if contact is None else round(now - contact, 3)},
            "lease": None, "members": [],
        }
        if snap is None:
            return out
        since_read = max(0.0, now - snap.read_at)
        holder = None
        if snap.lease is not None:
            lease = snap.lease
            expires_in = (lease.expires_at - lease.now).total_seconds() - since_read
            holder = lease.holder if expires_in > 0 else None
            out["lease"] = {"name": lease.name, "holder": holder, "last_holder": lease.holder,
                            "epoch": lease.epoch, "acquired_at": lease.acquired_at.isoformat(),
                            "expires_in_seconds": round(expires_in, 3)}
        live_ids = [m.id for m in live]
        for m in _shown(snap.members, snap.db_now, self.member_timeout_s):
            age = m.heartbeat_age_s(snap.db_now) + since_read
            is_self = m.id == self.member_id
            primary = primary_now if is_self else m.id == holder
            out["members"].append({
                "id": m.id, "name": m.name, "url": m.url, "version": m.version,
                "role": "primary" if primary else "replica",
                "healthy": age < self.member_timeout_s and (not is_self or error is None),
                "heartbeat_age_seconds": round(age, 3), "started_at": m.started_at.isoformat(),
                "shard": [live_ids.index(m.id), len(live_ids)] if m.id in live_ids else None,
                "self": is_self,
            })
        return out

    # ------------------------------------------------------------ one round (blocking)

    def tick(self) -> None:
        """Heartbeat, take or renew the lease, read the members. Blocking (database calls);
        raises the database's error, leaving the last view in place."""
        sent_at = self._clock()
        info = {"role": "primary" if self.is_primary() else "replica", "shard": list(self.shard())}
        if not self._registered or not self.store.heartbeat(self.member_id, info):
            self.store.register(self.member_id, name=self.name, url=self.url, version=self.version, info=info)
            self._registered = True
        if self._resigned:  # stopping: stay alive (deliveries finish) but never primary
            lease = self.store.lease(PRIMARY_LEASE)
        else:
            lease = self.store.acquire(PRIMARY_LEASE, self.member_id, self.member_timeout_s)
        members, db_now = self.store.members()
        live = sorted((m for m in members if m.alive(db_now, self.member_timeout_s)),
                      key=lambda m: (m.name, m.id))
        with self._lock:
            self._holds_lease = (not self._resigned and lease is not None
                                 and lease.held_by(self.member_id))
            if self._holds_lease:
                self._valid_until = sent_at + self.member_timeout_s - self.margin_s
            self._snapshot = MemberSnapshot(tuple(members), lease, db_now, self._clock())
            self._live = tuple(live)
            self._db_error = None
            self._last_contact = self._clock()
        if self._holds_lease and self._clock() - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = self._clock()
            pruned = self.store.prune(FORGET_AFTER_S)
            if pruned:
                log.info("forgot %d cluster members silent for over %.0f s", pruned, FORGET_AFTER_S)

    # ------------------------------------------------------------ the task

    async def join(self) -> None:
        """One round before serving, so a single replica starts as primary at once; a
        database that does not answer is logged and retried by :meth:`run`."""
        await self._round()

    async def run(self) -> None:
        """Heartbeat until cancelled. A round that hangs (a database not answering) does not
        stop the role from being checked: the lease's validity runs out on its own."""
        pending: asyncio.Task[None] | None = None
        try:
            while True:
                started = self._clock()
                if pending is None or pending.done():
                    pending = self._pending = asyncio.create_task(self._round())
                with_timeout = max(0.0, self.heartbeat_interval_s - (self._clock() - started))
                await asyncio.wait([pending], timeout=with_timeout)
                self._report_role()
                rest = self.heartbeat_interval_s - (self._clock() - started)
                if rest > 0:
                    await asyncio.sleep(rest)
                self._report_role()
        finally:
            if pending is not None and not pending.done():
                pending.cancel()

    async def resign(self) -> None:
        """Stop being primary and give the lease up, so another replica takes over at its
        next heartbeat instead of after the lease expires (a clean stop). Heartbeats go
        on, so work this replica still finishes (deliveries under way) is not taken over."""
        with self._lock:
            self._resigned = True
            self._holds_lease = False
        self._report_role()
        if self._pending is not None and not self._pending.done():
            # A round under way may renew the lease after the release below: let it end.
            await asyncio.wait([self._pending], timeout=self.member_timeout_s)
        try:
            await asyncio.to_thread(self.store.release, PRIMARY_LEASE, self.member_id)
        except Exception as exc:  # noqa: BLE001 - stopping anyway; the lease runs out
            log.warning("cluster: could not give the primary lease up (%s); it expires in %.0f s",
                        exc, self.member_timeout_s)

    async def leave(self) -> None:
        """The end of a clean stop: resign if not done yet and mark this member as left,
        so it stops counting as alive at once (shards are recomputed without it)."""
        if not self._resigned:
            await self.resign()
        try:
            await asyncio.to_thread(self.store.leave, self.member_id)
        except Exception as exc:  # noqa: BLE001
            log.warning("cluster: could not mark this member as left (%s)", exc)

    async def _round(self) -> None:
        try:
            await asyncio.to_thread(self.tick)
        except Exception as exc:  # noqa: BLE001 - keep running; the database may come back
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            with self._lock:
                self._db_error = f"{type(exc).__name__}: {first_line}"
            if not self._reported_db_error:
                log.warning("cluster: state database unreachable (%s); primary role ends when "
                            "the lease may have expired", self._db_error)
        else:
            if self._reported_db_error:
                log.info("cluster: state database reachable again")
        self._reported_db_error = self._db_error is not None
        self._report_role()

    def _report_role(self) -> None:
        primary = self.is_primary()
        if primary == self._reported_primary:
            return
        self._reported_primary = primary
        log.info("cluster: %s (%s) is now %s", self.name, self.member_id, "primary" if primary else "a replica")
        for callback in self._callbacks:
            try:
                callback(primary)
            except Exception:  # noqa: BLE001 - one listener must not stop the others
                log.exception("cluster role callback failed")


def _shown(members: tuple[Member, ...], now: datetime, timeout_s: float) -> list[Member]:
    """Members worth showing: not stopped cleanly, and not a dead earlier start of a
    replica that has since started again under the same name."""
    newest_start: dict[str, datetime] = {}
    for m in members:
        if m.left_at is None and m.alive(now, timeout_s):
            newest_start[m.name] = max(newest_start.get(m.name, m.started_at), m.started_at)
    return [m for m in members if m.left_at is None and (
        m.alive(now, timeout_s) or m.name not in newest_start or m.started_at > newest_start[m.name])]
