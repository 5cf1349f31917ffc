"""The ``escalation_policies:`` section (issue 16): who is paged, in which order, while an
alert episode stays unacknowledged. Routes name their policy with ``escalation_policy:``.

.. code-block:: yaml

    escalation_policies:
      - name: runbook
        repeat: 1                              # run the steps once more if still unacknowledged
        steps:
          - notify_schedule: primary           # level 1: whoever is on call now
          - wait: 5m
          - notify_users: [lead]               # level 2
          - if_time: {from: "08:00", to: "20:00", time_zone: Europe/Berlin}
          - notify_team: sre                   # level 3, only in the day
          - wait: 15m
          - notify_round_robin: [ann, bob]     # one of them, taking turns
          - notify_channel: ops-slack          # any receiver of alerting:
          - if_alerts: {more_than: 5, within: 10m, of: receiver}
          - webhook: {url: https://hooks.example/page}
          - declare_incident: {severity: 1, title: "{{ .GroupLabels.alertname }} unanswered"}

A step is a mapping with exactly one of the keys above. The **level** of a step is one plus
the number of ``wait`` steps before it. Validation names the place (``file:line:col``):
unknown users and teams (checked when the config has ``users:``/``teams:``), schedules and
receivers, waits outside 1s..24h, a route naming an unknown policy, and a ``declare_incident``
title that is not a valid template. ``declare_incident`` declares an incident (issue 17) of
the severity given, titled by the template (alert template data of the episode's group;
default "<alertname> on <labels>"), with the group attached, once per episode run.
:mod:`vigil.oncall.escalation` runs the policies.
"""

from __future__ import annotations

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

from vigil.config.checks import check_http_url, check_time_zone, check_unique_names, check_url_name
from vigil.config.durations import Duration, PositiveDuration
from vigil.config.incident_response import parse_template
from vigil.config.located import LocatedValueError
from vigil.config.schedules import WEEKDAYS, parse_clock

__all__ = ["AlertsCondition", "DeclareIncidentStep", "EscalationPolicies", "EscalationPolicy", "EscalationStep", "STEP_KINDS",
           "TimeCondition", "WebhookStep", "check_policy_routes"]

STEP_KINDS = ("notify_users", "notify_schedule", "notify_team", "notify_round_robin", "notify_channel",
              "wait", "if_time", "if_alerts", "webhook", "declare_incident")
NOTIFY_KINDS = STEP_KINDS[:5]
MIN_WAIT_S, MAX_WAIT_S = 1.0, 24 * 3600.0


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TimeCondition(Section):
    """Go on only between ``from`` and ``to`` (local wall time in ``time_zone``; ``from``
    later than ``to`` spans midnight), on the ``days`` given (default every day; the day is
    the one the window starts on)."""

    from_: str = Field(alias="from")
    to: str
    time_zone: str = "UTC"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: list(WEEKDAYS))

    @field_validator("from_", "to")
    @classmethod
    def _clock(cls, value: Any) -> str:
        parse_clock(value)
        return value

    _zone = field_validator("time_zone")(check_time_zone)

    @model_validator(mode="after")
    def _not_empty(self) -> TimeCondition:
        if self.from_ == self.to:
            raise LocatedValueError("from and to must differ", ("to",))
        return self

    def window_minutes(self) -> tuple[int, int]:
        return parse_clock(self.from_), parse_clock(self.to)


class AlertsCondition(Section):
    """Go on only when more than ``more_than`` alerts started within the ``within`` before
    the step, counted in the episode's group or in every group of its receiver (``of``)."""

    more_than: int = Field(ge=0)
    within: PositiveDuration
    of: Literal["group", "receiver"] = "group"


class WebhookStep(Section):
    """POST the documented escalation body (docs/oncall.md) to ``url``."""

    url: str
    timeout: PositiveDuration = 10.0

    _url = field_validator("url")(check_http_url)


class DeclareIncidentStep(Section):
    """Declare an incident of ``severity`` (1..4) for the episode's group, titled by
    ``title`` (a Go template over the alert template data of the group: ``.GroupLabels``,
    ``.CommonLabels``, ``.Alerts`` ...); without one, "<alertname> on <labels>"."""

    severity: int = Field(ge=1, le=4)
    title: str | None = Field(None, min_length=1)

    @field_validator("title")
    @classmethod
    def _title(cls, title: str | None) -> str | None:
        if title is not None:
            parse_template(title, "declare_incident.title")
        return title


