"""The ``objectives:`` section (issue 19, P4): the targets Vigil measures itself against and
the services whose availability it computes.

Defaults are the runbook's "Monitoring Objectives" table: 99.9 % availability (monthly),
time to acknowledge under 5 minutes, time to recover under 1 hour, false-positive rate under
5 %. A service's ``query`` is PromQL whose value is 1 while the service is up and 0 while it
is down (``probe_success{job="blackbox-api"}``, ``up{job="odoo"}``); several series are
averaged (the share of targets up), so write ``min(...)`` when one target down means down.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.config.durations import PositiveDuration

__all__ = ["AvailabilityService", "ObjectivesConfig", "ObjectiveTargets"]

_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class ObjectiveTargets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Percent of the time a service is up over the availability window.
    availability_percent: float = Field(99.9, gt=0, lt=100)
    # Mean seconds from an alert episode's opening to its first acknowledgement.
    mtta: PositiveDuration = 300.0
    # Mean seconds from the start of an incident's impact to its resolution, over the
    # incidents of ``mttr_severities`` (the runbook measures recovery on critical incidents).
    mttr: PositiveDuration = 3600.0
    mttr_severities: list[int] = Field(default_factory=lambda: [1])
    # Percent of classified resolutions classified false_positive.
    false_positive_percent: float = Field(5.0, ge=0, le=100)

    @field_validator("mttr_severities")
    @classmethod
    def _severities(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("name at least one incident severity (1..4)")
        for severity in value:
            if not 1 <= severity <= 4:
                raise ValueError(f"unknown incident severity {severity}; known: 1, 2, 3, 4")
        return sorted(set(value))


class AvailabilityService(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    query: str
    # This service's own availability target (percent); the section's when absent.
    availability_percent: float | None = Field(None, gt=0, lt=100)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _SERVICE_NAME.match(value):
            raise ValueError(f"service name {value!r} must be letters, digits, '_', '.' or '-'")
        return value

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be empty")
        return value


class ObjectivesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: ObjectiveTargets = Field(default_factory=ObjectiveTargets)
    services: list[AvailabilityService] = Field(default_factory=list)
    # The window availability and the error budget are measured over ("monthly").
    availability_window: PositiveDuration = 30 * 86400.0
    # Resolution of the availability subquery: a service down for less than this between
    # two samples may be missed, so keep it at or below the probes' interval.
    availability_step: PositiveDuration = 60.0
    # How often the exported vigil_objective_* metrics are recomputed.
    export_interval: PositiveDuration = 60.0

    @model_validator(mode="after")
    def _unique_services(self) -> ObjectivesConfig:
        seen: set[str] = set()
        for service in self.services:
            if service.name in seen:
                raise ValueError(f"service {service.name!r} is listed twice")
            seen.add(service.name)
        return self

    def target_for(self, service: AvailabilityService) -> float:
        """The service's availability target in percent."""
        if service.availability_percent is not None:
            return service.availability_percent
        return self.targets.availability_percent
