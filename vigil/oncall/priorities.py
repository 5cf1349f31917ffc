"""The priority of an alert group and the runbooks its alerts name."""

from __future__ import annotations

from collections.abc import Iterable

from vigil.config.oncall import PRIORITIES
from vigil.model.alert import Alert

__all__ = ["group_priority", "group_runbooks"]

# Annotations that name the runbook procedure for an alert (the rule pack sets runbook_url).
_RUNBOOK_ANNOTATIONS = ("runbook_url", "runbook")


def group_priority(alerts: Iterable[Alert], default: str) -> str:
    """The most urgent ``priority`` label among ``alerts`` (P1 before P4); ``default`` when
    none of them carries a known one."""
    found = [a.labels.get("priority").upper() for a in alerts]
    known = [p for p in found if p in PRIORITIES]
    return min(known, key=PRIORITIES.index) if known else default


def group_runbooks(alerts: Iterable[Alert]) -> tuple[str, ...]:
    """The runbooks the alerts' annotations name, each once, in order."""
    seen: dict[str, None] = {}
    for alert in alerts:
        annotations = dict(alert.annotations)
        for name in _RUNBOOK_ANNOTATIONS:
            if annotations.get(name):
                seen.setdefault(annotations[name], None)
    return tuple(seen)
