"""The response checklist and communications of incidents (issue 17, parts 3 and 4): the keys
``checklists``, ``overdue_grace``, ``page_overdue`` and ``communications`` of the
``incidents:`` section.

.. code-block:: yaml

    incidents:
      checklists:                  # per severity; a severity not named keeps its default
        SEV-1:
          - at: 0m
            title: Incident Declared
            tasks:
              - {title: Page on-call engineer, done_when: paged}      # Vigil ticks it (below)
              - Create incident channel
          - at: 5m
            title: Initial Assessment
            tasks:
              - Check DNS resolution
              - {key: aws-health, title: Verify AWS service health}   # a stable key of your own
        SEV-4: []                  # no checklist
      overdue_grace: 1m            # a task is overdue this long after its due time
      page_overdue: {after: 5m, to: commander}   # or schedule:NAME, user:NAME, team:NAME
      communications:
        organization: Smart Dairy
        internal:
          subject: "[INCIDENT] {{ .Organization }} - {{ .Title }}"
          body: "..."              # a Go template over the incident (docs/incidents.md)
          receivers: {SEV-1: [execs, incident-slack], SEV-2: [managers]}
          notify_on_declare: [SEV-1, SEV-2]
        external:
          body: "..."
          receivers: {SEV-1: [customers]}

A task with ``done_when: FACT`` is ticked by Vigil (the response loop, once) as soon as the
incident's timeline shows the fact, one of :data:`DONE_WHEN_FACTS`: ``declared``,
``paged``, ``acknowledged``, ``commander_set``, ``internal_sent``, ``external_sent`` or
``status:identified`` / ``status:monitoring`` (``status:investigating`` holds from the
declaration). What each fact means is :mod:`vigil.incidents.task_facts`.

Defaults: SEV-1's checklist is the runbook's SEV-1 response (T+0:00 … T+1:00, every task),
with ``done_when`` on the four tasks Vigil can see done: "Page on-call engineer" (``paged``),
"Notify stakeholders" (``internal_sent``), "Start incident log" (``declared``: the timeline is
the log) and "Post status to status page" (``external_sent``);
SEV-2 keeps its first three phases, SEV-3 the first two, SEV-4 the first. The templates are
the runbook's "Internal Incident Notification" and "External Status Page Update". Internal
notifications go out at declaration for SEV-1 ("Immediate exec notification") and SEV-2
("Manager notification"); SEV-3 is "Ticket only" and SEV-4 "Scheduled fix". When the next
update is due is the severity's ``update_interval`` (:mod:`vigil.config.incidents`) after
the declaration or the last update sent.

Templates must parse (Go ``text/template`` with the functions of alert templates); a
receiver must exist in ``alerting.receivers`` and have e-mail, Slack or webhook configs
(:func:`check_communication_receivers`, called by the Config). Both errors name the place
as ``file:line:col``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from vigil.config.durations import Duration
from vigil.config.located import LocatedValueError
from vigil.gocompat.template import Template, TemplateError

__all__ = ["ChecklistPhase", "ChecklistTask", "Checklists", "CommunicationTemplate", "Communications",
           "DEFAULT_CHECKLISTS", "DONE_WHEN_FACTS", "ExternalTemplate", "InternalTemplate", "PageOverdue", "SEVERITIES",
           "TEMPLATE_FUNCTIONS", "check_done_when", "check_incident_response", "default_checklists",
           "parse_template", "severity_name", "task_key"]

SEVERITIES: tuple[str, ...] = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
# The functions alert templates have (vigil.alerting.notify.templates); the config only
# parses, and a Go template naming an unknown function does not parse.
TEMPLATE_FUNCTIONS: tuple[str, ...] = ("toUpper", "toLower", "title", "trimSpace", "join", "match",
                                       "reReplaceAll", "safeHtml", "stringSlice", "humanizeDuration")
MAX_PHASE_AT_S = 7 * 86400.0
PAGE_TARGET_KINDS = ("schedule", "user", "team")

# What a task's ``done_when`` may name: facts Vigil records itself in the incident's
# timeline (vigil.incidents.task_facts tells which events prove them). ``status:NAME`` is
# written out for every status a checklist can still be worked in.
DONE_WHEN_FACTS: tuple[str, ...] = ("declared", "paged", "acknowledged", "commander_set", "internal_sent",
                                    "external_sent", "status:investigating", "status:identified",
                                    "status:monitoring")

# The runbook's SEV-1 response (section 8.2), phase by phase:
# (at, title, ((key, task, done_when or None), ...)).
RUNBOOK_SEV1: tuple[tuple[float, str, tuple[tuple[str, str, str | None], ...]], ...] = (
    (0.0, "Incident Declared", (
        ("page-oncall", "Page on-call engineer", "paged"),
        ("create-channel", "Create incident channel (#incident-YYYYMMDD-XXX)", None),  # Vigil only names it
        ("notify-stakeholders", "Notify stakeholders (VP Eng, IT Director)", "internal_sent"),
        ("start-log", "Start incident log", "declared"))),  # the timeline is the log
    (300.0, "Initial Assessment", (
        ("check-status-page", "Check status page for external issues", None),
        ("aws-health", "Verify AWS service health", None),
        ("dns", "Check DNS resolution", None),
        ("connectivity", "Test basic connectivity", None))),
    (900.0, "Recovery Attempts Begin", (
        ("auto-recovery", "Attempt automatic recovery (pod restart)", None),
        ("recent-deploys", "Check for recent deployments", None),
        ("error-logs", "Review error logs", None),
        ("engage-engineers", "Engage additional engineers if needed", None))),
    (1800.0, "Communication Update", (
        ("post-status", "Post status to status page", "external_sent"),
        ("customer-notice", "Send customer notification if applicable", None),
        ("update-channel", "Update incident channel", None),
        ("management-eta", "Notify management of ETA", None))),
    (3600.0, "Escalation if Not Resolved", (
        ("all-engineers", "Engage all available engineers", None),
        ("aws-support", "Contact AWS support if needed", None),
        ("dr-failover", "Consider failover to DR site", None),
        ("manual-recovery", "Prepare for manual recovery", None))),
)

# The runbook's section 8.3, with {placeholders} become template fields.
DEFAULT_INTERNAL_SUBJECT = "[INCIDENT] {{ .Organization }} - {{ .Title }}"
DEFAULT_INTERNAL_BODY = """\
Severity: {{ .Severity }}
Status: {{ .Status }}
Start Time: {{ .StartTime }}
Impact: {{ .Impact }}

