"""Schedules at run time: the configured schedules (:mod:`vigil.oncall.schedule`) with the
overrides and swaps people made, read from the state database at every call so that every
replica answers the same (:class:`vigil.state.schedule_store.ScheduleStore`).

Used by the web layer (API, page, calendar feeds). Who may change what is the caller's
check (the web layer knows the principal); this module checks that the change makes sense.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from vigil.oncall.schedule import OnCall, Override, Schedule, Shift, on_call, shifts
from vigil.state.schedule_store import OverrideRow, ScheduleStore

__all__ = ["ScheduleError", "ScheduleService", "UnknownSchedule"]

# The longest range one request may render (a year and a bit: enough for any calendar view,
# small enough that one request cannot keep a worker busy for long).
MAX_RANGE = timedelta(days=400)


class ScheduleError(ValueError):
    """A request that makes no sense (shown as 400)."""


class UnknownSchedule(KeyError):
    """No schedule of that name in the configuration (shown as 404)."""

    def __str__(self) -> str:
        return f"no schedule named {self.args[0]!r}"


def _as_override(row: OverrideRow) -> Override:
    return Override(row.user, row.starts_at, row.ends_at, row.id)


class ScheduleService:
    """``schedules()`` returns the configured schedules by name (re-read after a reload);
    ``active_users()`` the names of enabled users, or None when nobody is configured (then
    any name is accepted); ``clock()`` is now (aware)."""

    def __init__(self, store: ScheduleStore, schedules: Callable[[], Mapping[str, Schedule]],
                 active_users: Callable[[], set[str] | None] = lambda: None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self._schedules = schedules
        self.active_users = active_users
        self.clock = clock

    def all(self) -> list[Schedule]:
        return list(self._schedules().values())

    def get(self, name: str) -> Schedule:
        found = self._schedules().get(name)
        if found is None:
            raise UnknownSchedule(name)
        return found

    def override_rows(self, name: str, start: datetime, end: datetime) -> list[OverrideRow]:
        self.get(name)
        return self.store.overrides(name, ending_after=start, starting_before=end)

    def on_call(self, name: str, at: datetime) -> OnCall:
        schedule = self.get(name)
        # on_call looks ahead up to a year for "until"; overrides in that span matter.
        rows = self.store.overrides(name, ending_after=at)
        return on_call(schedule, at, [_as_override(r) for r in rows])

    def shifts(self, name: str, start: datetime, end: datetime) -> list[Shift]:
        _check_range(start, end)
        schedule = self.get(name)
        return shifts(schedule, start, end, [_as_override(r) for r in self.override_rows(name, start, end)])

    def user_shifts(self, user: str, start: datetime, end: datetime) -> list[tuple[str, Shift]]:
        """Every shift of ``user`` across all schedules: (schedule name, shift)."""
        _check_range(start, end)
        return [(s.name, shift) for s in self.all()
                for shift in self.shifts(s.name, start, end) if shift.user == user]

    def _check_user(self, user: str) -> None:
        users = self.active_users()
        if users is not None and user not in users:
            raise ScheduleError(f"unknown or disabled user {user!r}")

    def create_override(self, name: str, user: str, start: datetime, end: datetime, *,
                        actor: str, note: str = "") -> OverrideRow:
        self.get(name)
        self._check_user(user)
        _check_range(start, end)
        return self.store.create_override(name, user, start, end, created_by=actor, note=note)

    def swap(self, name: str, first: tuple[str, datetime, datetime],
             second: tuple[str, datetime, datetime], *, actor: str,
             note: str = "") -> tuple[OverrideRow, OverrideRow]:
        """Two users exchange shifts: each must be on call for the whole of the range they
        give away (as the timeline now stands, overrides included)."""
        if first[0] == second[0]:
            raise ScheduleError("a swap needs two different users")
        for user, start, end in (first, second):
            self._check_user(user)
            _check_range(start, end)
            holders = {s.user for s in self.shifts(name, start, end)}
            if holders != {user}:
                others = ", ".join(sorted(str(h) if h else "nobody" for h in holders - {user}))
                raise ScheduleError(f"{user!r} is not on call for all of {start.isoformat()} to "
                                    f"{end.isoformat()} (also: {others})")
        return self.store.create_swap(name, first, second, created_by=actor, note=note)

    def delete_override(self, name: str, override_id: str) -> list[OverrideRow]:
        row = self.store.get_override(override_id)
        if row is None or row.schedule != name:
            return []
        return self.store.delete_override(override_id)

    def feed_user(self, token: str) -> str | None:
        """The enabled user a calendar feed token belongs to, else None."""
        user = self.store.feed_token_user(token)
        if user is None:
            return None
        users = self.active_users()
        return user if users is None or user in users else None


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ScheduleError("times need a time zone (RFC 3339, e.g. 2026-05-01T09:00:00Z)")
    if end <= start:
        raise ScheduleError("the end must be after the start")
    if end - start > MAX_RANGE:
        raise ScheduleError(f"a range may span at most {MAX_RANGE.days} days")
