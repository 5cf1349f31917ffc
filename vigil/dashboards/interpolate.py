"""Variables in queries and titles: ``$name``, ``${name}``, ``${name:format}`` and the built-in
``$__interval``, ``$__interval_ms``, ``$__rate_interval``, ``$__range``, ``$__range_s``,
``$__range_ms`` — the one implementation the API, lint and the shipped-dashboards test use.

A variable's value is a string (a text variable, a single-valued list variable, or a custom
"All" value, inserted as is) or a list of strings (a multi-valued list variable, or "All"
expanded to every option). Without a format, a list becomes a regular expression matching
any of its values: ``(a|b\\\\.c)``, regex metacharacters escaped for use inside a
double-quoted PromQL string (``instance=~"$instance"``), as Grafana's Prometheus data source
does; Perses's other formats are below (:data:`FORMATS`).

The step of a panel and ``$__rate_interval`` follow Grafana and Perses:
``step = max(minStep or scrape interval, range / width in pixels, range / 11000)`` (whole
seconds, so Prometheus's 11,000 points per series is never exceeded) and
``$__rate_interval = max($__interval + scrape interval, 4 × scrape interval)``, where a
query's ``minStep`` stands in for the scrape interval when set: four samples per rate window,
and never a window shorter than the step (which would skip samples between points).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from vigil.gocompat.durations import format_duration_ms

__all__ = [
    "FORMATS", "MAX_POINTS", "InterpolationError", "TimeContext", "VariableValue",
    "builtin_values", "interpolate", "panel_step", "rate_interval", "referenced_variables",
    "regex_escape",
]

VariableValue = str | Sequence[str]
MAX_POINTS = 11000  # Prometheus refuses a range query with more points per series

# $name | ${name} | ${name:format}; names as Perses allows in dashboards (word characters).
_REFERENCE = re.compile(r"\$(?:\{(?P<braced>\w+)(?::(?P<format>[^}]*))?\}|(?P<plain>\w+))")
_REGEX_META = re.compile(r"[\\^$.|?*+()\[\]{}]")


class InterpolationError(ValueError):
    """A reference that cannot be expanded (an unknown ``:format``)."""


def regex_escape(value: str) -> str:
    """``value`` as a regex matching itself, written for a double-quoted PromQL string: each
    metacharacter gets a backslash, and that backslash (like any in the value) is doubled
    for the string literal; a double quote is escaped for the literal."""
    escaped = _REGEX_META.sub(lambda m: "\\\\" + ("\\\\" if m.group() == "\\" else m.group()),
                              value)
    return escaped.replace('"', '\\"')


def _as_list(value: VariableValue) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _default(value: VariableValue, name: str) -> str:
    if isinstance(value, str):
        return value
    escaped = [regex_escape(v) for v in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _regex(value: VariableValue, name: str) -> str:
    escaped = [regex_escape(v) for v in _as_list(value)]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _quoted(quote_char: str) -> Callable[[VariableValue, str], str]:
    def fmt(value: VariableValue, name: str) -> str:
        return ",".join(quote_char + v.replace("\\", "\\\\").replace(quote_char, "\\" + quote_char)
                        + quote_char for v in _as_list(value))
    return fmt


def _glob(value: VariableValue, name: str) -> str:
    values = _as_list(value)
    return values[0] if len(values) == 1 else "{" + ",".join(values) + "}"


def _distributed(value: VariableValue, name: str) -> str:
    values = _as_list(value)
    return ",".join(values[:1] + [f"{name}={v}" for v in values[1:]])


def _queryparam(value: VariableValue, name: str) -> str:
    return "&".join(f"var-{name}={quote(v, safe='')}" for v in _as_list(value))


FORMATS: dict[str, Callable[[VariableValue, str], str]] = {
    "csv": lambda v, n: ",".join(_as_list(v)),
    "raw": lambda v, n: ",".join(_as_list(v)),
    "pipe": lambda v, n: "|".join(_as_list(v)),
    "text": lambda v, n: " + ".join(_as_list(v)),
    "regex": _regex,
    "singlequote": _quoted("'"),
    "doublequote": _quoted('"'),
    "json": lambda v, n: json.dumps(_as_list(v) if not isinstance(v, str) else v),
    "glob": _glob,
    "distributed": _distributed,
    "percentencode": lambda v, n: ",".join(quote(x, safe="") for x in _as_list(v)),
    "queryparam": _queryparam,
}
"""``${name:format}`` formats (Perses's and Grafana's names) → value, variable name → text."""


def referenced_variables(text: str) -> list[tuple[str, str | None]]:
    """Every ``(name, format)`` referenced in ``text``, in order (built-ins included)."""
    found = []
    for m in _REFERENCE.finditer(text):
        name = m.group("braced") or m.group("plain")
        found.append((name, m.group("format")))
    return found


def interpolate(text: str, values: Mapping[str, VariableValue]) -> str:
    """``text`` with every reference to a name in ``values`` expanded; references to other
    names are left as written (lint reports them). Raises :class:`InterpolationError` on an
    unknown ``:format`` of a known variable."""

    def expand(m: re.Match[str]) -> str:
        name = m.group("braced") or m.group("plain")
        if name not in values:
            return m.group()
        fmt = m.group("format")
        if fmt is None or fmt == "":
            return _default(values[name], name)
        if fmt not in FORMATS:
            raise InterpolationError(f"unknown format {fmt!r} in {m.group()} (known: "
                                     f"{', '.join(sorted(FORMATS))})")
        return FORMATS[fmt](values[name], name)

    return _REFERENCE.sub(expand, text)


@dataclass(frozen=True)
class TimeContext:
    """The time range a dashboard is drawn for and what the step depends on."""

    start: float  # unix seconds
    end: float
    width_px: int = 1000
    scrape_interval: float = 15.0  # seconds; Vigil's global scrape interval


def panel_step(ctx: TimeContext, min_step: float | None = None, resolution: int = 1) -> float:
    """The query step in whole seconds for a panel ``ctx.width_px`` wide (one point per pixel,
    ``resolution`` pixels per point), never below ``min_step`` (else the scrape interval)
    and never more than :data:`MAX_POINTS` points."""
    range_s = max(ctx.end - ctx.start, 0.0)
    floor = min_step if min_step else ctx.scrape_interval
    by_width = range_s * max(resolution, 1) / max(ctx.width_px, 1)
    step = max(floor, by_width, range_s / MAX_POINTS, 1.0)
    return float(math.ceil(step))


def rate_interval(step: float, scrape_interval: float) -> float:
    """``$__rate_interval`` in seconds: ``max(step + scrape, 4 × scrape)``."""
    return max(step + scrape_interval, 4 * scrape_interval)


def _duration(seconds: float) -> str:
    return format_duration_ms(max(round(seconds * 1000), 1))


def builtin_values(ctx: TimeContext, step: float, min_step: float | None = None) -> dict[str, str]:
    """The ``$__`` variables for one query drawn at ``step`` over ``ctx``'s range."""
    range_s = max(ctx.end - ctx.start, 0.0)
    scrape = min_step if min_step else ctx.scrape_interval
    return {
        "__interval": _duration(step),
        "__interval_ms": str(round(step * 1000)),
        "__rate_interval": _duration(rate_interval(step, scrape)),
        "__range": _duration(range_s),
        "__range_s": str(round(range_s)),
        "__range_ms": str(round(range_s * 1000)),
    }
