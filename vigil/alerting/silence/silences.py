"""The silencer: silences kept in the state store and cached in memory for matching.

Semantics follow Alertmanager's: a silence is pending before ``starts_at``, active until
``ends_at``, then expired (kept for ``retention`` so it can be looked up and re-created).
Updating an active silence in place is allowed only when its matchers and start stay the
same and its end is not moved into the past; any other change expires the old silence and
creates a new one with a new id. Every change is written to the audit trail with its author.

Several replicas share the silences through the store: every write bumps the "silences"
version in its transaction, and :meth:`Silences.sync` re-reads only when that version
moved. Reads for the API (``list``, ``get``) and writes sync first, so a silence made on
one replica is seen on all at once; matching (``mutes``, ``silenced_by``, called per alert)
syncs at most every ``sync_every_s``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from vigil.alerting.silence.model import Silence, matcher_from_json
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.state import Store


class SilenceError(ValueError):
    """A silence request that cannot be carried out; the message says why."""


class SilenceNotFound(SilenceError):
    pass


@dataclass(frozen=True)
class SilenceInput:
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    id: str | None = None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Silences:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = _utcnow,
                 retention: timedelta = timedelta(days=5), sync_every_s: float = 0.5) -> None:
        self.store = store
        self.clock = clock
        self.retention = retention
        self.sync_every_s = sync_every_s
        self._lock = threading.Lock()
        self._by_id: dict[str, Silence] = {}
        self._version = -1  # the store's "silences" version that _by_id reflects
        self._synced_at = 0.0  # time.monotonic() of the last version check
        self.reload()

    def sync(self, *, max_age_s: float = 0.0) -> bool:
        """Re-read the silences if any replica changed them since the last read (one cheap
        read of their version); returns whether it re-read. With ``max_age_s``, does
        nothing when the last check is younger than that."""
        started = time.monotonic()
        if max_age_s and started - self._synced_at < max_age_s:
            return False
        self._synced_at = started
        if self.store.state_version("silences") == self._version:
            return False
        self.reload()
        return True

    def reload(self) -> None:
        """Re-read all silences from the store (at start, and to see other replicas' changes)."""
        # The version first: a change landing between the two reads is then read again
        # at the next sync, never missed.
        version = self.store.state_version("silences")
        rows = self.store.silences_load()
        loaded = {
            r["id"]: Silence(r["id"], tuple(matcher_from_json(m) for m in r["matchers"]),
                             r["starts_at"], r["ends_at"], r["created_by"], r["comment"],
                             r["updated_at"])
            for r in rows
        }
        with self._lock:
            self._by_id = loaded
            self._version = version

    def list(self) -> list[Silence]:
        self.sync()
        with self._lock:
            return sorted(self._by_id.values(), key=lambda s: (s.ends_at, s.id))

    def get(self, silence_id: str) -> Silence:
        self.sync()
        with self._lock:
            silence = self._by_id.get(silence_id)
        if silence is None:
            raise SilenceNotFound(f"silence {silence_id} not found")
        return silence

    def silenced_by(self, labels: Labels, now: datetime | None = None) -> list[str]:
        now = now or self.clock()
        self.sync(max_age_s=self.sync_every_s)
        with self._lock:
            return sorted(s.id for s in self._by_id.values() if s.mutes(labels, now))

    def mutes(self, labels: Labels, now: datetime) -> bool:
        return bool(self.silenced_by(labels, now))

    def set(self, request: SilenceInput) -> str:
        """Create or update a silence; returns its id (new when the update could not be in place)."""
        now = self.clock()
        _validate(request, now)
        self.sync()
        with self._lock:
            previous = self._by_id.get(request.id) if request.id else None
            if request.id and previous is None:
                raise SilenceNotFound(f"silence {request.id} not found")
            new = Silence(request.id or "", request.matchers, request.starts_at, request.ends_at,
                          request.created_by, request.comment, now)
            if previous is not None and _can_update(previous, new, now):
                self._write(new, action="update", author=request.created_by, comment=request.comment)
                return new.id
            expired = None
            if previous is not None and previous.state(now) != "expired":
                expired = _expired(previous, now)
            if new.starts_at < now:
                new = replace(new, starts_at=now)
            new = replace(new, id=str(uuid.uuid4()))
            self._write(new, action="create", author=request.created_by, comment=request.comment,
                        also_expire=expired)
            return new.id

    def expire(self, silence_id: str, *, author: str = "", comment: str = "") -> None:
        now = self.clock()
        self.sync()
        with self._lock:
            silence = self._by_id.get(silence_id)
            if silence is None:
                raise SilenceNotFound(f"silence {silence_id} not found")
            if silence.state(now) == "expired":
                raise SilenceError(f"silence {silence_id} already expired")
            self._write(_expired(silence, now), action="expire", author=author or silence.created_by,
                        comment=comment or "expired")

    def gc(self) -> int:
        """Forget silences expired longer than the retention ago."""
        now = self.clock()
        removed = self.store.silences_delete_expired_before(now - self.retention)
        if removed:
            self.reload()
        return removed

    def _write(self, silence: Silence, *, action: str, author: str, comment: str,
               also_expire: Silence | None = None) -> None:
        # Caller holds the lock.
        version = self.store.silence_save(_row(silence), action=action, author=author, comment=comment,
                                          at=self.clock(),
                                          also_expire=_row(also_expire) if also_expire else None)
        if version == self._version + 1:
            # Nobody else wrote since our last read: the cache plus this change is current.
            self._version = version
        if also_expire is not None:
            self._by_id[also_expire.id] = also_expire
        self._by_id[silence.id] = silence


def _row(s: Silence) -> dict:
    return {"id": s.id, "matchers": s.matchers_json(), "starts_at": s.starts_at, "ends_at": s.ends_at,
            "created_by": s.created_by, "comment": s.comment, "updated_at": s.updated_at}


def _expired(s: Silence, now: datetime) -> Silence:
    if s.state(now) == "pending":
        return replace(s, starts_at=now, ends_at=now, updated_at=now)
    return replace(s, ends_at=now, updated_at=now)


def _can_update(a: Silence, b: Silence, now: datetime) -> bool:
    if a.matchers != b.matchers:
        return False
    state = a.state(now)
    if state == "expired":
        return False
    if state == "active":
        return b.starts_at == a.starts_at and b.ends_at >= now
    return b.starts_at >= now  # pending


def _validate(request: SilenceInput, now: datetime) -> None:
    if not request.matchers:
        raise SilenceError("at least one matcher is required")
    if all(m.matches_empty() for m in request.matchers):
        raise SilenceError("at least one matcher must not match the empty string")
    if request.ends_at < request.starts_at:
        raise SilenceError("end time must not be before start time")
    if request.ends_at < now:
        raise SilenceError("end time can't be in the past")
    if not request.created_by.strip():
        raise SilenceError("createdBy must not be empty")
    if not request.comment.strip():
        raise SilenceError("comment must not be empty")


def parse_matchers_json(items: Sequence[dict]) -> tuple[Matcher, ...]:
    return tuple(matcher_from_json(m) for m in items)
