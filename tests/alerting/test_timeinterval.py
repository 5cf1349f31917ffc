"""Time intervals and recurring maintenance windows (A1, A2): parsing, containment (incl.
DST in a non-UTC zone), config errors, and muting at flush time in the dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.alerting.harness import Harness, alert
from tests.support.webhook import WebhookReceiver
from vigil.config import load_config_text
from vigil.errors import ConfigError
from vigil.model.timeinterval import TimeIntervalError, compile_interval

UTC = timezone.utc

# The runbook's two windows, exactly as docs/alerting.md shows them.
SUNDAY_NIGHT = {"times": [{"start_time": "02:00", "end_time": "04:00"}], "weekdays": ["sunday"]}
FIRST_SATURDAY = {"times": [{"start_time": "06:00", "end_time": "10:00"}], "weekdays": ["saturday"],
                  "days_of_month": ["1:7"]}


def at(*args: int, tz=UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize("when,inside", [
    (at(2026, 11, 22, 2, 0), True),  # a Sunday, start is inclusive
    (at(2026, 11, 22, 3, 59), True),
    (at(2026, 11, 22, 4, 0), False),  # end is exclusive
    (at(2026, 11, 22, 1, 59), False),
    (at(2026, 11, 21, 3, 0), False),  # Saturday
    (at(2026, 11, 22, 3, 0, tz=ZoneInfo("Europe/Berlin")), True),  # 02:00 UTC
])
def test_sunday_maintenance_window(when, inside):
    assert compile_interval(SUNDAY_NIGHT).contains(when) is inside


def test_first_saturday_of_every_month_for_two_years():
    window = compile_interval(FIRST_SATURDAY)
    day = at(2026, 1, 1, 7, 30)
    hits = []
    while day.year < 2028:
        if window.contains(day):
            hits.append(day.date())
        day += timedelta(days=1)
    assert len(hits) == 24
    for d in hits:
        assert d.weekday() == 5 and d.day <= 7  # Python: Saturday == 5
    assert window.contains(at(2026, 11, 7, 6, 0)) and not window.contains(at(2026, 11, 7, 10, 0))
    assert not window.contains(at(2026, 11, 14, 7, 0))  # second Saturday


def test_window_follows_wall_clock_across_dst():
    # 02:00-04:00 on Sundays in Berlin: 00:00-02:00 UTC in summer, 01:00-03:00 UTC in winter.
    berlin = compile_interval({**SUNDAY_NIGHT, "location": "Europe/Berlin"})
    summer, winter = at(2026, 7, 5), at(2026, 11, 22)
    assert berlin.contains(summer.replace(hour=0, minute=30))
    assert not berlin.contains(summer.replace(hour=2, minute=30))
    assert not berlin.contains(winter.replace(hour=0, minute=30))
    assert berlin.contains(winter.replace(hour=2, minute=30))
    # 29 March 2026: clocks jump 02:00 -> 03:00, so the window is only 03:00-04:00 CEST.
    jump = at(2026, 3, 29)
    inside = [m for m in range(0, 6 * 60, 15) if berlin.contains(jump + timedelta(minutes=m))]
    assert (inside[0], inside[-1]) == (60, 105)  # 01:00-01:45 UTC = 03:00-03:45 CEST
    # 25 October 2026: 02:00-03:00 happens twice, so the window lasts three real hours.
    back = at(2026, 10, 25)
    inside = [m for m in range(0, 6 * 60, 15) if berlin.contains(back + timedelta(minutes=m))]
    assert (inside[0], inside[-1], len(inside)) == (0, 165, 12)  # 00:00-02:45 UTC


@pytest.mark.parametrize("spec,when,inside", [
    ({"days_of_month": ["-1"]}, at(2026, 2, 28, 12), True),  # last day, February
    ({"days_of_month": ["-1"]}, at(2026, 2, 27, 12), False),
    ({"days_of_month": ["-7:-1"]}, at(2026, 4, 24, 12), True),  # last week of a 30-day month
    ({"days_of_month": ["31"]}, at(2026, 4, 30, 12), False),  # no 31st in April
    ({"days_of_month": [1, 15]}, at(2026, 4, 15, 12), True),
    ({"weekdays": ["monday:friday"]}, at(2026, 11, 20, 12), True),  # Friday
    ({"weekdays": ["monday:friday"]}, at(2026, 11, 21, 12), False),
    ({"months": ["january:march", "12"]}, at(2026, 12, 1), True),
    ({"months": ["january:march", "12"]}, at(2026, 4, 1), False),
    ({"years": ["2025:2026"]}, at(2026, 4, 1), True),
    ({"years": ["2025:2026"]}, at(2027, 1, 1), False),
    ({"times": [{"start_time": "22:00", "end_time": "24:00"}]}, at(2026, 1, 1, 23, 59), True),
    ({}, at(2026, 1, 1), True),
])
def test_fields(spec, when, inside):
    assert compile_interval(spec).contains(when) is inside


@pytest.mark.parametrize("spec,message,path", [
    ({"weekdays": ["funday"]}, "not a day of the week", ("weekdays", 0)),
    ({"weekdays": ["friday:monday"]}, "must not be before", ("weekdays", 0)),
    ({"days_of_month": ["0"]}, "out of range", ("days_of_month", 0)),
    ({"days_of_month": ["-1:5"]}, "may not start from the month's end", ("days_of_month", 0)),
    ({"months": ["13"]}, "out of range", ("months", 0)),
    ({"times": [{"start_time": "10:00", "end_time": "09:00"}]}, "before end_time", ("times", 0)),
    ({"times": [{"start_time": "25:00", "end_time": "26:00"}]}, "HH:MM", ("times", 0, "start_time")),
    ({"location": "Mars/Olympus"}, "unknown time zone", ("location",)),
])
def test_invalid_fields(spec, message, path):
    with pytest.raises(TimeIntervalError, match=message) as info:
        compile_interval(spec)
    assert info.value.path == path


def _config(route_extra: str) -> str:
    return f"""
