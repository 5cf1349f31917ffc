"""Which shift is when: the configured shifts laid out on the calendar of the section's time
zone. A shift runs from its start until the next shift's start (the last one of a day until
the first one of the next day), so every instant belongs to exactly one shift. Start times
that a daylight-saving change skips or repeats resolve as :mod:`zoneinfo` does (fold 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from vigil.config.shifts import ShiftDef, ShiftsConfig

__all__ = ["ShiftInstance", "next_shift", "previous_shift", "shift_at", "shift_id"]


def shift_id(day: date, name: str) -> str:
    return f"{day.isoformat()}-{name}"


@dataclass(frozen=True)
class ShiftInstance:
    """One shift on one day: its definition, local start date, and UTC span [starts_at, ends_at)."""

    definition: ShiftDef
    day: date
    starts_at: datetime
    ends_at: datetime

    @property
    def id(self) -> str:
        return shift_id(self.day, self.definition.name)


def _starts(config: ShiftsConfig, day: date) -> list[tuple[datetime, date, ShiftDef]]:
    zone = config.zone()
    return sorted((datetime.combine(day, d.start, tzinfo=zone).astimezone(timezone.utc), day, d)
                  for d in config.shifts)


def shift_at(config: ShiftsConfig, at: datetime) -> ShiftInstance:
    """The shift ``at`` (timezone-aware) falls in."""
    local_day = at.astimezone(config.zone()).date()
    starts = [s for offset in (-1, 0, 1) for s in _starts(config, local_day + timedelta(days=offset))]
    starts.sort(key=lambda s: s[0])
    for n, (start, day, definition) in enumerate(starts):
        if start <= at < starts[n + 1][0]:
            return ShiftInstance(definition, day, start, starts[n + 1][0])
    raise AssertionError(f"no shift holds {at.isoformat()}")  # three days of starts always cover ``at``


def next_shift(config: ShiftsConfig, shift: ShiftInstance) -> ShiftInstance:
    return shift_at(config, shift.ends_at)


def previous_shift(config: ShiftsConfig, shift: ShiftInstance) -> ShiftInstance:
    return shift_at(config, shift.starts_at - timedelta(microseconds=1))
