"""Checking what people give the incident service: a severity, a text, a list of names;
and the default title of an incident from an alert group. Bad input raises
:class:`IncidentError` ("invalid") naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vigil.state.incident_store import IncidentError

__all__ = ["checked_names", "checked_text", "group_title", "severity_level"]


def group_title(labels: dict[str, str]) -> str:
    """"<alertname> on <other labels>" (the default title of an incident from a group)."""
    name = labels.get("alertname", "")
    rest = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")
    if name and rest:
        return f"{name} on {rest}"
    return name or rest or "alert group"


def severity_level(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise IncidentError(f"severity must be 1..4 (SEV-1 is the worst), not {value!r}", "invalid")
    return value


def checked_text(value: Any, name: str, *, required: bool = False, limit: int = 20_000) -> str:
    if not isinstance(value, str):
        raise IncidentError(f"{name} must be text, not {type(value).__name__}", "invalid")
    value = value.strip()
    if required and not value:
        raise IncidentError(f"{name} must not be empty", "invalid")
    if len(value) > limit:
        raise IncidentError(f"{name} is longer than {limit} characters", "invalid")
    return value


def checked_names(values: Sequence[Any], name: str) -> list[str]:
    out = [checked_text(v, f"{name}[{i}]", required=True, limit=256) for i, v in enumerate(values)]
    return list(dict.fromkeys(out))
