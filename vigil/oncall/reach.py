"""Who an escalation step reaches, and how (issue 16, part 5): per-user notification rules.

A step names a :class:`Target` (users, a schedule's on-call, a team, one of a list in turn,
or a receiver). :func:`reach` resolves it at an instant to :class:`Page` rows: which user,
which contact method, and how long after the step that contact is due. Nothing is dropped
silently: a user without a usable contact method, a schedule with nobody on call or an
unknown name each give a page with ``sendable=False`` and the reason in ``problem``, so the
engine can log it and ``vigil oncall lint|simulate`` can report it.

Urgency comes from the episode's priority (:func:`urgency_of`: P1 and P2 are high, P3 and
P4 low). A user's rules for that urgency give contact methods in order with delays; a user
without rules for it is reached on every contact method at once. A user with
``working_hours`` takes low-urgency pages only inside them (in their own time zone).

Who the people are comes from a :class:`Directory`: :class:`ConfigDirectory` reads the
configuration file alone (offline tools: no overrides, no users added through the API),
:class:`LiveDirectory` the state database (users, contact methods and rules as provisioning
and the API wrote them, schedule overrides).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol
from zoneinfo import ZoneInfo

from vigil.oncall.schedule import Restriction, on_call
from vigil.oncall.schedule_config import schedules_by_name

if TYPE_CHECKING:
    from vigil.config.access import UserConfig
    from vigil.config.escalation import EscalationStep
    from vigil.config.model import Config
    from vigil.oncall.schedules import ScheduleService
    from vigil.state.access_store import AccessStore

__all__ = ["ConfigDirectory", "Contact", "Directory", "HIGH_URGENCY_PRIORITIES", "LiveDirectory",
           "NO_SMTP", "Page", "Person", "TARGET_KINDS", "Target", "UNSENDABLE_KINDS", "person_from_config",
           "reach", "sendable_contacts", "target_of", "unsendable_reason", "urgency_of"]

# Priorities whose pages are high urgency; the others (P3, P4, unknown) are low.
HIGH_URGENCY_PRIORITIES = frozenset({"P1", "P2"})
# Contact kinds Vigil cannot deliver a page to, and why (the escalation engine sends e-mail,
# slack_webhook and webhook contacts).
UNSENDABLE_KINDS: dict[str, str] = {
    "phone": "phone contacts are not sendable: Vigil has no telephony (add e-mail, a Slack webhook or a webhook)",
    "slack_member": "slack_member contacts are not sendable: Vigil has no Slack app to message a member "
                    "(add a slack_webhook contact)",
}
NO_SMTP = ("e-mail contacts are not sendable: pages use the SMTP settings of a receiver's "
           "email_configs, and no receiver has any")
TARGET_KINDS = ("users", "schedule", "team", "round_robin", "receiver")
TargetKind = Literal["users", "schedule", "team", "round_robin", "receiver"]


def urgency_of(priority: str | None) -> str:
    """``high`` for P1 and P2, else ``low``."""
    return "high" if priority in HIGH_URGENCY_PRIORITIES else "low"


@dataclass(frozen=True)
class Contact:
    kind: str  # email | slack_member | slack_webhook | webhook | phone
    address: str
    label: str = ""


@dataclass(frozen=True)
class Person:
    """A user as paging sees them. ``rules`` maps an urgency to (contact reference, delay in
    seconds) pairs; a reference is a contact's label, else every contact of that kind."""

    name: str
    contacts: tuple[Contact, ...] = ()
    rules: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    time_zone: str = "UTC"
    working_hours: tuple[Restriction, ...] = ()
    disabled: bool = False


@dataclass(frozen=True)
class Target:
    """What a step notifies: ``users`` (names), ``schedule`` (each schedule's on-call),
    ``team`` (every member of each team), ``round_robin`` (``names[turn % len(names)]``;
    the engine counts the turns), ``receiver`` (a receiver of the alerting section)."""

    kind: TargetKind
    names: tuple[str, ...]
    turn: int = 0


@dataclass(frozen=True)
class Page:
    """One contact to make: ``delay_s`` after the step's time. ``user`` is None for a
    receiver and for a schedule with nobody on call. ``via`` says how the step got there
    (``user``, ``schedule:NAME``, ``team:NAME``, ``round_robin``, ``receiver``).
    ``sendable=False`` pages are reports, with the reason in ``problem``."""

    user: str | None
    kind: str
    address: str
    label: str
    delay_s: float
    via: str
    sendable: bool = True
    problem: str = ""

    @property
    def shown_address(self) -> str:
        """The address as printed: a URL's path is a secret (Slack and webhook URLs carry
        their credentials in it), so only its scheme and host are shown."""
        if "://" not in self.address:
            return self.address
        scheme, _, rest = self.address.partition("://")
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        return f"{scheme}://{host}/…" if "/" in rest else f"{scheme}://{host}"

    def describe(self) -> str:
        who = self.user or "-"
        how = f"{self.kind} {self.shown_address}" if self.kind else "nothing"
        text = f"{who} via {how} after {_seconds(self.delay_s)} ({self.via})"
        return f"{text}: {self.problem}" if self.problem else text


