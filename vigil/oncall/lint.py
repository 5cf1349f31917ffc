"""Findings about the on-call configuration (``vigil oncall lint``), from the file alone:

* ``gap``: a schedule with nobody on call somewhere in the next ``horizon`` (4 weeks);
* ``nobody``: a notify step of a policy that can reach nobody (an empty team, users none of
  whom has a sendable contact method, a schedule whose on-call person in the horizon has none);
* ``contact``: a user with no contact method, or only unsendable ones (phone);
* ``unused``: an escalation policy no route names.

A route naming a policy that does not exist is refused when the configuration is read (an
error with its ``file:line:col``), before any finding. People, teams and contacts are checked
only when the config has a ``users:`` section (people kept only in the database are not
known here); overrides made at run time are not seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigil.config.model import Config
from vigil.config.yamlmarks import Marks, format_path
from vigil.oncall.reach import ConfigDirectory, sendable_contacts, unsendable_reason
from vigil.oncall.schedule import shifts
from vigil.oncall.schedule_config import schedules_by_name

__all__ = ["Finding", "HORIZON", "lint"]

HORIZON = timedelta(weeks=4)
_MAX_GAPS_SHOWN = 3


@dataclass(frozen=True)
class Finding:
    kind: str  # gap | nobody | contact | unused
    where: str  # file:line:col: path (or the path alone without marks)
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.message}"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Linter:
    def __init__(self, config: Config, marks: Marks | None, now: datetime, horizon: timedelta) -> None:
        self.config, self.marks = config, marks
        self.start, self.end = now, now + horizon
        self.directory = ConfigDirectory(config)
        self.schedules = schedules_by_name(config.schedules)
        self.check_people = bool(config.users)
        self.findings: list[Finding] = []

    def add(self, kind: str, path: tuple[str | int, ...], message: str) -> None:
        where = format_path(path)
        if self.marks is not None:
            line, col = self.marks.locate(path)
            if line is not None:
                where = f"{self.marks.file}:{line}:{col}: {where}"
        self.findings.append(Finding(kind, where, message))

    def reachable(self, user: str) -> bool:
        person = self.directory.person(user)
        return person is not None and not person.disabled and bool(sendable_contacts(person, self.directory.can_email()))

    def gaps(self) -> None:
        for i, schedule in enumerate(self.schedules.values()):
            holes = [s for s in shifts(schedule, self.start, self.end) if s.user is None]
            if holes:
                shown = ", ".join(f"{_iso(h.start)} to {_iso(h.end)}" for h in holes[:_MAX_GAPS_SHOWN])
                more = f" and {len(holes) - _MAX_GAPS_SHOWN} more" if len(holes) > _MAX_GAPS_SHOWN else ""
                self.add("gap", ("schedules", i, "name"),
                         f"schedule {schedule.name!r} has nobody on call {shown}{more}")

    def contacts(self) -> None:
        for i, user in enumerate(self.config.users):
            if user.disabled:
                continue
            if not user.contacts:
                self.add("contact", ("users", i, "name"), f"user {user.name!r} has no contact method")
            elif all(unsendable_reason(c.kind, self.directory.can_email()) for c in user.contacts):
                kinds = ", ".join(sorted({c.kind for c in user.contacts}))
                reasons = "; ".join(sorted({unsendable_reason(c.kind, self.directory.can_email())
                                            for c in user.contacts}))
                self.add("contact", ("users", i, "contacts"),
                         f"user {user.name!r} has only contact methods Vigil cannot page ({kinds}): {reasons}")

    def steps(self) -> None:
        for i, policy in enumerate(self.config.escalation_policies):
            for j, step in enumerate(policy.steps):
                problem = self.step_problem(step)
                if problem:
                    self.add("nobody", ("escalation_policies", i, "steps", j, step.kind),
                             f"policy {policy.name!r} step {j + 1} ({step.kind}) reaches nobody: {problem}")

    def step_problem(self, step: object) -> str:
        kind = step.kind  # type: ignore[attr-defined]
        value = getattr(step, kind)
        if kind == "notify_team":
            members = self.directory.team_members(value)
            if members is not None and not members:
                return f"team {value!r} has no members"
            if self.check_people and members and not any(self.reachable(m) for m in members):
                return f"no member of team {value!r} has a sendable contact method"
        elif kind in ("notify_users", "notify_round_robin") and self.check_people:
            unreachable = [u for u in value if not self.reachable(u)]
            if kind == "notify_users" and len(unreachable) == len(value):
                return f"none of {', '.join(value)} has a sendable contact method"
            if kind == "notify_round_robin" and unreachable:
                return (f"on the turns of {', '.join(unreachable)} (no sendable contact method)")
        elif kind == "notify_schedule" and self.check_people:
            on_call = {s.user for s in shifts(self.schedules[value], self.start, self.end) if s.user}
            unreachable = sorted(u for u in on_call if not self.reachable(u))
            if unreachable:
                return (f"while {', '.join(unreachable)} {'is' if len(unreachable) == 1 else 'are'} "
                        f"on call for {value!r} in the next {(self.end - self.start).days} days "
                        "(no sendable contact method)")
        return ""

    def unused(self) -> None:
        used: set[str] = set()
        stack = [self.config.alerting.route]
        while stack:
            route = stack.pop()
            if route.escalation_policy:
                used.add(route.escalation_policy)
            stack.extend(route.routes)
        for i, policy in enumerate(self.config.escalation_policies):
            if policy.name not in used:
                self.add("unused", ("escalation_policies", i, "name"),
                         f"no route names escalation policy {policy.name!r}")


def lint(config: Config, marks: Marks | None = None, *, now: datetime | None = None,
         horizon: timedelta = HORIZON) -> list[Finding]:
    """Every finding, in the order of the file's sections."""
    linter = _Linter(config, marks, now or datetime.now(UTC), horizon)
    linter.contacts()
    linter.gaps()
    linter.steps()
    linter.unused()
    return linter.findings
