"""The series notation of Prometheus's test scripts (``promql/promqltest/README.md`` upstream).

``metric{a="b"} 1+1x3 _ stale`` gives 1, 2, 3, 4, a gap and a staleness marker. A value
written ``{{...}}`` is a native histogram; a line whose metric ends in ``@st`` gives start
timestamps for the series on the next line. Vigil stores float samples only, so the runner
records which series hold such samples (:class:`SeriesLine`) instead of loading them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.model.labels import Labels
from vigil.promql.parser._literals import parse_duration_ms, parse_number
from vigil.promql.parser.parse import parse_expr
from vigil.storage.interface import STALE_NAN

__all__ = ["SeriesLine", "expand_values", "parse_load_line", "parse_series_desc", "parse_time_ms",
           "parse_value"]


@dataclass(frozen=True)
class SeriesLine:
    """One line of a ``load`` block. ``values``: one per step, None = no sample.
    ``histogram``: some value is a native histogram (then ``values`` is empty: nothing of
    the series is loaded). ``start_timestamps``: an ``@st`` line (start timestamps for the
    series on the next line; no samples of its own)."""

    labels: Labels
    values: list[float | None]
    histogram: bool = False
    start_timestamps: bool = False


def parse_load_line(line: str) -> SeriesLine:
    """Parse one series line of a ``load`` block (see :class:`SeriesLine`)."""
    head, rest = _split_metric(line.strip())
    if head.endswith("@st"):
        return SeriesLine(_parse_metric(head.removesuffix("@st")), [], start_timestamps=True)
    labels = _parse_metric(head)
    if "{{" in rest:
        return SeriesLine(labels, [], histogram=True)
    return SeriesLine(labels, expand_values(rest))


def parse_series_desc(line: str) -> tuple[Labels, list[float | None]]:
    """``metric{a="b"} 1+1x3 _ stale`` -> labels and values (None = no sample). Raises
    ValueError for native histogram values, which have no float form."""
    head, rest = _split_metric(line.strip())
    if "{{" in rest:
        raise ValueError(f"native histogram values are not supported: {line.strip()!r}")
    return _parse_metric(head), expand_values(rest)


def _split_metric(line: str) -> tuple[str, str]:
    """Split at the first blank outside braces and quotes: ``m{a="x y"} 1 2`` -> metric, values."""
    depth = 0
    quoted = False
    i = 0
    while i < len(line):
        ch = line[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch in " \t" and depth == 0:
            return line[:i], line[i:].strip()
        i += 1
    return line, ""


def _parse_metric(text: str) -> Labels:
    if text.strip() in ("{}", ""):
        return Labels()
    expr = parse_expr(text)
    return Labels({m.name: m.value for m in getattr(expr, "matchers", [])})


def expand_values(text: str) -> list[float | None]:
    """``1+1x3 _ stale 5x2`` -> [1, 2, 3, 4, None, STALE_NAN, 5, 5, 5] (None = no sample)."""
    out: list[float | None] = []
    for item in text.split():
        if item == "_":
            out.append(None)
            continue
        m = re.fullmatch(r"_x(\d+)", item)
        if m:
            out.extend([None] * int(m.group(1)))
            continue
        if item == "stale":
            out.append(STALE_NAN)
            continue
        m = re.fullmatch(r"([-+]?[^-+x]+(?:[eE][-+]?\d+)?)([-+][^x]+)x(\d+)", item)
        if m:
            cur, inc, n = parse_value(m.group(1)), parse_value(m.group(2)), int(m.group(3))
            out.append(cur)
            for _ in range(n):
                cur += inc
                out.append(cur)
            continue
        m = re.fullmatch(r"(.+)x(\d+)", item)
        if m:
            out.extend([parse_value(m.group(1))] * (int(m.group(2)) + 1))
            continue
        out.append(parse_value(item))
    return out


def parse_value(text: str) -> float:
    """One number as the scripts write it (``1e3``, ``0x1F``, ``-Inf``, ``NaN``, ``stale``)."""
    if text == "stale":
        return STALE_NAN
    if text.lower() in ("-inf", "+inf"):
        return float(text)
    return parse_number(text.lstrip("+"))


def parse_time_ms(text: str) -> int:
    """A script time: a duration from the epoch (``5m``) or seconds (``300``)."""
    text = text.strip()
    try:
        return parse_duration_ms(text)
    except ValueError:
        return round(float(text) * 1000)