alerting:
  time_intervals:
    - name: sunday-night
      time_intervals:
        - times: [{{start_time: "02:00", end_time: "04:00"}}]
          weekdays: [sunday]
  receivers: [{{name: r}}]
  route:
    receiver: r
    routes:
      - receiver: r
{route_extra}
"""


def test_config_errors_point_at_the_line():
    with pytest.raises(ConfigError) as info:
        load_config_text(_config("        mute_time_intervals: [nope]"), "v.yml")
    assert str(info.value).startswith("v.yml:13:")
    assert "undefined time interval 'nope'" in str(info.value)
    bad = _config("").replace("[sunday]", "[sundae]")
    with pytest.raises(ConfigError) as info:
        load_config_text(bad, "v.yml")
    assert str(info.value).startswith("v.yml:7:") and "'sundae' is not a day of the week" in str(info.value)


def _harness(tmp_path, url: str, field: str) -> Harness:
    h = Harness(tmp_path, f'      webhook_configs: [{{url: "{url}"}}]')
    h.cfg = load_config_text(f"""
alerting:
  time_intervals:
    - name: sunday-night
      time_intervals:
        - times: [{{start_time: "02:00", end_time: "04:00"}}]
          weekdays: [sunday]
  receivers: [{{name: r, webhook_configs: [{{url: "{url}"}}]}}]
  route:
    receiver: r
    group_by: [alertname]
    group_wait: 30s
    group_interval: 5m
    routes:
      - receiver: r
        {field}: [sunday-night]
""").alerting
    h.restart()
    return h


def test_mute_time_interval_holds_notifications_until_the_window_ends(tmp_path):
    with WebhookReceiver() as hook:
        h = _harness(tmp_path, hook.url, "mute_time_intervals")
        h.clock.now = at(2026, 11, 22, 3, 0)  # Sunday 03:00 UTC, inside the window
        h.fire_and_flush([alert("DiskFull", "db-1", h.clock.now)])
        for _ in range(11):  # group_interval flushes until 04:00 are all muted
            h.clock.advance(300)
            if h.clock.now.hour < 4:
                h.tick()
        assert hook.received == [] and hook.attempts == 0
        h.clock.now = at(2026, 11, 22, 4, 1)
        h.tick()
        [notification] = hook.received
        assert [a["labels"]["alertname"] for a in notification["alerts"]] == ["DiskFull"]


def test_active_time_interval_sends_only_inside_the_window(tmp_path):
    with WebhookReceiver() as hook:
        h = _harness(tmp_path, hook.url, "active_time_intervals")
        h.clock.now = at(2026, 11, 21, 12, 0)  # Saturday: outside
        h.fire_and_flush([alert("DiskFull", "db-1", h.clock.now)])
        assert hook.received == []
        h.clock.now = at(2026, 11, 22, 2, 30)
        h.tick()
        assert len(hook.received) == 1


def test_the_documented_maintenance_windows(tmp_path):
    """The YAML in docs/alerting.md loads and mutes exactly the runbook's windows."""
    from pathlib import Path

    from vigil.alerting.dispatch import Dispatcher
    from vigil.state import Store

    doc = (Path(__file__).resolve().parents[2] / "docs" / "alerting.md").read_text()
    block = next(b.split("\n", 1)[1] for b in doc.split("```")[1::2] if "sunday-maintenance" in b)
    cfg = load_config_text(block, "docs/alerting.md").alerting
    dispatcher = Dispatcher(cfg, Store.open_in(str(tmp_path)), external_url="http://x")
    [infra] = dispatcher.route.routes
    muted = [t for t in (at(2026, 11, d, h) for d in range(1, 31) for h in range(24))
             if dispatcher.time_muted(infra, t)]
    assert muted == [at(2026, 11, 1, 2), at(2026, 11, 1, 3),  # Sunday 1 November
                     at(2026, 11, 7, 6), at(2026, 11, 7, 7), at(2026, 11, 7, 8), at(2026, 11, 7, 9),
                     at(2026, 11, 8, 2), at(2026, 11, 8, 3), at(2026, 11, 15, 2), at(2026, 11, 15, 3),
                     at(2026, 11, 22, 2), at(2026, 11, 22, 3), at(2026, 11, 29, 2), at(2026, 11, 29, 3)]
    assert not dispatcher.time_muted(dispatcher.route, at(2026, 11, 1, 2))  # the root is never muted


def test_unquoted_times_and_ranges_as_alertmanager_docs_write_them():
    # PyYAML reads 17:00 and 1:7 as base-60 integers; they must still mean 17:00 and 1 to 7.
    cfg = load_config_text("""
alerting:
  time_intervals:
    - name: w
      time_intervals:
        - times: [{start_time: 09:00, end_time: 17:00}]
          days_of_month: [1:7]
          months: [1:3]
  receivers: [{name: r}]
  route: {receiver: r}
""").alerting
    [spec] = cfg.time_intervals[0].time_intervals
    window = compile_interval(spec.model_dump(exclude_defaults=True))
    assert window.times == ((9 * 60, 17 * 60),)
    assert window.days_of_month == ((1, 7),) and window.months == ((1, 3),)