class Directory(Protocol):
    def person(self, name: str) -> Person | None: ...

    def team_members(self, name: str) -> tuple[str, ...] | None: ...

    def on_call(self, schedule: str, at: datetime) -> str | None:
        """The user on call, None in a gap; KeyError for an unknown schedule."""
        ...

    def has_receiver(self, name: str) -> bool: ...

    def can_email(self) -> bool:
        """Whether e-mail pages can be sent (a receiver has SMTP settings)."""
        ...


def target_of(step: EscalationStep, turn: int = 0) -> Target | None:
    """The target of a notify step of an escalation policy (None for wait, conditions and
    webhooks); ``turn`` counts the round-robin picks made so far."""
    if step.notify_users is not None:
        return Target("users", tuple(step.notify_users))
    if step.notify_schedule is not None:
        return Target("schedule", (step.notify_schedule,))
    if step.notify_team is not None:
        return Target("team", (step.notify_team,))
    if step.notify_round_robin is not None:
        return Target("round_robin", tuple(step.notify_round_robin), turn)
    if step.notify_channel is not None:
        return Target("receiver", (step.notify_channel,))
    return None


def _seconds(delay_s: float) -> str:
    whole = int(delay_s)
    if whole and whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole and whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{whole}s"


def _inside(windows: tuple[Restriction, ...], zone: str, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(zone))
    minute = local.hour * 60 + local.minute
    week_minute = local.weekday() * 1440 + minute
    return any(w.start_minute <= (minute if w.kind == "daily" else week_minute) < w.end_minute
               for w in windows)


def unsendable_reason(kind: str, can_email: bool = True) -> str:
    """Why a contact of ``kind`` cannot be paged ("" when it can)."""
    if kind == "email" and not can_email:
        return NO_SMTP
    return UNSENDABLE_KINDS.get(kind, "")


def sendable_contacts(person: Person, can_email: bool = True) -> tuple[Contact, ...]:
    return tuple(c for c in person.contacts if not unsendable_reason(c.kind, can_email))


def _by_rules(person: Person, rules: tuple[tuple[str, float], ...]) -> list[tuple[Contact, float]]:
    """Each rule's contacts (by label, else by kind) with its delay, each pair once."""
    chosen: list[tuple[Contact, float]] = []
    for ref, delay in rules:
        for contact in [c for c in person.contacts if c.label == ref] or \
                [c for c in person.contacts if c.kind == ref]:
            if (contact, delay) not in chosen:
                chosen.append((contact, delay))
    return chosen


def _pages_for(person: Person, at: datetime, urgency: str, via: str, can_email: bool) -> list[Page]:
    def report(problem: str) -> list[Page]:
        return [Page(person.name, "", "", "", 0.0, via, sendable=False, problem=problem)]

    if person.disabled:
        return report("the user is disabled")
    if not person.contacts:
        return report("the user has no contact method")
    if urgency == "low" and person.working_hours and \
            not _inside(person.working_hours, person.time_zone, at):
        return report(f"outside the user's working hours ({person.time_zone}): "
                      "high-urgency pages only")
    chosen = _by_rules(person, person.rules.get(urgency, ()))
    if not chosen:
        # No rules for this urgency, or rules naming contacts the API has since removed
        # (the rules live in the config, the contacts may be changed at run time).
        chosen = [(c, 0.0) for c in person.contacts]
    pages: list[Page] = []
    for contact, delay in chosen:
        problem = unsendable_reason(contact.kind, can_email)
        pages.append(Page(person.name, contact.kind, contact.address, contact.label, delay,
                          via, sendable=not problem, problem=problem))
    if pages and not any(p.sendable for p in pages):
        pages.append(Page(person.name, "", "", "", 0.0, via, sendable=False,
                          problem="the user has no sendable contact method"))
    return pages


