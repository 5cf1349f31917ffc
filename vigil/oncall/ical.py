"""iCalendar (RFC 5545) feeds of on-call shifts, for calendar clients to subscribe to.

One event per shift of the rendered timeline (overrides and swaps included); a schedule's
feed also has its gaps, as "nobody on call" events, so a hole in the rota shows in the
calendar. Times are UTC (``DTSTART:20260501T070000Z``), which every client converts to the
reader's zone.

The range is aligned to a fixed 28-day grid: a feed covers the grid periods from about six
weeks back to about three months ahead, so the first and last shifts, cut at the range's
edges, keep the same start between fetches. An event's ``UID`` is derived from the
schedule, the user and the shift's start (and the source: layer or override), so a client
refreshing the feed updates the same events instead of adding copies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from vigil.oncall.schedule import Shift

__all__ = ["feed_range", "shifts_calendar"]

GRID = timedelta(days=28)
EPOCH = datetime(2020, 1, 6, tzinfo=UTC)  # a Monday: grid periods start on Mondays
PAST, FUTURE = timedelta(days=42), timedelta(days=90)
PRODID = "-//Vigil//On-call schedules//EN"


def feed_range(now: datetime) -> tuple[datetime, datetime]:
    """The range a feed fetched at ``now`` covers: grid-aligned, so it moves in 28-day
    steps and events at its edges keep their start between fetches."""
    def floor(t: datetime) -> datetime:
        return EPOCH + ((t - EPOCH) // GRID) * GRID
    return floor(now - PAST), floor(now + FUTURE) + GRID


def _uid(schedule: str, shift: Shift, host: str) -> str:
    key = f"{schedule}\0{shift.user or ''}\0{shift.source}\0{shift.start.astimezone(UTC).isoformat()}"
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@{host}"


def shifts_calendar(name: str, entries: Iterable[tuple[str, Shift]], *, now: datetime,
                    host: str = "vigil", url: str = "") -> bytes:
    """A VCALENDAR named ``name`` with one VEVENT per (schedule name, shift); shifts with
    nobody on call become "Nobody on call" events. ``host`` ends every UID; ``url`` (the
    page of the schedule) is set on each event when given."""
    from icalendar import Calendar, Event  # here: only a calendar feed needs the library

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    # Clients that honour it re-fetch every 15 minutes (overrides change the rota).
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", timedelta(minutes=15))
    for schedule, shift in entries:
        event = Event()
        event.add("uid", _uid(schedule, shift, host))
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        who = shift.user or "Nobody"
        event.add("summary", f"{who} on call ({schedule})" if shift.user else f"Nobody on call ({schedule})")
        event.add("description", f"{who} is on call for schedule {schedule}, from {shift.source}."
                  if shift.user else f"Gap in schedule {schedule}: nobody is on call.")
        event.add("categories", ["on-call" if shift.user else "gap"])
        event.add("transp", "TRANSPARENT")
        if url:
            event.add("url", url)
        cal.add_component(event)
    return cal.to_ical()
