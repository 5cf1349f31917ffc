"""Incident candidates in the state database (issue 17, K1): related alert groups Vigil
proposes as one incident, accepted (an incident is declared from them) or dismissed.

Recording is ONE transaction under one lock (``incident_candidates``): it reads the proposed
candidates, the recent groups of every candidate and the groups attached to open incidents,
lets the caller's ``decide`` (:mod:`vigil.incidents.correlation`, which knows the rules)
plan new candidates and groups joining proposed ones, and writes that plan. Expiring is the
same under the same lock: ``decide`` is shown the proposed candidates and names those that
expire, each with its reason; a conditional update (still ``proposed``) marks them. Two replicas
that both believe they are primary run one after the other, and the second finds the first's
candidates, so a burst is recorded once; the candidate's unique ``key`` (its shared labels
and window start) backs that up. Proposals are Vigil's: they are not in the audit log; a
dismissal is (one entry); an acceptance is audited by the declaration it makes; an expiry,
like a proposal, is Vigil's bookkeeping and not audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from vigil.state.access_store import _audit
from vigil.state.coordination import db_now, lock_for_transaction
from vigil.state.incident_candidates_schema import incident_candidate_groups, incident_candidates
from vigil.state.incident_schema import incident_alerts, incidents
from vigil.state.incident_store import IncidentError, lock_incident, record_event

__all__ = ["CANDIDATE_STATES", "Candidate", "CandidateGroup", "CandidateStore", "CorrelationState", "Join", "NewCandidate",
           "Plan"]

_LOCK = "incident_candidates"
CANDIDATE_STATES: tuple[str, ...] = ("proposed", "accepted", "dismissed", "expired")


@dataclass(frozen=True)
class CandidateGroup:
    """An alert group of a candidate, as it was when it joined."""

    group_key: str
    group_labels: dict[str, str]  # its group labels and the labels all its alerts share
    receiver: str
    started_at: datetime  # the earliest start among its alerts
    alerts: int
    priority: str
    joined_at: datetime | None = None  # None until recorded


@dataclass(frozen=True)
class Candidate:
    id: str
    key: str
    labels: dict[str, str]
    window_start: datetime
    title: str
    severity: int
    state: str  # proposed | accepted | dismissed | expired
    proposed_at: datetime
    updated_at: datetime
    incident_id: str | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str  # why it was dismissed, or why it expired
    groups: tuple[CandidateGroup, ...]

    @property
    def origin_key(self) -> str:
        """The origin key of the incident accepting it declares (unique: declared once)."""
        return f"candidate:{self.id}"


@dataclass(frozen=True)
class NewCandidate:
    key: str
    labels: dict[str, str]
    window_start: datetime
    title: str
    severity: int
    groups: tuple[CandidateGroup, ...]


@dataclass(frozen=True)
class Join:
    """A group joining a proposed candidate, with the candidate's new title and severity."""

    candidate_id: str
    group: CandidateGroup
    title: str
    severity: int


@dataclass(frozen=True)
class Plan:
    new: Sequence[NewCandidate] = ()
    joins: Sequence[Join] = ()


@dataclass(frozen=True)
class CorrelationState:
    """What ``decide`` sees, read in the recording transaction."""

    now: datetime
    proposed: list[Candidate]  # every proposed candidate, with its groups
    # (group key, started_at) of every group of any candidate whose start is at or after the
    # ``since`` asked for: a group is not proposed twice for one firing.
    recent: list[tuple[str, datetime]] = field(default_factory=list)
    attached_to_open: set[str] = field(default_factory=set)  # group keys of open incidents


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _group(row: Any) -> CandidateGroup:
    return CandidateGroup(row["group_key"], dict(row["group_labels"] or {}), row["receiver"],
                          _utc(row["started_at"]), int(row["alerts"]), row["priority"],  # type: ignore[arg-type]
                          _utc(row["joined_at"]))


