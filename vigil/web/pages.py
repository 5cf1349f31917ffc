"""View models for the UI pages: plain data the templates iterate over."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from vigil.collect.target import TargetStatus
from vigil.gocompat.durations import parse_duration_ms
from vigil.rules.status import ActiveAlert

__all__ = ["AlertGroup", "TargetPool", "alert_groups", "live_refresh_seconds", "parse_range",
           "severity_class", "target_pools"]

_SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2, "info": 3}


def severity_class(severity: str) -> str:
    """CSS class for a ``severity`` label value."""
    s = severity.lower()
    if s in ("critical", "page", "error", "p1"):
        return "sev-critical"
    if s in ("warning", "warn", "p2"):
        return "sev-warning"
    if s in ("info", "p3", "p4"):
        return "sev-info"
    return "sev-none"


@dataclass(frozen=True)
class AlertGroup:
    name: str  # the alertname
    alerts: tuple[ActiveAlert, ...]
    firing: int
    pending: int
    severity: str  # most severe severity label in the group


def _sort_key(a: ActiveAlert) -> tuple[int, int, datetime]:
    active = a.active_at if a.active_at.tzinfo else a.active_at.replace(tzinfo=timezone.utc)
    return (0 if a.state == "firing" else 1,
            _SEVERITY_ORDER.get(a.labels.get("severity").lower(), 9), active)


def alert_groups(alerts: list[ActiveAlert]) -> list[AlertGroup]:
    """Alerts grouped by alertname: groups with firing alerts first, then by severity."""
    by_name: dict[str, list[ActiveAlert]] = {}
    for a in alerts:
        by_name.setdefault(a.labels.get("alertname", "(no alertname)"), []).append(a)
    groups = []
    for name, members in by_name.items():
        members.sort(key=_sort_key)
        groups.append(AlertGroup(
            name=name, alerts=tuple(members),
            firing=sum(a.state == "firing" for a in members),
            pending=sum(a.state == "pending" for a in members),
            severity=members[0].labels.get("severity")))
    groups.sort(key=lambda g: (0 if g.firing else 1, _SEVERITY_ORDER.get(g.severity, 9), g.name))
    return groups


@dataclass(frozen=True)
class TargetPool:
    job: str
    targets: tuple[TargetStatus, ...]
    up: int


def target_pools(targets: list[TargetStatus]) -> list[TargetPool]:
    """Targets grouped by job (sorted), in the order the retriever gave them."""
    by_job: dict[str, list[TargetStatus]] = {}
    for t in targets:
        by_job.setdefault(t.job, []).append(t)
    return [TargetPool(job, tuple(ts), sum(t.health == "up" for t in ts))
            for job, ts in sorted(by_job.items())]


def parse_range(text: str) -> int:
    """The graph range (``1h``, ``30m``, or seconds) in ms; ValueError if not positive."""
    try:
        ms = round(float(text) * 1000) if text.replace(".", "", 1).isdigit() \
            else parse_duration_ms(text)
    except ValueError:
        raise ValueError(f'invalid range "{text}": use a duration such as 1h or 30m') from None
    if ms <= 0:
        raise ValueError(f'invalid range "{text}": must be positive')
    return ms


# Live pages (alerts, targets, rules) refresh their tables this often unless the URL says
# otherwise (``?refresh=30``, ``?refresh=off``); never more often than every 2 s.
LIVE_REFRESH_S = 10


def live_refresh_seconds(params: Mapping[str, str]) -> int:
    """Seconds between a live page's refreshes from its ``refresh`` URL parameter; 0: off."""
    text = params.get("refresh", "").strip().lower()
    if text in ("off", "0", "false"):
        return 0
    try:
        return max(2, min(3600, round(float(text)))) if text else LIVE_REFRESH_S
    except ValueError:
        return LIVE_REFRESH_S