Current Status:
{{ .CurrentStatus }}

Next Update: {{ .NextUpdate }}
Incident Channel: {{ .Channel }}
"""
DEFAULT_EXTERNAL_SUBJECT = "{{ .Organization }} status: {{ .Title }}"
DEFAULT_EXTERNAL_BODY = """\
We are currently investigating issues affecting {{ .Service }}.
Users may experience {{ .Symptoms }}.
We will provide updates as more information becomes available.
"""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def severity_name(value: Any) -> str:
    """``SEV-N`` for ``SEV-N``, ``sev-n``, ``N`` or ``"N"`` (N in 1..4); ValueError otherwise."""
    text = str(value).strip().upper()
    if text.isdigit():
        text = f"SEV-{text}"
    if text not in SEVERITIES:
        raise ValueError(f"unknown severity {value!r}; known: {', '.join(SEVERITIES)}")
    return text


def _by_severity(value: Any) -> Any:
    """Severity keys normalised to ``SEV-N``, each error at its key."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        try:
            name = severity_name(key)
        except ValueError as exc:
            raise LocatedValueError(str(exc), (key,)) from None
        if name in out:
            raise LocatedValueError(f"{name} is given twice", (key,))
        out[name] = item
    return out


def task_key(title: str) -> str:
    """The key a task gets from its title: lower-case words joined by ``-``, at most 64
    characters (``Check DNS resolution`` -> ``check-dns-resolution``)."""
    return "-".join(re.findall(r"[a-z0-9]+", title.lower()))[:64].rstrip("-") or "task"