class EscalationStep(Section):
    notify_users: list[str] | None = Field(None, min_length=1)
    notify_schedule: str | None = None
    notify_team: str | None = None
    notify_round_robin: list[str] | None = Field(None, min_length=1)
    notify_channel: str | None = None
    wait: Duration | None = None
    if_time: TimeCondition | None = None
    if_alerts: AlertsCondition | None = None
    webhook: WebhookStep | None = None
    declare_incident: DeclareIncidentStep | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            kinds = [k for k in data if k in STEP_KINDS]
            if len(kinds) != 1:
                what = f"got {', '.join(kinds)}" if kinds else "got none"
                raise ValueError(f"a step has exactly one of {', '.join(STEP_KINDS)} ({what})")
        return data

    @field_validator("wait")
    @classmethod
    def _wait_range(cls, seconds: float | None) -> float | None:
        if seconds is not None and not MIN_WAIT_S <= seconds <= MAX_WAIT_S:
            raise ValueError(f"a wait must be between 1s and 24h, not {seconds:g}s")
        return seconds

    @property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)


class EscalationPolicy(Section):
    name: str
    description: str = ""
    repeat: int = Field(0, ge=0, le=10)
    steps: list[EscalationStep] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_url_name(name, "policy", "URLs and metric labels")

    @model_validator(mode="after")
    def _repeat_waits(self) -> EscalationPolicy:
        if self.repeat and not any(s.wait for s in self.steps):
            raise LocatedValueError("repeat needs at least one wait step (a cycle must take time)",
                                    ("repeat",))
        return self

    def levels(self) -> list[int]:
        """Each step's level: one plus the number of waits before it."""
        out, level = [], 1
        for step in self.steps:
            out.append(level)
            if step.wait is not None:
                level += 1
        return out


def _check_policies(policies: list[EscalationPolicy], info: ValidationInfo) -> list[EscalationPolicy]:
    check_unique_names([p.name for p in policies], "escalation policy names must be unique")
    data = info.data or {}
    # Users and teams are checked when the config provisions them (as schedules do); people
    # kept only in the database are not known here.
    users = {u.name for u in data.get("users") or ()}
    teams = {t.name for t in data.get("teams") or ()}
    schedules = {s.name for s in data.get("schedules") or ()}
    alerting = data.get("alerting")
    receivers = {r.name for r in alerting.receivers} if alerting is not None else set()
    for i, policy in enumerate(policies):
        for j, step in enumerate(policy.steps):
            where = (i, "steps", j)
            for field in ("notify_users", "notify_round_robin"):
                for k, user in enumerate(getattr(step, field) or ()):
                    if users and user not in users:
                        raise LocatedValueError(f"policy {policy.name!r}: user {user!r} is not in the "
                                                "users section", (*where, field, k))
            if step.notify_team is not None and teams and step.notify_team not in teams:
                raise LocatedValueError(f"policy {policy.name!r}: team {step.notify_team!r} is not in "
                                        "the teams section", (*where, "notify_team"))
            if step.notify_team is not None and not teams and users:
                raise LocatedValueError(f"policy {policy.name!r}: team {step.notify_team!r}: the config "
                                        "has no teams section", (*where, "notify_team"))
            if step.notify_schedule is not None and step.notify_schedule not in schedules:
                raise LocatedValueError(f"policy {policy.name!r}: unknown schedule {step.notify_schedule!r}",
                                        (*where, "notify_schedule"))
            if step.notify_channel is not None and step.notify_channel not in receivers:
                raise LocatedValueError(f"policy {policy.name!r}: unknown receiver {step.notify_channel!r}",
                                        (*where, "notify_channel"))
    return policies


EscalationPolicies = Annotated[list[EscalationPolicy], AfterValidator(_check_policies)]
"""The type of ``Config.escalation_policies``."""


def check_policy_routes(route: Any, policies: list[EscalationPolicy]) -> None:
    """Every route's ``escalation_policy`` names a policy. ``route`` is the alerting root
    route; raises :class:`LocatedValueError` with a path from the config's root."""
    names = {p.name for p in policies}
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(route, ("alerting", "route"))]
    while stack:
        r, path = stack.pop()
        if r.escalation_policy is not None and r.escalation_policy not in names:
            raise LocatedValueError(f"route refers to undefined escalation policy {r.escalation_policy!r}",
                                    (*path, "escalation_policy"))
        stack.extend((child, (*path, "routes", i)) for i, child in enumerate(r.routes))
