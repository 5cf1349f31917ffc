"""Durations as Prometheus and Go read and write them.

* :func:`parse_duration_ms` - ``model.ParseDuration`` (prometheus/common): ``1y2w3d4h5m6s7ms``,
  units largest first and each at most once, a bare ``0``; a year is 365d, a week 7d. It
  rejects ``""``, a bare number other than 0, signs, fractions (``1.5d``), unknown units, units
  out of order (``1m1h``) and anything above Go's int64 nanoseconds (``294y``).
* :func:`format_duration_ms` - ``model.Duration.String``: ``0s``, ``1m30s``, ``2w``, ``90d``,
  ``23d1h``. Years and weeks are written only when they divide the duration exactly, so
  ``90d`` stays ``90d`` (not ``12w6d``); a negative duration gets a leading ``-``.
* :func:`parse_seconds_or_duration_ns` - the HTTP API's duration parameters (``step``,
  ``timeout``): float seconds first, then a Prometheus duration (web/api/v1 ``parseDuration``).

Vigil had four formatters and three parsers of these before they met here. They disagreed on:

* ``90d`` (and any whole number of days that is not whole weeks): the config serializer, the
  PromQL printer and the rule unit-test runner wrote ``12w6d``, as prometheus/common did before
  it started to write years and weeks only when exact; the web API wrote ``90d``; the status
  API's retention wrote the largest single unit that divides (``36h`` where Prometheus writes
  ``1d12h``). All now write what current Prometheus writes (``model.Duration.String``):
  Prometheus prints ranges, offsets and ``eval_time`` with it, its web API formats
  ``scrapeInterval``/``storageRetention``/flags with it, and promtool its test failures.
* Overflow: the config parser summed without a limit, the PromQL reader checked the total in
  milliseconds; ``model.ParseDuration`` checks every unit and the total in int64 nanoseconds,
  with the message ``duration out of range``. Every caller now gets that.
* Unknown units: only the PromQL reader said ``unknown unit "x" in duration "1x"``; the
  others said ``not a valid duration string``. Go says the former, now everywhere.
* The API's ``step``/``timeout``: ``1e400`` was taken as infinite seconds ("overflows
  int64"); ``strconv.ParseFloat`` reports a range error there, so Prometheus answers
  ``cannot parse "1e400" to a valid duration``, as Vigil now does.

Go's own ``time.Duration.String`` (``1h2m3.5s``) is not here: nothing Vigil writes is
spelled that way (Prometheus and Alertmanager print their durations as ``model.Duration``).

Callers that need more than Go's rules (a positive duration for ``amtool silence add
--duration``, a silence form, rule ``for:``) check the parsed value themselves.
"""

from __future__ import annotations

import math
import re

from vigil.gocompat.floats import parse_float
from vigil.gocompat.quote import quote

__all__ = [
    "format_duration_ms",
    "parse_duration_ms",
    "parse_seconds_or_duration_ns",
]

_MS_PER_DAY = 86_400_000
# model.ParseDuration's unitMap: (position in the required order, size in ms).
_UNITS = {"y": (1, 365 * _MS_PER_DAY), "w": (2, 7 * _MS_PER_DAY), "d": (3, _MS_PER_DAY),
          "h": (4, 3_600_000), "m": (5, 60_000), "s": (6, 1000), "ms": (7, 1)}
_NS_PER_MS = 1_000_000
_INT64_MAX = 2**63 - 1
_NUMBER_THEN_UNIT = re.compile(r"([0-9]*)([^0-9]*)")


def parse_duration_ms(text: str) -> int:
    """Prometheus ``model.ParseDuration``, in whole milliseconds (its smallest unit).

    Raises ValueError with Go's message: ``empty duration string``, ``not a valid duration
    string: "5m1h"``, ``unknown unit "x" in duration "1x"``, ``duration out of range``.
    """
    if text == "0":
        return 0
    if text == "":
        raise ValueError("empty duration string")
    invalid = f"not a valid duration string: {quote(text)}"
    total_ns = 0
    last_pos = 0
    pos = 0
    while pos < len(text):
        m = _NUMBER_THEN_UNIT.match(text, pos)
        assert m is not None  # the pattern matches the empty string
        digits, unit = m.group(1), m.group(2)
        if not digits or not unit:
            raise ValueError(invalid)
        pos = m.end()
        if unit not in _UNITS:
            raise ValueError(f"unknown unit {quote(unit)} in duration {quote(text)}")
        order, size_ms = _UNITS[unit]
        if order <= last_pos:  # largest unit first: "1m1d" is not 1 month and 1 day
            raise ValueError(invalid)
        last_pos = order
        value = int(digits)
        size_ns = size_ms * _NS_PER_MS
        if value > 2**63 // size_ns:
            raise ValueError("duration out of range")
        total_ns += value * size_ns
        if total_ns > _INT64_MAX:
            raise ValueError("duration out of range")
    return total_ns // _NS_PER_MS


def format_duration_ms(ms: int) -> str:
    """Prometheus ``model.Duration.String`` of a duration in milliseconds."""
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    out = []
    for unit, (_, size) in _UNITS.items():
        if unit in ("y", "w") and ms % size:
            continue  # "easier to read 90d than 12w6d"
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return sign + "".join(out)


def parse_seconds_or_duration_ns(text: str) -> int:
    """Prometheus's API duration parameter: float seconds (``15``, ``0.5``, ``1e3``) or a
    Prometheus duration (``5m``), as int nanoseconds; it may be zero or negative.

    Raises ValueError: ``cannot parse "x" to a valid duration`` and, for seconds beyond
    int64 nanoseconds, ``cannot parse "1e10" to a valid duration. It overflows int64``.
    """
    try:
        seconds = parse_float(text)
    except ValueError:
        pass  # not seconds (or out of float range): try a Prometheus duration
    else:
        ns = seconds * 1e9
        # Go compares with float64(MaxInt64), which is 2**63.
        if ns > float(_INT64_MAX) or ns < -float(2**63):
            raise ValueError(f"cannot parse {quote(text)} to a valid duration. It overflows int64")
        return 0 if math.isnan(ns) else int(ns)
    try:
        return parse_duration_ms(text) * _NS_PER_MS
    except ValueError:
        raise ValueError(f"cannot parse {quote(text)} to a valid duration") from None
