"""The ``schedules:`` section (issue 16): on-call schedules as layers of rotations.

.. code-block:: yaml

    schedules:
      - name: primary
        time_zone: Europe/Berlin          # default for layers without one
        layers:                           # the LAST layer has precedence (PagerDuty's rule)
          - name: weekly
            users: [ann, bob, carl]       # names from the users: section
            turn: 1w                      # wall-clock length: 1w = 7 local days
            start: 2026-01-05             # local date of the first turn
            handoff: "09:00"              # local hand-over time (quoted)
          - name: business-hours
            users: [dora]
            turn: 1d
            start: 2026-01-05
            time_zone: America/New_York
            restrictions:
              - {kind: daily, start: "09:00", end: "17:00"}
              - {kind: weekly, start: "sat 10:00", end: "sun 12:00"}

Validation: unique schedule names, unique layer names within a schedule, known IANA time
zones, turns of at least one minute, restrictions ending after they start (``24:00`` is the
end of a day; weekly windows run Monday first, so a window across Sunday midnight is written
as two), and, when the config has a ``users:`` section, users that are in it.
:func:`vigil.oncall.schedule_config.schedule_from_config` turns one into the pure model.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vigil.config.checks import check_time_zone, check_unique_names, check_url_name
from vigil.config.durations import PositiveDuration
from vigil.config.located import LocatedValueError

__all__ = ["WEEKDAYS", "LayerConfig", "RestrictionConfig", "ScheduleConfig", "Schedules", "parse_clock"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_clock(text: object) -> int:
    """``"HH:MM"`` (``24:00`` allowed) -> minutes since midnight."""
    if not isinstance(text, str):
        raise ValueError(f"expected a quoted time such as \"09:00\", not {text!r} "
                         "(YAML reads an unquoted 9:00 as a number)")
    m = _CLOCK.match(text.strip())
    if not m or (m.group(1) == "24" and m.group(2) != "00"):
        raise ValueError(f"invalid time {text!r}: expected HH:MM, 00:00 to 24:00")
    return int(m.group(1)) * 60 + int(m.group(2))


def _week_minute(text: object) -> int:
    """``"fri 17:00"`` -> minutes since Monday 00:00."""
    if not isinstance(text, str) or len(text.split()) != 2:
        raise ValueError(f"expected a weekday and a time such as \"fri 17:00\", not {text!r}")
    day, clock = text.split()
    if day.lower()[:3] not in WEEKDAYS:
        raise ValueError(f"unknown weekday {day!r} (mon, tue, ... sun)")
    return WEEKDAYS.index(day.lower()[:3]) * 1440 + parse_clock(clock)


def _zone(name: str | None) -> str | None:
    return None if name is None else check_time_zone(name)


class RestrictionConfig(Section):
    """``daily``: ``start``/``end`` are ``"HH:MM"``; ``weekly``: ``"mon 09:00"``."""

    kind: Literal["daily", "weekly"]
    start: str
    end: str

    def minutes(self) -> tuple[int, int]:
        parse = parse_clock if self.kind == "daily" else _week_minute
        return parse(self.start), parse(self.end)

    @model_validator(mode="after")
    def _valid(self) -> RestrictionConfig:
        parse = parse_clock if self.kind == "daily" else _week_minute
        for key in ("start", "end"):
            try:
                parse(getattr(self, key))
            except ValueError as exc:
                raise LocatedValueError(str(exc), (key,)) from None
        start, end = self.minutes()
        if end <= start:
            where = "the same day" if self.kind == "daily" else "the week (Monday first)"
            raise LocatedValueError(f"restriction ends ({self.end}) before it starts ({self.start}): "
                                    f"a window must end after its start within {where}; write a "
                                    "window across midnight as two windows", ("end",))
        return self


class LayerConfig(Section):
    name: str
    users: list[str] = Field(min_length=1)
    turn: PositiveDuration
    start: date
    handoff: str = "00:00"
    time_zone: str | None = None
    restrictions: list[RestrictionConfig] = Field(default_factory=list)

    _zone = field_validator("time_zone")(_zone)

    @field_validator("handoff", mode="before")
    @classmethod
    def _handoff(cls, value: Any) -> str:
        minutes = parse_clock(value)
        if minutes >= 1440:
            raise ValueError("handoff must be before 24:00")
        return value

    @field_validator("turn")
    @classmethod
    def _turn(cls, seconds: float) -> float:
        if seconds < 60 or seconds % 60:
            raise ValueError("turn must be a whole number of minutes, at least 1m (e.g. 12h, 1d, 1w)")
        return seconds


class ScheduleConfig(Section):
    name: str
    description: str = ""
    time_zone: str = "UTC"
    layers: list[LayerConfig] = Field(min_length=1)

    _zone = field_validator("time_zone")(_zone)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_url_name(name, "schedule", "URLs")

    @model_validator(mode="after")
    def _unique_layers(self) -> ScheduleConfig:
        check_unique_names([layer.name for layer in self.layers],
                           "layer names must be unique within a schedule", ("layers",))
        return self


def _check_schedules(schedules: list[ScheduleConfig], info: ValidationInfo) -> list[ScheduleConfig]:
    check_unique_names([s.name for s in schedules], "schedule names must be unique")
    # `users:` comes before `schedules:` in Config, so it is validated already; a config
    # without a users section (people kept only in the database) is not checked here.
    users = {u.name for u in (info.data or {}).get("users") or ()}
    if users:
        for i, schedule in enumerate(schedules):
            for j, layer in enumerate(schedule.layers):
                for k, user in enumerate(layer.users):
                    if user not in users:
                        raise LocatedValueError(
                            f"schedule {schedule.name!r}, layer {layer.name!r}: user {user!r} is "
                            "not in the users section", (i, "layers", j, "users", k))
    return schedules


Schedules = Annotated[list[ScheduleConfig], AfterValidator(_check_schedules)]
"""The type of ``Config.schedules``."""