def _candidates(conn: Connection, where: Any, limit: int = 500) -> list[Candidate]:
    c, g = incident_candidates, incident_candidate_groups
    rows = conn.execute(select(c).where(where).order_by(c.c.proposed_at.desc(), c.c.id).limit(limit)).mappings().all()
    if not rows:
        return []
    members: dict[str, list[CandidateGroup]] = {}
    for row in conn.execute(select(g).where(g.c.candidate_id.in_([r["id"] for r in rows]))
                            .order_by(g.c.started_at, g.c.group_key)).mappings():
        members.setdefault(row["candidate_id"], []).append(_group(row))
    return [Candidate(
        id=r["id"], key=r["key"], labels=dict(r["labels"] or {}), window_start=_utc(r["window_start"]),  # type: ignore[arg-type]
        title=r["title"], severity=int(r["severity"]), state=r["state"],
        proposed_at=_utc(r["proposed_at"]), updated_at=_utc(r["updated_at"]),  # type: ignore[arg-type]
        incident_id=r["incident_id"], decided_by=r["decided_by"], decided_at=_utc(r["decided_at"]),
        reason=r["reason"] or "", groups=tuple(members.get(r["id"], ()))) for r in rows]


def _one(conn: Connection, candidate_id: str) -> Candidate:
    found = _candidates(conn, incident_candidates.c.id == candidate_id, 1)
    if not found:
        raise IncidentError(f"no incident candidate {candidate_id!r}", "not_found")
    return found[0]


