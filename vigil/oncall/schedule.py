"""On-call schedules: layers of rotations, restrictions and overrides, rendered to a timeline.

Pure computation, no I/O: the caller supplies the schedule (from the config) and the
overrides (from the state database) and asks who is on call at an instant
(:func:`on_call`) or for the final timeline over a range (:func:`shifts`).

Rules (PagerDuty's):

* Layers are listed top to bottom as in PagerDuty's UI; the **last** layer in the list is the
  "lowest" one and has precedence: at any instant the on-call is the user of the last layer
  that has someone then. An override wins over every layer; of overlapping overrides the one
  given last wins.
* A layer's rotation hands over at a local wall-clock time in the layer's time zone. Turns
  are counted in local wall time: a ``1d`` turn hands over at the same local hour every day
  (so a turn spanning a DST change lasts 23 h or 25 h), ``1w`` is 7 calendar days, ``12h``
  hands over at the hand-over time and 12 wall-clock hours later.
* A wall time that does not exist (skipped by a spring-forward change) moves to the first
  instant after the gap (02:30 on 2026-03-29 in Europe/Berlin is 03:00 CEST); a wall time
  that happens twice (fall-back) means the first of the two.
* Restrictions limit a layer to local windows (daily, or weekly from weekday+time to
  weekday+time); outside them the layer has nobody, and the rotation keeps turning.
* Where nobody is on call the timeline has an explicit gap (``user`` is ``None``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Layer", "OnCall", "Override", "Restriction", "Schedule", "Shift", "Source",
           "local_to_utc", "on_call", "shifts"]

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# on_call looks this far ahead at most for the end of the current shift.
UNTIL_HORIZON = timedelta(days=366)


@dataclass(frozen=True)
class Restriction:
    """A window in local wall time, repeated every day (``kind="daily"``, minutes since
    local midnight, end up to 1440) or every week (``kind="weekly"``, minutes since Monday
    00:00, end up to 7*1440). ``start < end``; a window across midnight or across the week's
    end is written as two windows."""

    kind: str
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        period = MINUTES_PER_DAY if self.kind == "daily" else MINUTES_PER_WEEK
        if self.kind not in ("daily", "weekly"):
            raise ValueError(f"restriction kind must be daily or weekly, not {self.kind!r}")
        if not 0 <= self.start_minute < self.end_minute <= period:
            raise ValueError("restriction must end after it starts, within one "
                             + ("day" if self.kind == "daily" else "week (Monday first)"))


@dataclass(frozen=True)
class Layer:
    """A rotation: ``users`` take turns of ``turn`` (wall-clock length, at least one
    minute), the first turn starting on ``start`` at ``handoff`` local time in
    ``time_zone`` (``None``: the schedule's)."""

    name: str
    users: tuple[str, ...]
    turn: timedelta
    start: date
    handoff: time = time(0, 0)
    time_zone: str | None = None
    restrictions: tuple[Restriction, ...] = ()

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError(f"layer {self.name!r} has no users")
        if self.turn < timedelta(minutes=1):
            raise ValueError(f"layer {self.name!r}: turn must be at least one minute")


@dataclass(frozen=True)
class Schedule:
    name: str
    time_zone: str = "UTC"
    layers: tuple[Layer, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Override:
    """``user`` covers ``[start, end)`` (aware datetimes); ``ident`` names it in the
    timeline (the database id, or a swap's)."""

    user: str
    start: datetime
    end: datetime
    ident: str = ""


@dataclass(frozen=True)
class Source:
    """Where a stretch of the timeline comes from: ``kind`` is ``layer``, ``override`` or
    ``gap``; ``name`` the layer's name or the override's ident; ``index`` the layer's
    position in the list (0 is the top)."""

    kind: str
    name: str = ""
    index: int = -1

    def __str__(self) -> str:
        return self.kind if self.kind == "gap" else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Shift:
    user: str | None
    start: datetime
    end: datetime
    source: Source


@dataclass(frozen=True)
class OnCall:
    """Who is on call at an instant, and until when (``None``: no change within a year)."""

    user: str | None
    until: datetime | None
    source: Source


def local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall time: skipped times move to the end of the gap,
    repeated times take the first occurrence."""
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)
    # In a gap: the instant where local wall time jumps past `wall`. The fold=1 reading uses
    # the offset after the change (an instant before the gap) and fold=0 the offset before
    # it (an instant after the gap); bisect between them to the second.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


@dataclass
class _Segment:
    start: datetime
    end: datetime
    user: str
    source: Source
    rank: int = field(default=0)


def _layer_zone(schedule: Schedule, layer: Layer) -> ZoneInfo:
    return ZoneInfo(layer.time_zone or schedule.time_zone)


def _turns(layer: Layer, zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    """The layer's rotation turns overlapping ``[start, end)``, clipped to it."""
    origin = datetime.combine(layer.start, layer.handoff)
    first_k = math.floor((start.astimezone(zone).replace(tzinfo=None) - origin) / layer.turn) - 1
    first_k = max(first_k, 0)
    out = []
    k = first_k
    while True:
        turn_start = local_to_utc(origin + k * layer.turn, zone)
        if turn_start >= end:
            break
        turn_end = local_to_utc(origin + (k + 1) * layer.turn, zone)
        lo, hi = max(turn_start, start), min(turn_end, end)
        if lo < hi:
            out.append((lo, hi, layer.users[k % len(layer.users)]))
        k += 1
    return out


def _windows(layer: Layer, zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The layer's restriction windows overlapping ``[start, end)`` (the whole range when it
    has none), sorted and merged."""
    if not layer.restrictions:
        return [(start, end)]
    first_day = start.astimezone(zone).date() - timedelta(days=8)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    raw = []
    for r in layer.restrictions:
        if r.kind == "daily":
            day, step = first_day, timedelta(days=1)
        else:
            day, step = first_day - timedelta(days=first_day.weekday()), timedelta(days=7)
        while day <= last_day:
            base = datetime.combine(day, time(0, 0))
            lo = local_to_utc(base + timedelta(minutes=r.start_minute), zone)
            hi = local_to_utc(base + timedelta(minutes=r.end_minute), zone)
            lo, hi = max(lo, start), min(hi, end)
            if lo < hi:
                raw.append((lo, hi))
            day += step
    raw.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in raw:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _layer_segments(schedule: Schedule, index: int, start: datetime, end: datetime) -> list[_Segment]:
    layer = schedule.layers[index]
    zone = _layer_zone(schedule, layer)
    source = Source("layer", layer.name, index)
    windows = _windows(layer, zone, start, end)
    out = []
    for t_lo, t_hi, user in _turns(layer, zone, start, end):
        for w_lo, w_hi in windows:
            lo, hi = max(t_lo, w_lo), min(t_hi, w_hi)
            if lo < hi:
                out.append(_Segment(lo, hi, user, source, rank=index))
    return out


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return at.astimezone(UTC)


def shifts(schedule: Schedule, start: datetime, end: datetime,
           overrides: list[Override] | tuple[Override, ...] = ()) -> list[Shift]:
    """The final timeline over ``[start, end)`` (aware datetimes; returned in UTC):
    consecutive shifts covering the whole range, merged where the same user continues from
    the same source, with gaps as ``user=None``."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    segments: list[_Segment] = []
    for index in range(len(schedule.layers)):
        segments.extend(_layer_segments(schedule, index, start, end))
    top = len(schedule.layers)
    for order, o in enumerate(overrides):
        lo, hi = max(_utc(o.start), start), min(_utc(o.end), end)
        if lo < hi:
            segments.append(_Segment(lo, hi, o.user, Source("override", o.ident), rank=top + order))
    cuts = sorted({start, end} | {s.start for s in segments} | {s.end for s in segments})
    # Sweep the cuts once: `active` holds the segments covering the current stretch (at most
    # one per layer and the overlapping overrides, so it stays small).
    segments.sort(key=lambda s: s.start)
    timeline: list[Shift] = []
    active: list[_Segment] = []
    pending = 0
    for lo, hi in itertools.pairwise(cuts):
        while pending < len(segments) and segments[pending].start <= lo:
            active.append(segments[pending])
            pending += 1
        active = [s for s in active if s.end > lo]
        covering = [s for s in active if s.end >= hi]
        if covering:
            best = max(covering, key=lambda s: s.rank)
            user, source = best.user, best.source
        else:
            user, source = None, Source("gap")
        if timeline and timeline[-1].user == user and timeline[-1].source == source:
            timeline[-1] = Shift(user, timeline[-1].start, hi, source)
        else:
            timeline.append(Shift(user, lo, hi, source))
    return timeline


def on_call(schedule: Schedule, at: datetime,
            overrides: list[Override] | tuple[Override, ...] = ()) -> OnCall:
    """Who is on call at ``at`` and until when the same user stays on call (across
    hand-overs between layers or overrides that keep the same person)."""
    at = _utc(at)
    horizon = timedelta(days=7)
    while True:
        timeline = shifts(schedule, at, at + horizon, overrides)
        current = timeline[0]
        until = None
        for s in timeline[1:]:
            if s.user != current.user:
                until = s.start
                break
        if until is not None:
            return OnCall(current.user, until, current.source)
        if horizon >= UNTIL_HORIZON:
            return OnCall(current.user, None, current.source)
        horizon = min(horizon * 4, UNTIL_HORIZON)
