"""The checks Vigil makes itself on a shift's checklist, each returning a status and the
evidence a person can read: which query or record it looked at, when, and what came back.

* PromQL checks (critical services, backups, certificates, scheduled jobs, replication,
  monitoring, or any ``check: promql``) run an instant query through Vigil's engine at the
  database's time. ``ok``: at least one series and every value meets ``ok_when``;
  ``failed``: some series does not; ``error``: the query failed or returned nothing (Vigil
  cannot vouch for what it cannot see, so a person must look).
* Alert checks read the alert episodes in the state database: ``unacknowledged_alerts``
  (unresolved and never acknowledged) and ``open_alerts`` (unresolved) of the priorities
  given; ``ok`` when there are none.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from vigil.config.shifts import ALERT_CHECKS, parse_condition
from vigil.errors import ParseError, QueryError
from vigil.promql.value import QueryResult, Scalar, Vector
from vigil.state.lifecycle_store import Episode

__all__ = ["EVIDENCE_SERIES_LIMIT", "CheckOutcome", "ShiftChecker"]

EVIDENCE_SERIES_LIMIT = 50  # series kept in the evidence (failing ones first); the count is always whole
_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

CheckOutcome = tuple[str, dict[str, Any]]  # (ok | failed | error, evidence)


class InstantQueries(Protocol):
    def instant_query(self, query: str, ts_ms: int) -> QueryResult: ...


class UnresolvedEpisodes(Protocol):
    def episodes(self, *, unresolved_only: bool = True, limit: int = 500) -> list[Episode]: ...


class ShiftChecker:
    """Runs one item's check: ``run(kind, spec, at)``."""

    def __init__(self, engine: InstantQueries, episodes: UnresolvedEpisodes) -> None:
        self.engine = engine
        self.episodes = episodes

    def run(self, kind: str, spec: dict[str, Any], at: datetime) -> CheckOutcome:
        if kind in ALERT_CHECKS:
            return self._alerts(kind, list(spec.get("priorities") or ()), at)
        return self._promql(str(spec.get("query") or ""), str(spec.get("ok_when") or ""), at)

    def _promql(self, query: str, ok_when: str, at: datetime) -> CheckOutcome:
        evidence: dict[str, Any] = {"source": "promql", "query": query, "ok_when": ok_when, "at": at.isoformat()}
        try:
            op, threshold = parse_condition(ok_when)
            result = self.engine.instant_query(query, int(at.timestamp() * 1000))
        except (ParseError, QueryError, ValueError) as exc:
            evidence["error"] = str(exc)
            return "error", evidence
        value = result.value
        if isinstance(value, Scalar):
            rows = [({}, value.value)]
        elif isinstance(value, Vector):
            rows = [(s.labels.to_dict(), s.value) for s in value.samples]
        else:
            evidence["error"] = f"the query returns a {value.type}; a check needs an instant vector or a scalar"
            return "error", evidence
        judged = [{"labels": labels, "value": v, "ok": not math.isnan(v) and _OPS[op](v, threshold)}
                  for labels, v in rows]
        judged.sort(key=lambda r: (r["ok"], sorted(r["labels"].items())))  # failing first
        failing = sum(1 for r in judged if not r["ok"])
        evidence.update(series_count=len(judged), failing=failing,
                        series=[{**r, "value": _json_number(r["value"])} for r in judged[:EVIDENCE_SERIES_LIMIT]])
        if not judged:
            evidence["error"] = "no data: the query returned no series, so nothing could be verified"
            return "error", evidence
        return ("failed" if failing else "ok"), evidence

    def _alerts(self, kind: str, priorities: list[str], at: datetime) -> CheckOutcome:
        unacknowledged_only = kind == "unacknowledged_alerts"
        found = [e for e in self.episodes.episodes(unresolved_only=True, limit=100_000)
                 if e.priority in priorities and (not unacknowledged_only or e.first_acknowledged_at is None)]
        found.sort(key=lambda e: (e.priority, e.opened_at))
        what = "unresolved and never acknowledged" if unacknowledged_only else "unresolved"
        evidence: dict[str, Any] = {
            "source": "alert episodes (state database)",
            "filter": f"{what}, priority in {', '.join(priorities)}", "at": at.isoformat(),
            "count": len(found),
            "episodes": [{"id": e.id, "priority": e.priority, "state": e.state, "labels": e.group_labels,
                          "opened_at": e.opened_at.isoformat()} for e in found[:EVIDENCE_SERIES_LIMIT]]}
        return ("failed" if found else "ok"), evidence


def _json_number(v: float) -> float | str:
    # JSON has no NaN/Inf: keep Prometheus's spelling of them.
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v
