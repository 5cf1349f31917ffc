"""Prometheus duration strings (``1h30m``, ``5m``, ``250ms``, ``0s``) as seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

_UNITS_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000,
             "m": 60_000, "s": 1000, "ms": 1}
_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]


def parse_duration_ms(text: str) -> int:
    """Milliseconds in a Prometheus duration. Units must appear largest first, each once."""
    if text == "0":
        return 0
    if not text:
        raise ValueError("empty duration string")
    pos, total, last = 0, 0, -1
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        unit = _ORDER.index(m.group(2))
        if unit <= last:
            raise ValueError(f'not a valid duration string: "{text}"')
        last = unit
        total += int(m.group(1)) * _UNITS_MS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ValueError(f'not a valid duration string: "{text}"')
    return total


def format_duration_ms(ms: int) -> str:
    """The shortest Prometheus spelling of a duration, e.g. ``90000`` -> ``1m30s``."""
    if ms == 0:
        return "0s"
    out = ""
    for unit in _ORDER:
        size = _UNITS_MS[unit]
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out


def _to_seconds(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s or 5m")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("duration must not be negative")
        return float(value)
    if isinstance(value, str):
        return parse_duration_ms(value.strip()) / 1000.0
    raise ValueError("expected a duration such as 30s or 5m")


Duration = Annotated[
    float,
    BeforeValidator(_to_seconds),
    PlainSerializer(lambda s: format_duration_ms(round(s * 1000)), return_type=str),
]
"""A duration in seconds, written in YAML as a Prometheus duration string."""


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    return seconds


PositiveDuration = Annotated[
    float,
    BeforeValidator(_to_seconds),
    AfterValidator(_positive),
    PlainSerializer(lambda s: format_duration_ms(round(s * 1000)), return_type=str),
]
"""A duration that must be > 0 (intervals, timeouts)."""