def reach(target: Target, at: datetime, urgency: str, directory: Directory) -> list[Page]:
    """The pages ``target`` makes at ``at`` (aware) for a page of ``urgency`` (``high`` or
    ``low``), users in the order the target gives them, each user once."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    users: list[tuple[str, str]] = []  # (user, via)
    pages: list[Page] = []

    def nobody(via: str, problem: str) -> None:
        pages.append(Page(None, "", "", "", 0.0, via, sendable=False, problem=problem))

    if target.kind == "users":
        users = [(name, "user") for name in target.names]
    elif target.kind == "round_robin":
        if target.names:
            users = [(target.names[target.turn % len(target.names)], "round_robin")]
        else:
            nobody("round_robin", "the round-robin list is empty")
    elif target.kind == "team":
        for team in target.names:
            members = directory.team_members(team)
            if members is None:
                nobody(f"team:{team}", f"no team named {team!r}")
            elif not members:
                nobody(f"team:{team}", f"team {team!r} has no members")
            users.extend((m, f"team:{team}") for m in members or ())
    elif target.kind == "schedule":
        for schedule in target.names:
            try:
                user = directory.on_call(schedule, at)
            except KeyError:
                nobody(f"schedule:{schedule}", f"no schedule named {schedule!r}")
                continue
            if user is None:
                nobody(f"schedule:{schedule}", f"nobody is on call for {schedule} at "
                       f"{at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}")
            else:
                users.append((user, f"schedule:{schedule}"))
    elif target.kind == "receiver":
        for name in target.names:
            known = directory.has_receiver(name)
            pages.append(Page(None, "receiver", name, "", 0.0, "receiver", sendable=known,
                              problem="" if known else f"no receiver named {name!r}"))
    else:
        raise ValueError(f"unknown target kind {target.kind!r}")
    done: set[str] = set()
    for name, via in users:
        if name in done:
            continue
        done.add(name)
        person = directory.person(name)
        if person is None:
            pages.append(Page(name, "", "", "", 0.0, via, sendable=False,
                              problem=f"no user named {name!r}"))
        else:
            pages.extend(_pages_for(person, at, urgency, via, directory.can_email()))
    return pages


def _restrictions(user: UserConfig) -> tuple[Restriction, ...]:
    return tuple(Restriction(w.kind, *w.minutes()) for w in user.working_hours)


def _window(stored: Mapping[str, str]) -> Restriction:
    from vigil.config.schedules import RestrictionConfig

    return Restriction(stored["kind"], *RestrictionConfig.model_validate(stored).minutes())


def person_from_config(user: UserConfig) -> Person:
    """A ``users:`` entry as a :class:`Person`."""
    return Person(
        user.name, tuple(Contact(c.kind, c.address, c.label) for c in user.contacts),
        {u: tuple((r.contact, r.after) for r in rules) for u, rules in user.notification_rules.items()},
        user.time_zone, _restrictions(user), user.disabled)


class ConfigDirectory:
    """People, teams, schedules and receivers from the configuration alone (no database:
    overrides and users added through the API are not seen)."""

    def __init__(self, config: Config) -> None:
        self.users = {u.name: u for u in config.users}
        self.teams = {t.name: tuple(t.members) for t in config.teams}
        self.schedules = schedules_by_name(config.schedules)
        self.receivers = {r.name for r in config.alerting.receivers}
        self.smtp = any(r.email_configs for r in config.alerting.receivers)

    def person(self, name: str) -> Person | None:
        user = self.users.get(name)
        return None if user is None else person_from_config(user)

    def team_members(self, name: str) -> tuple[str, ...] | None:
        return self.teams.get(name)

    def on_call(self, schedule: str, at: datetime) -> str | None:
        return on_call(self.schedules[schedule], at).user

    def has_receiver(self, name: str) -> bool:
        return name in self.receivers

    def can_email(self) -> bool:
        return self.smtp


class LiveDirectory:
    """At run time, from the state database at each call (so every replica sees a change at
    once): users, their contact methods, notification rules and working hours (provisioned
    from the config's ``users:``, or set through the API) and teams; who is on call from the
    schedule service (overrides included). ``config()`` is the current configuration
    (receivers and their SMTP settings; re-read after a reload)."""

    def __init__(self, access: AccessStore, schedules: ScheduleService,
                 config: Callable[[], Config]) -> None:
        from vigil.state.reach_store import NotificationRulesStore

        self.access = access
        self.rules = NotificationRulesStore(access.engine)
        self.schedules = schedules
        self.config = config

    def person(self, name: str) -> Person | None:
        row = self.access.user(name)
        if row is None:
            return None
        stored = self.rules.get(name)
        return Person(
            name, tuple(Contact(c.kind, c.address, c.label) for c in row.contacts),
            {u: tuple((r["contact"], float(r["after"])) for r in rules) for u, rules in stored.rules.items()},
            row.time_zone, tuple(_window(w) for w in stored.working_hours), row.disabled)

    def team_members(self, name: str) -> tuple[str, ...] | None:
        team = next((t for t in self.access.teams() if t.name == name), None)
        return None if team is None else team.members

    def on_call(self, schedule: str, at: datetime) -> str | None:
        # UnknownSchedule is a KeyError, as the Directory protocol wants.
        return self.schedules.on_call(schedule, at).user

    def has_receiver(self, name: str) -> bool:
        return any(r.name == name for r in self.config().alerting.receivers)

    def can_email(self) -> bool:
        return any(r.email_configs for r in self.config().alerting.receivers)
