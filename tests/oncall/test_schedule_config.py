"""The ``schedules:`` section: a valid section becomes the model; every mistake is reported
as ``file:line:col: path: message``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from vigil.config.loader import load_config_text
from vigil.errors import ConfigError
from vigil.oncall.schedule import Restriction, on_call
from vigil.oncall.schedule_config import schedules_by_name

VALID = """\
users: [{name: ann}, {name: bob}, {name: carl}]
schedules:
  - name: primary
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        users: [ann, bob]
        turn: 1w
        start: 2026-01-05
        handoff: "09:00"
      - name: nights
        users: [carl]
        turn: 1d
        start: 2026-01-05
        time_zone: America/New_York
        restrictions:
          - {kind: daily, start: "00:00", end: "06:00"}
          - {kind: weekly, start: "sat 10:00", end: "sun 24:00"}
"""


def test_valid_section_becomes_the_model():
    config = load_config_text(VALID, "vigil.yml")
    schedule = schedules_by_name(config.schedules)["primary"]
    weekly, nights = schedule.layers
    assert (weekly.turn, weekly.start, weekly.handoff, weekly.time_zone) == (
        timedelta(weeks=1), date(2026, 1, 5), time(9), None)
    assert nights.restrictions == (Restriction("daily", 0, 360),
                                   Restriction("weekly", 5 * 1440 + 600, 7 * 1440))
    assert on_call(schedule, datetime(2026, 1, 6, 12, tzinfo=UTC)).user == "ann"


def error_for(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "vigil.yml")
    return str(info.value)


@pytest.mark.parametrize("old, new, expected", [
    ("users: [ann, bob]", "users: [ann, zed]",
     "vigil.yml:7:22: schedules[0].layers[0].users[1]: schedule 'primary', layer 'weekly': user 'zed' is not in the users section"),
    ("time_zone: Europe/Berlin", "time_zone: Europe/Nowhere",
     "vigil.yml:4:5: schedules[0].time_zone: unknown time zone 'Europe/Nowhere'"),
    ("time_zone: America/New_York", "time_zone: Mars/Olympus",
     "vigil.yml:15:9: schedules[0].layers[1].time_zone: unknown time zone 'Mars/Olympus'"),
    ("turn: 1w", "turn: 1 week", "vigil.yml:8:9: schedules[0].layers[0].turn: unknown unit"),
    ("turn: 1w", "turn: 30s", "vigil.yml:8:9: schedules[0].layers[0].turn: turn must be a whole number of minutes"),
    ('handoff: "09:00"', "handoff: 9:00", 'vigil.yml:10:9: schedules[0].layers[0].handoff: expected a quoted time'),
    ('handoff: "09:00"', 'handoff: "25:00"', "vigil.yml:10:9: schedules[0].layers[0].handoff: invalid time '25:00'"),
    ('start: "00:00", end: "06:00"', 'start: "17:00", end: "09:00"',
     "vigil.yml:17:43: schedules[0].layers[1].restrictions[0].end: restriction ends (09:00) before it starts (17:00)"),
    ('start: "sat 10:00"', 'start: "sun 10:00", x: 1',
     "vigil.yml:18:48: schedules[0].layers[1].restrictions[1].x: unknown field"),
    ('end: "sun 24:00"', 'end: "fri 10:00"',
     "vigil.yml:18:48: schedules[0].layers[1].restrictions[1].end: restriction ends (fri 10:00) before it starts (sat 10:00)"),
    ('end: "sun 24:00"', 'end: "sunday-ish"',
     "vigil.yml:18:48: schedules[0].layers[1].restrictions[1].end: expected a weekday and a time"),
    ("name: nights", "name: weekly", "vigil.yml:11:9: schedules[0].layers[1].name: layer names must be unique"),
])
def test_mistakes_are_located(old, new, expected):
    assert old in VALID
    assert error_for(VALID.replace(old, new, 1)).startswith(expected)


def test_duplicate_schedule_names_are_located():
    text = VALID + VALID.split("schedules:\n", 1)[1]
    assert error_for(text).startswith("vigil.yml:19:5: schedules[1].name: schedule names must be unique: 'primary'")


def test_users_are_not_checked_without_a_users_section():
    config = load_config_text(VALID.split("\n", 1)[1], "vigil.yml")
    assert config.schedules[0].layers[1].users == ["carl"]
