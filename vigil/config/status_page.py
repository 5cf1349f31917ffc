"""The ``status_page:`` section (issue 17): the public, read-only status page at ``/status``.

Each component has a PromQL ``query`` whose series say 1 (healthy) or 0 (down), such as
``probe_success{instance="https://shop"}`` or ``up{job="api"}``. From one evaluation:

* every series healthy: Operational;
* some series down: Partial outage, or Degraded performance while the healthy share is at
  least ``partial_outage_below`` (default 1.0: any series down is a Partial outage);
* no series healthy, or no series at all: Major outage.

A series is healthy when its value is greater than 0 (NaN is down). Open incidents that
name the component raise its status to their severity's ``incident_impact``; a manual
override replaces everything. ``maintenance`` names time intervals of the alerting section
(``alerting.time_intervals``) whose windows are published as scheduled maintenance; while
one is active, its components show Under maintenance instead of their query result.

PromQL is parsed by :func:`vigil.app.check` (the config layer does not import the engine)
through :func:`check_status_page`, which also checks the names the section refers to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.config.checks import check_unique_names, check_url_name
from vigil.config.durations import PositiveDuration
from vigil.config.located import LocatedValueError
from vigil.errors import ParseError

__all__ = ["COMPONENT_STATUSES", "DEFAULT_INCIDENT_IMPACT", "MaintenanceConfig",
           "StatusComponentConfig", "StatusPageConfig", "check_status_page"]

# Best first. "under_maintenance" ranks between operational and any outage.
COMPONENT_STATUSES: tuple[str, ...] = ("operational", "under_maintenance", "degraded_performance",
                                       "partial_outage", "major_outage")
# The runbook's severities: SEV-1 complete outage ... SEV-4 cosmetic.
DEFAULT_INCIDENT_IMPACT: dict[int, str] = {1: "major_outage", 2: "partial_outage",
                                           3: "degraded_performance", 4: "operational"}
_SEVERITY = re.compile(r"^(?:SEV-?)?([1-4])$", re.IGNORECASE)


def _status(value: str, where: str) -> str:
    normal = str(value).strip().lower().replace(" ", "_")
    if normal not in COMPONENT_STATUSES:
        raise ValueError(f"unknown {where} {value!r}; known: {', '.join(COMPONENT_STATUSES)}")
    return normal


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StatusComponentConfig(_Section):
    name: str
    description: str = ""
    group: str | None = None
    # PromQL: one series per checked thing, 1 healthy / 0 down.
    query: str
    # With some series down: Degraded performance while the healthy share is at least
    # this, Partial outage below it (1.0: any series down is a Partial outage).
    partial_outage_below: float = Field(1.0, ge=0.0, le=1.0)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_url_name(name, "component", "the override API's URL")

    @field_validator("query")
    @classmethod
    def _query(cls, query: str) -> str:
        if not query.strip():
            raise ValueError("query must not be empty")
        return query


class MaintenanceConfig(_Section):
    """A maintenance window: a named time interval of the alerting section, the components
    it takes down (default: all) and what the public is told."""

    time_interval: str
    components: list[str] = Field(default_factory=list)
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, data: object) -> object:
        # "- sunday-night" is short for "- time_interval: sunday-night".
        return {"time_interval": data} if isinstance(data, str) else data


class StatusPageConfig(_Section):
    # Default: on when there are components.
    enabled: bool | None = None
    title: str = "Service status"
    components: list[StatusComponentConfig] = Field(default_factory=list)
    # Severity (SEV-1..SEV-4, or 1..4) -> the status of the components an open incident names.
    incident_impact: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_INCIDENT_IMPACT))
    maintenance: list[MaintenanceConfig] = Field(default_factory=list)
    # Incident history and uptime bars reach back this many days.
    history_days: int = Field(90, ge=1, le=366)
    # How often the primary evaluates the component queries.
    check_interval: PositiveDuration = 30.0
    # Maintenance windows published this far ahead.
    maintenance_horizon: PositiveDuration = 14 * 86400.0

    @field_validator("incident_impact", mode="before")
    @classmethod
    def _impact(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        out = dict(DEFAULT_INCIDENT_IMPACT)  # severities not named keep the default
        for key, status in value.items():
            m = _SEVERITY.match(str(key).strip())
            if m is None:
                raise LocatedValueError(f"unknown severity {key!r}; known: SEV-1, SEV-2, SEV-3, SEV-4",
                                        (key,))
            try:
                out[int(m.group(1))] = _status(status, "status")
            except ValueError as exc:
                raise LocatedValueError(str(exc), (key,)) from None
        return out

    @model_validator(mode="after")
    def _names(self) -> StatusPageConfig:
        check_unique_names([c.name for c in self.components], "component names must be unique",
                           ("components",))
        known = {c.name for c in self.components}
        for i, window in enumerate(self.maintenance):
            for j, name in enumerate(window.components):
                if name not in known:
                    raise LocatedValueError(f"unknown component {name!r}", ("maintenance", i, "components", j))
        return self

    @property
    def active(self) -> bool:
        """Whether the page is served and its checks run."""
        return bool(self.components) if self.enabled is None else self.enabled

    def component(self, name: str) -> StatusComponentConfig | None:
        return next((c for c in self.components if c.name == name), None)

    def maintenance_components(self, window: MaintenanceConfig) -> tuple[str, ...]:
        return tuple(window.components) or tuple(c.name for c in self.components)


def check_status_page(section: StatusPageConfig, interval_names: set[str],
                      parse: Callable[[str], Any]) -> tuple[tuple[str | int, ...], str] | None:
    """The first problem of ``section`` that needs more than the section itself, as (YAML
    path below ``status_page``, message): a query ``parse`` refuses (it raises
    ``ValueError`` or :class:`vigil.errors.ParseError`), a maintenance window naming a time
    interval not in ``interval_names``. None when there is none."""
    for i, component in enumerate(section.components):
        try:
            parse(component.query)
        except (ParseError, ValueError) as exc:
            return ("components", i, "query"), f"invalid PromQL: {exc}"
    for i, window in enumerate(section.maintenance):
        if window.time_interval not in interval_names:
            return ("maintenance", i, "time_interval"), \
                f"undefined time interval {window.time_interval!r} (alerting.time_intervals)"
    return None