def check_done_when(fact: str) -> str:
    """``fact`` when it is one of :data:`DONE_WHEN_FACTS`; ValueError naming them otherwise."""
    if fact not in DONE_WHEN_FACTS:
        hint = (" (a resolved incident's checklist is closed: nothing is ticked then)"
                if fact == "status:resolved" else "")
        raise ValueError(f"unknown done_when {fact!r}{hint}; known: {', '.join(DONE_WHEN_FACTS)}")
    return fact


def parse_template(text: str, name: str) -> None:
    """Raise ValueError with the template's own ``template: NAME:LINE: message`` if ``text``
    does not parse."""
    try:
        Template(name, text, dict.fromkeys(TEMPLATE_FUNCTIONS, _never_called))
    except TemplateError as exc:
        raise ValueError(str(exc)) from None


def _never_called(*_: Any) -> Any:  # only the names matter when parsing
    raise AssertionError("config templates are only parsed")


class ChecklistTask(Section):
    """A task: written as its title alone, or as ``{key, title, done_when}``; the key (default:
    :func:`task_key` of the title) names it in the API and CLI and in the state database, so
    a title can be reworded without losing what was done."""

    key: str
    title: str = Field(min_length=1)
    # A fact Vigil records itself (DONE_WHEN_FACTS): the response loop ticks the task once it
    # is in the timeline. None: only people tick it.
    done_when: str | None = None

    @field_validator("done_when")
    @classmethod
    def _fact(cls, fact: str | None) -> str | None:
        return None if fact is None else check_done_when(fact)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"title": data}
        if isinstance(data, dict) and "key" not in data and isinstance(data.get("title"), str):
            data = {**data, "key": task_key(data["title"])}
        return data

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", key):
            raise ValueError(f"invalid task key {key!r}: lower-case letters, digits and . _ -, at most 64")
        return key


class ChecklistPhase(Section):
    """Tasks due ``at`` after the declaration (``0m``, ``5m``, ``1h`` ...)."""

    at: Duration
    title: str = Field(min_length=1)
    tasks: list[ChecklistTask] = Field(min_length=1)

    @field_validator("at")
    @classmethod
    def _at(cls, seconds: float) -> float:
        if seconds > MAX_PHASE_AT_S:
            raise ValueError("a phase is due at most 7d after the declaration")
        return seconds


def _runbook_phases(count: int) -> list[ChecklistPhase]:
    return [ChecklistPhase.model_validate({"at": at, "title": title,
                                           "tasks": [{"key": k, "title": t, "done_when": w} for k, t, w in tasks]})
            for at, title, tasks in RUNBOOK_SEV1[:count]]


DEFAULT_CHECKLISTS: dict[str, list[ChecklistPhase]] = {
    "SEV-1": _runbook_phases(5), "SEV-2": _runbook_phases(3), "SEV-3": _runbook_phases(2),
    "SEV-4": _runbook_phases(1)}


def _check_checklist(severity: str, phases: list[ChecklistPhase]) -> None:
    seen: set[str] = set()
    last = -1.0
    for i, phase in enumerate(phases):
        if phase.at < last:
            raise LocatedValueError(f"{severity}: phases must be in the order of their times", (i, "at"))
        last = phase.at
        for j, task in enumerate(phase.tasks):
            if task.key in seen:
                raise LocatedValueError(f"{severity}: task key {task.key!r} is used twice (give one of "
                                        "them a key of its own)", (i, "tasks", j))
            seen.add(task.key)


class PageOverdue(Section):
    """Page when a task stays overdue ``after`` its due time: the incident's ``commander``,
    or ``schedule:NAME`` (who is on call), ``user:NAME``, ``team:NAME``."""

    after: Duration = 300.0
    to: str = "commander"

    @field_validator("to")
    @classmethod
    def _to(cls, to: str) -> str:
        kind, sep, name = to.partition(":")
        if to != "commander" and (not sep or kind not in PAGE_TARGET_KINDS or not name):
            raise ValueError(f"to must be commander, schedule:NAME, user:NAME or team:NAME, not {to!r}")
        return to