class CandidateStore:
    """Incident candidates on ``engine`` (the Store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return db_now(conn)

    # --- reading ---
    def get(self, candidate_id: str) -> Candidate:
        with self.engine.connect() as conn:
            return _one(conn, candidate_id)

    def candidates(self, *, state: str | None = None, limit: int = 500) -> list[Candidate]:
        """Candidates, newest proposal first; ``state``: only those in it."""
        c = incident_candidates
        where = c.c.state == state if state else c.c.id.is_not(None)
        with self.engine.connect() as conn:
            return _candidates(conn, where, limit)

    # --- writing ---
    def record(self, since: datetime, decide: Callable[[CorrelationState], Plan]) -> list[Candidate]:
        """Record what ``decide`` plans from the state it is shown (see the module's
        docstring). Returns the candidates created or grown by this call."""
        c, g, a, i = incident_candidates, incident_candidate_groups, incident_alerts, incidents
        with self.engine.begin() as conn:
            lock_for_transaction(conn, _LOCK)
            now = db_now(conn)
            self._accepted_meanwhile(conn, now)
            recent = [(k, _utc(s)) for k, s in conn.execute(
                select(g.c.group_key, g.c.started_at).where(g.c.started_at >= since))]
            attached = set(conn.execute(select(a.c.group_key).join(i, i.c.id == a.c.incident_id).where(
                i.c.status != "resolved", a.c.detached_at.is_(None))).scalars())
            state = CorrelationState(now, _candidates(conn, c.c.state == "proposed", 100_000),
                                     recent, attached)  # type: ignore[arg-type]
            plan = decide(state)
            touched: dict[str, None] = {}
            for new in plan.new:
                candidate_id = str(uuid.uuid4())
                conn.execute(insert(c).values(
                    id=candidate_id, key=new.key, labels=dict(new.labels), window_start=new.window_start,
                    title=new.title[:512], severity=new.severity, state="proposed", proposed_at=now,
                    updated_at=now, reason=""))
                for member in new.groups:
                    self._insert_group(conn, candidate_id, member, now)
                touched[candidate_id] = None
            for join in plan.joins:
                self._insert_group(conn, join.candidate_id, join.group, now)
                conn.execute(update(c).where(c.c.id == join.candidate_id).values(
                    title=join.title[:512], severity=join.severity, updated_at=now))
                touched[join.candidate_id] = None
            return [_one(conn, cid) for cid in touched]

    def expire(self, decide: Callable[[datetime, list[Candidate]], Sequence[tuple[str, str]]]) -> list[Candidate]:
        """Expire what ``decide`` names, as (candidate id, reason), from the proposed
        candidates it is shown with the database's time. Only a candidate still proposed is
        marked (``decided_at`` now, ``decided_by`` NULL: Vigil); an acceptance that raced it
        wins later in :meth:`mark_accepted`. Returns the candidates this call expired."""
        c = incident_candidates
        with self.engine.begin() as conn:
            lock_for_transaction(conn, _LOCK)
            now = db_now(conn)
            proposed = _candidates(conn, c.c.state == "proposed", 100_000)
            if not proposed:
                return []
            expired = []
            for candidate_id, reason in decide(now, proposed):
                taken = conn.execute(update(c).where(c.c.id == candidate_id, c.c.state == "proposed").values(
                    state="expired", decided_by=None, decided_at=now, reason=reason, updated_at=now))
                if taken.rowcount:
                    expired.append(_one(conn, candidate_id))
            return expired

    @staticmethod
    def _insert_group(conn: Connection, candidate_id: str, member: CandidateGroup, now: datetime) -> None:
        conn.execute(insert(incident_candidate_groups).values(
            candidate_id=candidate_id, group_key=member.group_key, group_labels=dict(member.group_labels),
            receiver=member.receiver, started_at=member.started_at, joined_at=now, alerts=member.alerts,
            priority=member.priority))

    @staticmethod
    def _accepted_meanwhile(conn: Connection, now: datetime) -> None:
        """Proposed candidates whose incident was declared but not marked (the process
        stopped between the two transactions of an acceptance): marked accepted now."""
        c, i = incident_candidates, incidents
        rows = conn.execute(select(c.c.id, i.c.id, i.c.declared_by, i.c.declared_at).join(
            i, i.c.origin_key == "candidate:" + c.c.id).where(c.c.state == "proposed")).all()
        for candidate_id, incident_id, declared_by, declared_at in rows:
            conn.execute(update(c).where(c.c.id == candidate_id, c.c.state == "proposed").values(
                state="accepted", incident_id=incident_id, decided_by=declared_by,
                decided_at=_utc(declared_at), updated_at=now))

    def mark_accepted(self, candidate_id: str, incident_id: str, *, actor: str | None, via: str) -> Candidate:
        """Record that accepting ``candidate_id`` declared ``incident_id``, with a
        ``candidate_accepted`` event in the incident's timeline (once: accepting again
        changes nothing). The declaration wrote the audit entry."""
        c = incident_candidates
        with self.engine.begin() as conn:
            lock_incident(conn, incident_id)
            found = _one(conn, candidate_id)
            if found.state == "accepted":
                return found
            now = db_now(conn)
            # From proposed, or from dismissed or expired when that raced the declaration:
            # the incident exists, so the candidate is what made it.
            conn.execute(update(c).where(c.c.id == candidate_id).values(
                state="accepted", incident_id=incident_id, decided_by=actor, decided_at=now,
                updated_at=now))
            record_event(conn, incident_id=incident_id, at=now, kind="candidate_accepted", actor=actor,
                         via=via, source_key=f"candidate:{candidate_id}:accepted", detail={
                             "candidate_id": candidate_id, "labels": found.labels,
                             "groups": [m.group_key for m in found.groups]})
            return _one(conn, candidate_id)

    def dismiss(self, candidate_id: str, *, actor: str, via: str, reason: str) -> Candidate:
        """Dismiss a proposed candidate: its groups are not proposed again for this firing.
        One audit entry."""
        if not reason.strip():
            raise IncidentError("reason: say why the candidate is dismissed", "invalid")
        c = incident_candidates
        with self.engine.begin() as conn:
            lock_for_transaction(conn, _LOCK)
            found = _one(conn, candidate_id)
            if found.state != "proposed":
                raise IncidentError(f"incident candidate {candidate_id} is {found.state}, not proposed",
                                    "conflict")
            now = db_now(conn)
            conn.execute(update(c).where(c.c.id == candidate_id).values(
                state="dismissed", decided_by=actor, decided_at=now, reason=reason.strip(), updated_at=now))
            _audit(conn, now=now, actor=actor, action="incident.candidate.dismiss",
                   target=f"incident candidate {candidate_id}", before={"state": "proposed"},
                   after={"state": "dismissed", "reason": reason.strip(), "via": via,
                          "groups": [m.group_key for m in found.groups]})
            return _one(conn, candidate_id)
