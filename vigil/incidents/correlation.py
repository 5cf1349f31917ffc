"""Correlation (issue 17, K1 first step): related alert groups proposed as one incident, an
*incident candidate*, accepted in one click or dismissed.

Which groups are related (:mod:`vigil.config.correlation`): active firing groups (not all
silenced or inhibited), not attached to an open incident, that started firing (their
earliest alert's start) at most ``window`` apart and agree on the named ``labels``: of those
both carry, every one has the same value, and there is at least one. A group's labels are its
group labels and the labels all its alerts share, so a route grouping by ``alertname`` still
correlates on ``service``.

A candidate is identified by the label values its groups agree on and its window start (the
earliest start among its groups). A burst therefore proposes one candidate, which grows as
related groups start firing within the window; a later burst is a new candidate. A group
that belongs to any candidate (proposed, accepted or dismissed) whose group started within
``window`` of its own start is not proposed again: a dismissed candidate does not come back
for the same firing, and a group that stops and fires again later can be.

A proposed candidate *expires* (:func:`expiry_reason`) once none of its groups is among the
firing groups (the primary's view, as the alert lifecycle trusts it to resolve episodes), or
``expire_after`` after it was proposed. An expired candidate is listed only when asked for
(``state=expired``) and cannot be accepted; its groups count as proposed for their firing.

Observing runs on the primary (:func:`run_while_primary`) about every ``interval_s``; the
decision is made inside the store's recording transaction (see
:mod:`vigil.state.incident_candidate_store`), so replicas record each candidate once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.config.correlation import CorrelationConfig
from vigil.config.oncall import PRIORITIES
from vigil.gocompat.durations import format_duration_ms
from vigil.incidents.service import IncidentService
from vigil.oncall.lifecycle import FiringGroup
from vigil.oncall.primary_loop import run_while_primary
from vigil.oncall.priorities import group_priority
from vigil.state.incident_candidate_store import (
    Candidate,
    CandidateGroup,
    CandidateStore,
    CorrelationState,
    Join,
    NewCandidate,
    Plan,
)
from vigil.state.incident_store import Incident, IncidentError

__all__ = ["Correlator", "candidate_title", "expiry_reason", "group_snapshot", "plan", "related"]

log = logging.getLogger(__name__)


def _common_alert_labels(group: FiringGroup) -> dict[str, str]:
    """The labels every alert of ``group`` carries with one non-empty value."""
    if not group.alerts:
        return {}
    first = group.alerts[0].labels.to_dict()
    return {name: value for name, value in first.items()
            if value and all(a.labels.get(name) == value for a in group.alerts[1:])}


def group_snapshot(group: FiringGroup, default_priority: str) -> CandidateGroup:
    """``group`` as a candidate keeps it: its labels (group labels over its alerts' common
    ones), receiver, earliest alert start, alert count and most urgent priority."""
    labels = {**_common_alert_labels(group), **{k: v for k, v in group.labels.to_dict().items() if v}}
    return CandidateGroup(group.key, labels, group.receiver, min(a.starts_at for a in group.alerts),
                          len(group.alerts), group_priority(group.alerts, default_priority))


def related(a: dict[str, str], b: dict[str, str]) -> bool:
    """Whether two sets of correlation label values agree: every name in both has the same
    value, and at least one name is in both."""
    common = a.keys() & b.keys()
    return bool(common) and all(a[name] == b[name] for name in common)


def _named(labels: dict[str, str], names: Sequence[str]) -> dict[str, str]:
    return {n: labels[n] for n in names if labels.get(n)}


def candidate_title(labels: dict[str, str], groups: Sequence[CandidateGroup]) -> str:
    """A suggested incident title: the shared labels and the alert names, e.g.
    ``service=checkout: HighLatency, ErrorRate and 2 more``."""
    names = list(dict.fromkeys(g.group_labels.get("alertname") or g.group_key for g in groups))
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    where = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"{where}: {shown}"


def _severity(groups: Sequence[CandidateGroup], config: CorrelationConfig) -> int:
    known = [g.priority for g in groups if g.priority in PRIORITIES]
    return config.severity_for(min(known, key=PRIORITIES.index)) if known else 4


def _key(labels: dict[str, str], window_start: datetime) -> str:
    return json.dumps({"labels": dict(sorted(labels.items())), "start": window_start.isoformat()},
                      separators=(",", ":"))


@dataclass
class _Open:
    """A proposed candidate while a plan is made: what later groups are compared with."""

    candidate: Candidate
    groups: list[CandidateGroup]


def plan(state: CorrelationState, groups: Sequence[FiringGroup], config: CorrelationConfig,
         default_priority: str) -> Plan:
    """What to record now (see the module's docstring): groups joining proposed candidates,
    and new candidates of at least ``min_groups`` related groups. Pure; deterministic for
    one state and one list of groups."""
    window = timedelta(seconds=config.window)
    seen = [(key, start) for key, start in state.recent]
    waiting: list[tuple[CandidateGroup, dict[str, str]]] = []
    for group in groups:
        if not group.active or not group.alerts or group.key in state.attached_to_open:
            continue
        snap = group_snapshot(group, default_priority)
        if any(key == snap.group_key and abs(start - snap.started_at) <= window for key, start in seen):
            continue
        named = _named(snap.group_labels, config.labels)
        if named:
            waiting.append((snap, named))
    waiting.sort(key=lambda item: (item[0].started_at, item[0].group_key))

    opened = [_Open(c, list(c.groups)) for c in sorted(state.proposed, key=lambda c: (c.window_start, c.id))]
    joins: list[Join] = []
    rest: list[tuple[CandidateGroup, dict[str, str]]] = []
    for snap, named in waiting:
        for cand in opened:
            starts = [g.started_at for g in cand.groups] + [snap.started_at]
            if related(cand.candidate.labels, named) and max(starts) - min(starts) <= window:
                cand.groups.append(snap)
                joins.append(Join(cand.candidate.id, snap, candidate_title(cand.candidate.labels, cand.groups),
                                  _severity(cand.groups, config)))
                break
        else:
            rest.append((snap, named))

    new: list[NewCandidate] = []
    taken: set[str] = set()
    for index, (seed, seed_named) in enumerate(rest):
        if seed.group_key in taken:
            continue
        members, shared = [seed], dict(seed_named)
        for snap, named in rest[index + 1:]:
            if snap.group_key in taken or snap.started_at - seed.started_at > window:
                continue
            if related(shared, named):
                members.append(snap)
                shared.update(named)  # they agree on the names in both: the union is consistent
        if len(members) >= config.min_groups:
            taken.update(m.group_key for m in members)
            new.append(NewCandidate(_key(shared, seed.started_at), shared, seed.started_at,
                                    candidate_title(shared, members), _severity(members, config),
                                    tuple(members)))
    return Plan(new=new, joins=joins)


def expiry_reason(cand: Candidate, firing: set[str], now: datetime, expire_after_s: float | None) -> str | None:
    """Why the proposed ``cand`` expires at ``now`` (the database's clock), or None: none of
    its groups is in ``firing`` (the keys of the groups that fire now, silenced ones
    included), or it was proposed ``expire_after_s`` ago or more."""
    if not any(g.group_key in firing for g in cand.groups):
        return "its alert groups stopped firing"
    if expire_after_s is not None and now - cand.proposed_at >= timedelta(seconds=expire_after_s):
        return f"nobody accepted or dismissed it within {format_duration_ms(int(expire_after_s * 1000))}"
    return None


class Correlator:
    """Proposes incident candidates from ``groups`` (the alerting stage's firing groups,
    :func:`vigil.oncall.lifecycle.firing_groups`), on the primary."""

    def __init__(self, store: CandidateStore, config: Callable[[], CorrelationConfig],
                 groups: Callable[[], list[FiringGroup]], *, service: IncidentService | None = None,
                 default_priority: Callable[[], str] = lambda: "P3",
                 is_primary: Callable[[], bool] = lambda: True, interval_s: float = 5.0) -> None:
        self.store = store
        self.service = service  # declares accepted candidates (None: accepting is refused)
        self.config = config
        self.groups = groups
        self.default_priority = default_priority
        self.is_primary = is_primary
        self.interval_s = interval_s

    def observe(self) -> list[Candidate]:
        """One pass: record new candidates and groups joining proposed ones. Returns the
        candidates created or grown."""
        config = self.config()
        if not config.enabled:
            return []
        groups = [g for g in self.groups() if g.alerts]
        self._expire(groups, config)
        if not groups:
            return []
        default = self.default_priority()
        since = min(min(a.starts_at for a in g.alerts) for g in groups) - timedelta(seconds=config.window)
        changed = self.store.record(since, lambda state: plan(state, groups, config, default))
        for cand in changed:
            log.info("incident candidate %s (%s): %d alert groups", cand.id, cand.title, len(cand.groups))
        return changed

    def expire(self) -> list[Candidate]:
        """Expire the proposed candidates :func:`expiry_reason` names (when correlation is
        enabled: turned off, what was recorded stays as it is). Returns those expired now."""
        config = self.config()
        return self._expire([g for g in self.groups() if g.alerts], config) if config.enabled else []

    def _expire(self, groups: Sequence[FiringGroup], config: CorrelationConfig) -> list[Candidate]:
        firing = {g.key for g in groups}
        expired = self.store.expire(lambda now, proposed: [
            (c.id, reason) for c in proposed
            if (reason := expiry_reason(c, firing, now, config.expire_after)) is not None])
        for cand in expired:
            log.info("incident candidate %s (%s) expired: %s", cand.id, cand.title, cand.reason)
        return expired

    def accept(self, candidate_id: str, *, actor: str, via: str, title: str | None = None,
               severity: int | None = None, commander: str | None = None,
               summary: str = "") -> tuple[Candidate, Incident]:
        """Declare the incident of a candidate (its suggested title and severity unless
        given), attaching its groups that still fire; the incident starts at the window
        start. Accepting again returns the same incident: the declaration's origin key is
        the candidate's. A dismissed or expired candidate is refused (conflict, with why)."""
        if self.service is None:
            raise IncidentError("this Vigil declares no incidents", "conflict")
        cand = self.store.get(candidate_id)
        if cand.state == "dismissed":
            raise IncidentError(f"incident candidate {candidate_id} was dismissed by {cand.decided_by}: "
                                f"{cand.reason}", "conflict")
        if cand.state == "expired":
            when = cand.decided_at.isoformat(timespec="seconds").replace("+00:00", "Z") if cand.decided_at else "?"
            raise IncidentError(f"incident candidate {candidate_id} expired at {when}: {cand.reason}; "
                                "declare an incident by hand if the outage goes on", "conflict")
        if cand.state == "accepted" and cand.incident_id is not None:
            return cand, self.service.store.get(cand.incident_id)
        firing = {g.key for g in self.service.groups()}
        inc = self.service.declare(
            title=title or cand.title, severity=cand.severity if severity is None else severity, actor=actor,
            via=via, summary=summary, commander=commander, source="candidate", origin_key=cand.origin_key,
            group_keys=[g.group_key for g in cand.groups if g.group_key in firing],
            started_at=cand.window_start)
        return self.store.mark_accepted(cand.id, inc.id, actor=actor, via=via), inc

    def dismiss(self, candidate_id: str, *, actor: str, via: str, reason: str) -> Candidate:
        """Dismiss a proposed candidate with a reason (see :meth:`CandidateStore.dismiss`)."""
        return self.store.dismiss(candidate_id, actor=actor, via=via, reason=reason)

    async def run(self) -> None:
        """Observe about every ``interval_s`` while primary."""
        await run_while_primary(self.observe, interval_s=self.interval_s, is_primary=self.is_primary,
                                log=log, failed="proposing incident candidates failed")