class CommunicationTemplate(Section):
    subject: str
    body: str
    # Receivers of alerting.receivers to send through, per severity (none: not sent).
    receivers: dict[str, list[str]] = Field(default_factory=dict)

    _severities = field_validator("receivers", mode="before")(_by_severity)

    @model_validator(mode="after")
    def _parse(self) -> CommunicationTemplate:
        for field in ("subject", "body"):
            try:
                parse_template(getattr(self, field), field)
            except ValueError as exc:
                raise LocatedValueError(str(exc), (field,)) from None
        return self


class InternalTemplate(CommunicationTemplate):
    subject: str = DEFAULT_INTERNAL_SUBJECT
    body: str = DEFAULT_INTERNAL_BODY
    # Sent by Vigil when an incident of these severities is declared (claimed once).
    notify_on_declare: list[str] = Field(default_factory=lambda: ["SEV-1", "SEV-2"])

    @field_validator("notify_on_declare", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for i, item in enumerate(value):
            try:
                out.append(severity_name(item))
            except ValueError as exc:
                raise LocatedValueError(str(exc), (i,)) from None
        return out


class ExternalTemplate(CommunicationTemplate):
    subject: str = DEFAULT_EXTERNAL_SUBJECT
    body: str = DEFAULT_EXTERNAL_BODY


class Communications(Section):
    organization: str = "Smart Dairy"  # the runbook's; the templates' .Organization
    internal: InternalTemplate = InternalTemplate()
    external: ExternalTemplate = ExternalTemplate()

    def template(self, kind: str) -> CommunicationTemplate:
        """The ``internal`` or ``external`` template."""
        return self.internal if kind == "internal" else self.external


def _check_checklists(value: dict[str, list[ChecklistPhase]]) -> dict[str, list[ChecklistPhase]]:
    for severity, phases in value.items():
        try:
            _check_checklist(severity, phases)
        except LocatedValueError as exc:
            raise LocatedValueError(str(exc), (severity, *exc.path)) from None
    # A severity not named keeps its default checklist.
    return {**DEFAULT_CHECKLISTS, **value}


Checklists = Annotated[dict[str, list[ChecklistPhase]], BeforeValidator(_by_severity),
                       AfterValidator(_check_checklists)]
"""The type of ``incidents.checklists``: phases per severity (``SEV-1`` .. ``SEV-4``)."""


def default_checklists() -> dict[str, list[ChecklistPhase]]:
    return dict(DEFAULT_CHECKLISTS)


def check_incident_response(section: Any, data: dict[str, Any]) -> None:
    """What the response settings of ``section`` (the ``incidents:`` section) name elsewhere;
    ``data`` holds the config's fields validated before it (``alerting``, ``users``,
    ``teams``, ``schedules``). Every communications receiver exists in ``alerting.receivers``
    with e-mail, Slack or webhook configs; ``page_overdue.to`` names a known schedule, and a
    user or team of ``users:``/``teams:`` when the config has them (people kept only in the
    database are not known here). Raises :class:`LocatedValueError` with a path from the
    section."""
    alerting = data.get("alerting")
    receivers = {r.name: r for r in alerting.receivers} if alerting is not None else {}
    communications = section.communications
    for kind in ("internal", "external"):
        for severity, names in communications.template(kind).receivers.items():
            for i, name in enumerate(names):
                where = ("communications", kind, "receivers", severity, i)
                receiver = receivers.get(name)
                if receiver is None:
                    raise LocatedValueError(f"unknown receiver {name!r} (not in alerting.receivers)", where)
                if not (receiver.email_configs or receiver.slack_configs or receiver.webhook_configs):
                    raise LocatedValueError(f"receiver {name!r} has no email_configs, slack_configs or "
                                            "webhook_configs to send communications through", where)
    page = section.page_overdue
    if page is None or page.to == "commander":
        return
    kind, _, name = page.to.partition(":")
    users = {u.name for u in data.get("users") or ()}
    teams = {t.name for t in data.get("teams") or ()}
    known = {"schedule": {s.name for s in data.get("schedules") or ()}, "user": users, "team": teams}[kind]
    checked = kind == "schedule" or (bool(users) if kind == "user" else bool(teams or users))
    if checked and name not in known:
        raise LocatedValueError(f"page_overdue: unknown {kind} {name!r}", ("page_overdue", "to"))
