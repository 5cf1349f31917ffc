"""Sloth's ``prometheus/v1`` SLO spec as pydantic models (the file format existing Sloth users
already have, so their files load unchanged).

.. code-block:: yaml

    version: "prometheus/v1"
    service: "myservice"
    labels: {owner: myteam}
    slos:
      - name: "requests-availability"
        objective: 99.9
        sli:
          events:
            error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
            total_query: sum(rate(http_requests_total[{{.window}}]))
        alerting:
          name: MyServiceHighErrorRate
          page_alert: {labels: {severity: page}}
          ticket_alert: {labels: {severity: ticket}}

Sloth's plugins (``sli.plugin``, ``slo_plugins``) are Go code Vigil cannot run: a file that
uses them is refused with an error saying so.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["SPEC_VERSION", "Alert", "Alerting", "SLIEvents", "SLIRaw", "SLISpec", "SLOSpec",
           "SLOFile"]

SPEC_VERSION = "prometheus/v1"
WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")
# Sloth's rule: names become label values and rule-group names.
NAME_RE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class _Spec(BaseModel):
    # Sloth ignores fields it does not know (Go's JSON decoding), so files written for it may
    # carry some (its own test data has ``pageAlert``): accepted here, reported as warnings by
    # :func:`vigil.slo.loader.unknown_fields`.
    model_config = ConfigDict(extra="ignore", frozen=True)


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    for name in labels:
        if not LABEL_NAME_RE.match(name):
            raise ValueError(f"invalid label name {name!r}")
    return labels


def _refuse_plugins(value: object) -> object:
    if value:
        raise ValueError("SLO plugins are Sloth Go plugins, which Vigil cannot run")
    return value


def _check_window_query(query: str) -> str:
    if not query.strip():
        raise ValueError("the query is empty")
    if not WINDOW_PLACEHOLDER.search(query):
        raise ValueError("the query has no {{.window}} placeholder for the rate window")
    return query


class SLIRaw(_Spec):
    error_ratio_query: str

    _query = field_validator("error_ratio_query")(_check_window_query)


class SLIEvents(_Spec):
    error_query: str
    total_query: str

    _queries = field_validator("error_query", "total_query")(_check_window_query)


class SLISpec(_Spec):
    raw: SLIRaw | None = None
    events: SLIEvents | None = None
    plugin: dict[str, object] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SLISpec:
        if self.plugin is not None:
            raise ValueError("SLI plugins are Sloth Go plugins, which Vigil cannot run; "
                             "use sli.events or sli.raw")
        if (self.raw is None) == (self.events is None):
            raise ValueError("exactly one of sli.events or sli.raw is required")
        return self


class Alert(_Spec):
    disable: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    _labels = field_validator("labels")(_check_labels)


class Alerting(_Spec):
    name: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    page_alert: Alert = Field(default_factory=Alert)
    ticket_alert: Alert = Field(default_factory=Alert)

    _labels = field_validator("labels")(_check_labels)


class SLOSpec(_Spec):
    name: str
    description: str = ""
    objective: float
    labels: dict[str, str] = Field(default_factory=dict)
    sli: SLISpec
    alerting: Alerting = Field(default_factory=Alerting)
    plugins: dict[str, object] | None = None

    _labels = field_validator("labels")(_check_labels)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"invalid SLO name {v!r}: letters, digits, '-', '_' and '.'")
        return v

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: float) -> float:
        if not 0 < v <= 100:
            raise ValueError(f"objective {v:g} is not a percentage above 0 and at most 100")
        return v

    _no_plugins = field_validator("plugins")(_refuse_plugins)

    @model_validator(mode="after")
    def _alert_name(self) -> SLOSpec:
        needs_name = not (self.alerting.page_alert.disable and self.alerting.ticket_alert.disable)
        if needs_name and not self.alerting.name:
            raise ValueError("alerting.name is required unless both alerts are disabled")
        return self


class SLOFile(_Spec):
    """One ``prometheus/v1`` document: a service and its SLOs."""

    version: str
    service: str
    labels: dict[str, str] = Field(default_factory=dict)
    slos: list[SLOSpec] = Field(min_length=1)
    slo_plugins: dict[str, object] | None = None

    _labels = field_validator("labels")(_check_labels)

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        if v != SPEC_VERSION:
            raise ValueError(f"unsupported version {v!r}: Vigil reads {SPEC_VERSION!r}")
        return v

    @field_validator("service")
    @classmethod
    def _service(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"invalid service name {v!r}: letters, digits, '-', '_' and '.'")
        return v

    _no_plugins = field_validator("slo_plugins")(_refuse_plugins)

    @model_validator(mode="after")
    def _unique_names(self) -> SLOFile:
        seen: set[str] = set()
        for slo in self.slos:
            if slo.name in seen:
                raise ValueError(f"SLO name {slo.name!r} is used twice in service {self.service!r}")
            seen.add(slo.name)
        return self

    def slo_id(self, slo: SLOSpec) -> str:
        return f"{self.service}-{slo.name}"
