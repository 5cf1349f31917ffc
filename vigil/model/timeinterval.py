"""Time intervals: named recurring windows of wall-clock time (Alertmanager's
``time_intervals``), used by routes to mute notifications (``mute_time_intervals``) or to
allow them only inside a window (``active_time_intervals``), and so to express recurring
maintenance windows (A2) such as "Sundays 02:00-04:00 UTC" or "the first Saturday of the
month 06:00-10:00 UTC" (weekday saturday and days_of_month 1:7).

A :class:`TimeInterval` holds the parsed fields of one entry; every field that is set must
contain the instant (AND); a named interval is a list of entries of which any may contain it
(OR). The instant is converted to ``location`` (an IANA zone, UTC by default) first, so the
window follows the zone's wall clock across DST changes. Time ranges are half-open
``[start, end)`` in minutes of the day; the other ranges are inclusive.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["TimeInterval", "TimeIntervalError", "compile_interval", "contains_any", "parse_intervals"]

_WEEKDAYS = {name: i for i, name in enumerate(
    ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"])}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_TIME = re.compile(r"^(\d\d):(\d\d)$")


class TimeIntervalError(ValueError):
    """An invalid time interval field; ``path`` locates it below the interval entry."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class TimeInterval:
    """One parsed entry. Ranges are inclusive pairs except ``times``, which are minutes of
    the day as half-open ``[start, end)``. An empty field does not constrain."""

    times: tuple[tuple[int, int], ...] = ()
    weekdays: tuple[tuple[int, int], ...] = ()  # 0 = Sunday
    days_of_month: tuple[tuple[int, int], ...] = ()  # negative counts from the month's end
    months: tuple[tuple[int, int], ...] = ()  # 1 = January
    years: tuple[tuple[int, int], ...] = ()
    location: tzinfo = timezone.utc

    def contains(self, when: datetime) -> bool:
        """Whether the aware datetime ``when`` falls inside this interval."""
        t = when.astimezone(self.location)
        if self.times:
            minute = t.hour * 60 + t.minute
            if not any(start <= minute < end for start, end in self.times):
                return False
        if self.days_of_month and not self._day_of_month_ok(t):
            return False
        if self.weekdays:
            weekday = (t.weekday() + 1) % 7  # Python's Monday=0 to Sunday=0
            if not any(b <= weekday <= e for b, e in self.weekdays):
                return False
        if self.months and not any(b <= t.month <= e for b, e in self.months):
            return False
        return not self.years or any(b <= t.year <= e for b, e in self.years)

    def _day_of_month_ok(self, t: datetime) -> bool:
        days = calendar.monthrange(t.year, t.month)[1]
        for begin, end in self.days_of_month:
            b = days + begin + 1 if begin < 0 else begin
            e = days + end + 1 if end < 0 else end
            if b > days:  # e.g. 31 in a 30-day month: this range is empty
                continue
            if max(b, 1) <= t.day <= min(e, days):
                return True
        return False


def contains_any(intervals: Iterable[TimeInterval], when: datetime) -> bool:
    return any(i.contains(when) for i in intervals)


def _items(value: object, field: str) -> list[str]:
    if not isinstance(value, list):
        raise TimeIntervalError(f"{field} must be a list", (field,))
    return [_unsexagesimal(v) if isinstance(v, int) and field in ("days_of_month", "months")
            else str(v).strip().lower() for v in value]


def _unsexagesimal(value: int) -> str:
    """YAML 1.1 (PyYAML) reads an unquoted ``1:7`` as the base-60 integer 67, where
    Alertmanager's Go YAML reads the string. No valid day or month is 60 or more, so such a
    number can only have been a range: turn it back into one."""
    return f"{value // 60}:{value % 60}" if value >= 60 else str(value)


