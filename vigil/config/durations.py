"""Configuration fields holding a duration: read from a Prometheus duration string (or a
number of seconds), kept as float seconds, written back as Prometheus writes it. The
spelling itself is :mod:`vigil.gocompat.durations`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from vigil.gocompat.durations import format_duration_ms, parse_duration_ms

__all__ = ["Duration", "PositiveDuration"]


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
