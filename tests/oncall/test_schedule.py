"""The schedule model: rotations across real DST changes, restrictions, overrides, the
lowest layer's precedence and explicit gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from vigil.oncall.schedule import (
    Layer,
    Override,
    Restriction,
    Schedule,
    Source,
    local_to_utc,
    on_call,
    shifts,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily(zone: str, start: date, handoff: time = time(9), users=("ann", "bob")) -> Schedule:
    return Schedule("s", zone, (Layer("primary", tuple(users), timedelta(days=1), start, handoff),))


def handover_local_times(schedule: Schedule, zone: ZoneInfo, lo: datetime, hi: datetime):
    return [s.start.astimezone(zone) for s in shifts(schedule, lo, hi)[1:]]


@pytest.mark.parametrize("zone, day", [
    ("Europe/Berlin", date(2026, 3, 29)),     # spring forward 02:00 -> 03:00
    ("Europe/Berlin", date(2026, 10, 25)),    # fall back 03:00 -> 02:00
    ("America/New_York", date(2026, 3, 8)),   # spring forward
    ("America/New_York", date(2026, 11, 1)),  # fall back
])
def test_daily_handover_stays_at_0900_local_across_dst(zone, day):
    tz = ZoneInfo(zone)
    schedule = daily(zone, date(2026, 1, 1))
    lo = datetime.combine(day - timedelta(days=2), time(12), tz)
    hi = datetime.combine(day + timedelta(days=2), time(12), tz)
    handovers = handover_local_times(schedule, tz, lo, hi)
    assert [h.time() for h in handovers] == [time(9)] * 4
    assert [h.date() for h in handovers] == [day + timedelta(days=d) for d in (-1, 0, 1, 2)]
    # The turn covering the change is 23 h (spring) or 25 h (fall), not 24 h.
    timeline = shifts(schedule, lo, hi)
    lengths = {s.start.astimezone(tz).date(): s.end - s.start for s in timeline[1:-1]}
    changed = lengths[day - timedelta(days=1)]
    assert changed == (timedelta(hours=23) if day.month == 3 else timedelta(hours=25))
    assert lengths[day] == timedelta(hours=24)


def test_week_turn_is_seven_calendar_days_not_168_hours():
    schedule = Schedule("s", "Europe/Berlin", (Layer("weekly", ("ann", "bob"), timedelta(weeks=1),
                                                     date(2026, 3, 23), time(9)),))
    timeline = shifts(schedule, datetime(2026, 3, 24, tzinfo=BERLIN), datetime(2026, 4, 8, tzinfo=BERLIN))
    starts = [s.start.astimezone(BERLIN) for s in timeline[1:]]
    assert starts == [datetime(2026, 3, 30, 9, tzinfo=BERLIN), datetime(2026, 4, 6, 9, tzinfo=BERLIN)]
    assert [s.user for s in timeline] == ["ann", "bob", "ann"]
    assert timeline[1].end - timeline[1].start == timedelta(hours=168)
    first_turn = starts[0].astimezone(UTC) - datetime(2026, 3, 23, 9, tzinfo=BERLIN).astimezone(UTC)
    assert first_turn == timedelta(hours=167)  # 7 local days across the spring change


def test_handover_in_the_spring_gap_moves_to_the_first_instant_after_it():
    assert local_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN) == utc(2026, 3, 29, 1, 0)
    assert local_to_utc(datetime(2026, 3, 8, 2, 30), NEW_YORK) == utc(2026, 3, 8, 7, 0)
    schedule = daily("Europe/Berlin", date(2026, 3, 1), handoff=time(2, 30))
    timeline = shifts(schedule, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12))
    assert [s.start for s in timeline[1:]] == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]


def test_handover_at_a_repeated_time_uses_the_first():
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    assert local_to_utc(datetime(2026, 11, 1, 1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)
    schedule = daily("America/New_York", date(2026, 10, 1), handoff=time(1, 30))
    timeline = shifts(schedule, utc(2026, 10, 31, 12), utc(2026, 11, 1, 12))
    assert [s.start for s in timeline[1:]] == [utc(2026, 11, 1, 5, 30)]


def test_twelve_hour_turns_follow_local_wall_time():
    schedule = Schedule("s", "America/New_York", (Layer("half", ("ann", "bob"), timedelta(hours=12),
                                                        date(2026, 3, 1), time(8)),))
    tz = NEW_YORK
    hand = handover_local_times(schedule, tz, datetime(2026, 3, 7, 12, tzinfo=tz),
                                datetime(2026, 3, 9, 12, tzinfo=tz))
    assert [(h.day, h.hour) for h in hand] == [(7, 20), (8, 8), (8, 20), (9, 8)]


def test_daily_restriction_leaves_the_layer_empty_outside_the_window():
    business = (Restriction("daily", 9 * 60, 17 * 60),)
    schedule = Schedule("s", "Europe/Berlin", (
        Layer("day", ("ann",), timedelta(days=1), date(2026, 1, 1), time(0), restrictions=business),))
    timeline = shifts(schedule, datetime(2026, 3, 28, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN))
    local = [(s.user, s.start.astimezone(BERLIN).strftime("%d %H:%M"),
              s.end.astimezone(BERLIN).strftime("%d %H:%M")) for s in timeline]
    assert local == [(None, "28 00:00", "28 09:00"), ("ann", "28 09:00", "28 17:00"),
                     (None, "28 17:00", "29 09:00"), ("ann", "29 09:00", "29 17:00"),
                     (None, "29 17:00", "30 00:00")]
    assert timeline[0].source == Source("gap")


def test_weekly_restriction_from_weekday_time_to_weekday_time():
    # Monday 09:00 to Friday 17:00, Berlin; 2026-03-23 is a Monday.
    weekdays = (Restriction("weekly", 9 * 60, 4 * 1440 + 17 * 60),)
    schedule = Schedule("s", "Europe/Berlin", (
        Layer("work", ("ann",), timedelta(weeks=1), date(2026, 1, 5), time(0), restrictions=weekdays),))
    timeline = shifts(schedule, datetime(2026, 3, 22, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN))
    assert [(s.user, s.start.astimezone(BERLIN), s.end.astimezone(BERLIN)) for s in timeline] == [
        (None, datetime(2026, 3, 22, tzinfo=BERLIN), datetime(2026, 3, 23, 9, tzinfo=BERLIN)),
        ("ann", datetime(2026, 3, 23, 9, tzinfo=BERLIN), datetime(2026, 3, 27, 17, tzinfo=BERLIN)),
        (None, datetime(2026, 3, 27, 17, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)),
    ]


def test_restriction_must_end_after_it_starts():
    with pytest.raises(ValueError, match="end after it starts"):
        Restriction("daily", 17 * 60, 9 * 60)
    with pytest.raises(ValueError, match="Monday first"):
        Restriction("weekly", 4 * 1440, 1440)


def two_layers() -> Schedule:
    base = Layer("base", ("ann", "bob"), timedelta(days=1), date(2026, 1, 1), time(9))
    nights = Layer("nights", ("carl",), timedelta(days=1), date(2026, 1, 1), time(0),
                   restrictions=(Restriction("daily", 0, 6 * 60),))
    return Schedule("s", "UTC", (base, nights))


def test_last_layer_in_the_list_has_precedence():
    schedule = two_layers()
    assert on_call(schedule, utc(2026, 5, 1, 3)).user == "carl"
    assert on_call(schedule, utc(2026, 5, 1, 3)).source == Source("layer", "nights", 1)
    noon = on_call(schedule, utc(2026, 5, 1, 12))
    assert noon.user in ("ann", "bob") and noon.source.name == "base"
    reversed_order = Schedule("s", "UTC", tuple(reversed(schedule.layers)))
    base_only = Schedule("s", "UTC", schedule.layers[:1])
    assert on_call(reversed_order, utc(2026, 5, 1, 3)).user == on_call(base_only, utc(2026, 5, 1, 3)).user
    assert on_call(reversed_order, utc(2026, 5, 1, 3)).source.name == "base"


def test_override_wins_over_layers_and_last_override_wins():
    schedule = two_layers()
    overrides = [Override("dora", utc(2026, 5, 1, 2), utc(2026, 5, 1, 4), "o1"),
                 Override("eve", utc(2026, 5, 1, 3), utc(2026, 5, 1, 5), "o2")]
    timeline = shifts(schedule, utc(2026, 5, 1, 0), utc(2026, 5, 1, 7), overrides)
    assert [(s.user, s.start.hour, s.end.hour, str(s.source)) for s in timeline] == [
        ("carl", 0, 2, "layer nights"), ("dora", 2, 3, "override o1"), ("eve", 3, 5, "override o2"),
        ("carl", 5, 6, "layer nights"), (timeline[-1].user, 6, 7, "layer base")]
    now = on_call(schedule, utc(2026, 5, 1, 2, 30), overrides)
    assert (now.user, now.until) == ("dora", utc(2026, 5, 1, 3))


def test_gap_is_explicit_and_on_call_says_until_when():
    schedule = Schedule("s", "UTC", (Layer("l", ("ann",), timedelta(days=1), date(2026, 5, 2), time(9)),))
    before = on_call(schedule, utc(2026, 5, 1, 12))
    assert (before.user, before.until, before.source) == (None, utc(2026, 5, 2, 9), Source("gap"))
    after = on_call(schedule, utc(2026, 5, 3))
    assert (after.user, after.until) == ("ann", None)


def test_until_spans_handovers_that_keep_the_same_user():
    schedule = Schedule("s", "UTC", (Layer("l", ("ann", "ann", "bob"), timedelta(days=1),
                                           date(2026, 5, 1), time(9)),))
    assert on_call(schedule, utc(2026, 5, 1, 10)).until == utc(2026, 5, 3, 9)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        shifts(two_layers(), datetime(2026, 5, 1), datetime(2026, 5, 2))


def test_a_year_of_hourly_turns_by_one_user_merges_into_one_shift():
    # The layer starts at 2026-01-01 00:00 Berlin (2025-12-31 23:00Z): ann covers the whole year.
    schedule = Schedule("s", "Europe/Berlin", (Layer("h", ("ann",), timedelta(hours=1), date(2026, 1, 1), time(0)),))
    timeline = shifts(schedule, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [(s.user, s.start, s.end) for s in timeline] == [("ann", utc(2026, 1, 1), utc(2027, 1, 1))]
    assert on_call(schedule, utc(2026, 6, 1)).until is None
