"""The ``incidents:`` section (issue 17): the severities (the runbook's table, section 8.1)
and how incident channels are named.

.. code-block:: yaml

    incidents:
      channel_pattern: "#incident-{date}-{seq}"   # {date} YYYYMMDD, {seq} 001.., {ref} inc-...
      severities:
        - severity: 1                    # SEV-1; unnamed fields keep the runbook's defaults
          response:                      # paged when a SEV-1 is declared
            schedules: [primary]
            teams: [sre]
            users: [vp-eng]
          update_interval: 30m           # "Next update" cadence while the incident is open
        - severity: 2
          response: {schedules: [primary], users: [lead]}

Every severity 1..4 exists; an entry overrides the defaults of its ``severity``:

========  ============================  ============  ===========================  ========
severity  criteria                      team          communication                update
========  ============================  ============  ===========================  ========
SEV-1     Complete system outage        All hands     Immediate exec notification  30m
SEV-2     Major functionality impaired  L2 + L3       Manager notification         1h
SEV-3     Minor functionality impaired  L2            Ticket only                  none
SEV-4     Cosmetic/no immediate impact  L1            Scheduled fix                none
========  ============================  ============  ===========================  ========

``team`` is the runbook's "Response Team" as text (shown in the UI); ``response`` names who
is actually paged at declaration (schedules, users, teams — nobody by default, as the
defaults cannot know your names). Names are checked like escalation steps' (users and teams
when the config has ``users:``/``teams:``, schedules always). The roles of an incident
(commander, communications, scribe, responders) are fixed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vigil.config.durations import Duration, PositiveDuration
from vigil.config.incident_response import (
    Checklists,
    Communications,
    PageOverdue,
    check_incident_response,
    default_checklists,
)
from vigil.config.located import LocatedValueError

__all__ = ["DEFAULT_CHANNEL_PATTERN", "DEFAULT_SEVERITIES", "IncidentsConfig", "IncidentsSection",
           "Severity", "SeverityResponse"]

DEFAULT_CHANNEL_PATTERN = "#incident-{date}-{seq}"
DEFAULT_SEVERITIES: dict[int, dict[str, Any]] = {
    1: {"criteria": "Complete system outage", "team": "All hands",
        "communication": "Immediate exec notification", "update_interval": 1800.0},
    2: {"criteria": "Major functionality impaired", "team": "L2 + L3",
        "communication": "Manager notification", "update_interval": 3600.0},
    3: {"criteria": "Minor functionality impaired", "team": "L2",
        "communication": "Ticket only", "update_interval": None},
    4: {"criteria": "Cosmetic/no immediate impact", "team": "L1",
        "communication": "Scheduled fix", "update_interval": None},
}
CHANNEL_FIELDS = ("date", "seq", "ref", "id")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeverityResponse(Section):
    """Who is paged when an incident of this severity is declared."""

    schedules: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)

    def empty(self) -> bool:
        return not (self.schedules or self.users or self.teams)


class Severity(Section):
    severity: int = Field(ge=1, le=4)
    name: str = ""  # default SEV-<severity>
    criteria: str = ""
    team: str = ""
    response: SeverityResponse = SeverityResponse()
    communication: str = ""
    update_interval: PositiveDuration | None = None

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        # Fields left out keep the runbook's value for this severity.
        if isinstance(data, dict) and isinstance(data.get("severity"), int) and data["severity"] in DEFAULT_SEVERITIES:
            merged = dict(DEFAULT_SEVERITIES[data["severity"]])
            merged["name"] = f"SEV-{data['severity']}"
            merged.update(data)
            return merged
        return data


class IncidentsConfig(Section):
    channel_pattern: str = DEFAULT_CHANNEL_PATTERN
    # Overrides, at most one per severity; severity(n) fills in the defaults.
    severities: list[Severity] = Field(default_factory=list)
    # The response checklist and communications (vigil.config.incident_response).
    checklists: Checklists = Field(default_factory=default_checklists)
    overdue_grace: Duration = 60.0
    page_overdue: PageOverdue | None = None
    communications: Communications = Communications()

    @field_validator("severities")
    @classmethod
    def _once_each(cls, entries: list[Severity]) -> list[Severity]:
        seen: set[int] = set()
        for i, s in enumerate(entries):
            if s.severity in seen:
                raise LocatedValueError(f"severity {s.severity} is given twice", (i, "severity"))
            seen.add(s.severity)
        return entries

    @field_validator("channel_pattern")
    @classmethod
    def _pattern(cls, pattern: str) -> str:
        try:
            pattern.format(**{k: "x" for k in CHANNEL_FIELDS})
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"channel_pattern may use {', '.join('{' + f + '}' for f in CHANNEL_FIELDS)} "
                             f"only ({type(exc).__name__}: {exc})") from None
        return pattern

    def severity(self, level: int) -> Severity:
        """Severity ``level`` (1..4): the entry given for it, else the runbook's default."""
        return next((s for s in self.severities if s.severity == level), None) or Severity(severity=level)

    def all_severities(self) -> list[Severity]:
        return [self.severity(n) for n in sorted(DEFAULT_SEVERITIES)]


def _check_names(section: IncidentsConfig, info: ValidationInfo) -> IncidentsConfig:
    data = info.data or {}
    users = {u.name for u in data.get("users") or ()}
    teams = {t.name for t in data.get("teams") or ()}
    schedules = {s.name for s in data.get("schedules") or ()}
    for i, s in enumerate(section.severities):
        where = ("severities", i, "response")
        for k, user in enumerate(s.response.users):
            if users and user not in users:
                raise LocatedValueError(f"{s.name}: user {user!r} is not in the users section", (*where, "users", k))
        for k, team in enumerate(s.response.teams):
            if teams and team not in teams:
                raise LocatedValueError(f"{s.name}: team {team!r} is not in the teams section", (*where, "teams", k))
            if not teams and users:
                raise LocatedValueError(f"{s.name}: team {team!r}: the config has no teams section",
                                        (*where, "teams", k))
        for k, schedule in enumerate(s.response.schedules):
            if schedule not in schedules:
                raise LocatedValueError(f"{s.name}: unknown schedule {schedule!r}", (*where, "schedules", k))
    check_incident_response(section, data)
    return section


IncidentsSection = Annotated[IncidentsConfig, AfterValidator(_check_names)]
"""The type of ``Config.incidents``."""
