"""Scheduled maintenance windows: the stretches of time a named time interval
(:mod:`vigil.model.timeinterval`, Alertmanager's ``time_intervals``) contains, so the status
page can publish the next ones.

An interval entry's day fields (weekdays, days of month, months, years) hold for a whole day
of its ``location``'s calendar, and its ``times`` are minutes of that day, so each local day
either has no window or the entry's time ranges (the whole day when it has none); they are
turned into UTC through the zone, and touching or overlapping windows of all entries merge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from vigil.model.timeinterval import TimeInterval

__all__ = ["windows"]

_DAY_MINUTES = 24 * 60


def _entry_windows(entry: TimeInterval, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    zone = entry.location
    days_only = dataclasses.replace(entry, times=())
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    out = []
    while day <= last:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        if days_only.contains(midnight + timedelta(hours=12)):
            for first, stop in entry.times or ((0, _DAY_MINUTES),):
                # Wall-clock arithmetic in the zone (same tzinfo), then to UTC: the window
                # follows the local clock across daylight-saving changes.
                w_start = (midnight + timedelta(minutes=first)).astimezone(timezone.utc)
                w_end = (midnight + timedelta(minutes=stop)).astimezone(timezone.utc)
                if w_end > start and w_start < end:
                    out.append((max(w_start, start), min(w_end, end)))
        day += timedelta(days=1)
    return out


def windows(intervals: Sequence[TimeInterval], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The windows, in UTC, in which any of ``intervals`` (the entries of one named
    interval) contains the time, between ``start`` and ``end`` (clipped to them), merged
    and in order."""
    spans = sorted(w for entry in intervals for w in _entry_windows(entry, start, end))
    merged: list[tuple[datetime, datetime]] = []
    for w_start, w_end in spans:
        if merged and w_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], w_end))
        else:
            merged.append((w_start, w_end))
    return merged