def _ranges(values: Sequence[str], field: str, parse_one, lo: int, hi: int,
            *, allow_negative: bool = False) -> tuple[tuple[int, int], ...]:
    out = []
    for i, text in enumerate(values):
        try:
            begin_s, sep, end_s = text.partition(":")
            begin = parse_one(begin_s)
            end = parse_one(end_s) if sep else begin
            for v in (begin, end):
                if not (lo <= v <= hi or allow_negative and -hi <= v <= -lo):
                    raise ValueError(f"{v} is out of range")
            if (begin < 0) == (end < 0) and end < begin:
                raise ValueError("end of range must not be before its start")
            if begin < 0 <= end:
                raise ValueError("a range may not start from the month's end and end from its start")
        except ValueError as exc:
            raise TimeIntervalError(f"invalid {field} {text!r}: {exc}", (field, i)) from None
        out.append((begin, end))
    return tuple(out)


def _number(text: str) -> int:
    if not re.fullmatch(r"-?\d+", text.strip()):
        raise ValueError(f"{text!r} is not a number")
    return int(text)


def _named(names: Mapping[str, int]):
    def parse(text: str) -> int:
        if text in names:
            return names[text]
        if names is _MONTHS:
            return _number(text)
        raise ValueError(f"{text!r} is not a day of the week")
    return parse


def _minutes(text: object, field: str) -> int:
    if isinstance(text, int) and not isinstance(text, bool):
        # An unquoted 17:00 is the base-60 integer 1020 in YAML 1.1: exactly the minutes.
        text = f"{text // 60:02d}:{text % 60:02d}"
    m = _TIME.match(str(text))
    if not m or int(m.group(2)) > 59 or int(m.group(1)) * 60 + int(m.group(2)) > 24 * 60:
        raise TimeIntervalError(f"{field} {text!r} must be HH:MM between 00:00 and 24:00", (field,))
    return int(m.group(1)) * 60 + int(m.group(2))


def compile_interval(spec: Mapping[str, object]) -> TimeInterval:
    """Parse one entry (as written in YAML: ``times``, ``weekdays``, ``days_of_month``,
    ``months``, ``years``, ``location``). Raises :class:`TimeIntervalError` with the path of
    the bad field."""
    unknown = set(spec) - {"times", "weekdays", "days_of_month", "months", "years", "location"}
    if unknown:
        name = sorted(unknown)[0]
        raise TimeIntervalError("unknown field", (name,))
    times = []
    for i, tr in enumerate(spec.get("times") or []):
        if not isinstance(tr, Mapping) or set(tr) != {"start_time", "end_time"}:
            raise TimeIntervalError("each time range needs start_time and end_time", ("times", i))
        try:
            start, end = _minutes(tr["start_time"], "start_time"), _minutes(tr["end_time"], "end_time")
        except TimeIntervalError as exc:
            raise TimeIntervalError(str(exc), ("times", i, *exc.path)) from None
        if end <= start:
            raise TimeIntervalError("start_time must be before end_time", ("times", i))
        times.append((start, end))
    location: tzinfo = timezone.utc
    loc = spec.get("location")
    if loc not in (None, "", "UTC", "Local"):
        try:
            location = ZoneInfo(str(loc))
        except (ZoneInfoNotFoundError, ValueError):
            raise TimeIntervalError(f"unknown time zone {loc!r}", ("location",)) from None
    return TimeInterval(
        times=tuple(times),
        weekdays=_ranges(_items(spec.get("weekdays") or [], "weekdays"), "weekdays",
                         _named(_WEEKDAYS), 0, 6),
        days_of_month=_ranges(_items(spec.get("days_of_month") or [], "days_of_month"),
                              "days_of_month", _number, 1, 31, allow_negative=True),
        months=_ranges(_items(spec.get("months") or [], "months"), "months", _named(_MONTHS), 1, 12),
        years=_ranges(_items(spec.get("years") or [], "years"), "years", _number, 0, 9999),
        location=location,
    )


def parse_intervals(named: Mapping[str, Sequence[Mapping[str, object]]]) -> dict[str, list[TimeInterval]]:
    """``{name: [entry, ...]}`` parsed; errors carry ``(name, index, field...)``."""
    out: dict[str, list[TimeInterval]] = {}
    for name, entries in named.items():
        parsed = []
        for i, entry in enumerate(entries):
            try:
                parsed.append(compile_interval(entry))
            except TimeIntervalError as exc:
                raise TimeIntervalError(str(exc), (name, i, *exc.path)) from None
        out[name] = parsed
    return out
