"""Which shift holds an instant, in the section's time zone: every instant belongs to one
shift, the last shift of a day runs into the next morning, and summer time moves the UTC
start of a 09:00 shift by the zone's offset."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from vigil.config.shifts import ShiftsConfig
from vigil.shifts.calendar import next_shift, previous_shift, shift_at

DUBLIN = ShiftsConfig(timezone="Europe/Dublin")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(("at", "shift_id", "starts", "ends"), [
    ("2026-12-07T08:59:59", "2026-12-06-end_of_day", "2026-12-06T18:00", "2026-12-07T09:00"),
    ("2026-12-07T09:00:00", "2026-12-07-morning", "2026-12-07T09:00", "2026-12-07T13:00"),
    ("2026-12-07T12:59:59", "2026-12-07-morning", "2026-12-07T09:00", "2026-12-07T13:00"),
    ("2026-12-07T13:00:00", "2026-12-07-midday", "2026-12-07T13:00", "2026-12-07T18:00"),
    ("2026-12-07T23:30:00", "2026-12-07-end_of_day", "2026-12-07T18:00", "2026-12-08T09:00"),
    # Irish summer time (UTC+1): the 09:00 shift starts at 08:00 UTC.
    ("2026-07-07T08:00:00", "2026-07-07-morning", "2026-07-07T08:00", "2026-07-07T12:00"),
    ("2026-07-07T07:59:00", "2026-07-06-end_of_day", "2026-07-06T17:00", "2026-07-07T08:00"),
])
def test_shift_at(at: str, shift_id: str, starts: str, ends: str) -> None:
    shift = shift_at(DUBLIN, utc(at))
    assert (shift.id, shift.starts_at, shift.ends_at) == (shift_id, utc(starts), utc(ends))


def test_next_and_previous_walk_the_days() -> None:
    evening = shift_at(DUBLIN, utc("2026-12-07T20:00:00"))
    assert next_shift(DUBLIN, evening).id == "2026-12-08-morning"
    assert next_shift(DUBLIN, evening).day == date(2026, 12, 8)
    morning = next_shift(DUBLIN, evening)
    assert previous_shift(DUBLIN, morning).id == evening.id
    assert previous_shift(DUBLIN, evening).id == "2026-12-07-midday"
