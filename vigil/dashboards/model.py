"""The Perses dashboard model as pydantic classes.

A file looks like this (Perses's own format; see docs/dashboards.md):

.. code-block:: yaml

    kind: Dashboard
    metadata: {name: infrastructure, project: smart-dairy}
    spec:
      display: {name: Infrastructure, description: Hosts of the farm}
      duration: 1h
      refreshInterval: 30s
      variables:
        - kind: ListVariable
          spec:
            name: instance
            allowMultiple: true
            allowAllValue: true
            plugin: {kind: PrometheusLabelValuesVariable,
                     spec: {labelName: instance, matchers: ['up{job="node"}']}}
      panels:
        cpu:
          kind: Panel
          spec:
            display: {name: CPU busy}
            plugin: {kind: TimeSeriesChart, spec: {}}
            queries:
              - kind: TimeSeriesQuery
                spec:
                  plugin:
                    kind: PrometheusTimeSeriesQuery
                    spec: {query: 'rate(node_cpu_seconds_total{instance=~"$instance"}[$__rate_interval])',
                           seriesNameFormat: '{{instance}}'}
      layouts:
        - kind: Grid
          spec:
            display: {title: Hosts, collapse: {open: true}}
            items:
              - {x: 0, y: 0, width: 12, height: 6, content: {$ref: '#/spec/panels/cpu'}}

Structural objects refuse unknown keys (a typo is an error, not a silently ignored field).
The ``spec`` of a *panel* plugin stays an open mapping for Perses's own kinds (their options
are many and drawn by the browser); Vigil's own kinds (:data:`VIGIL_PANEL_KINDS`) and every
query and variable plugin are typed. :func:`dump_dashboard` writes back exactly the keys that
were given, so a file read and saved again keeps its shape.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from vigil.gocompat.durations import parse_duration_ms

__all__ = [
    "NAME_PATTERN", "PANEL_KINDS", "PERSES_PANEL_KINDS", "VARIABLE_NAME_PATTERN",
    "VARIABLE_PLUGIN_KINDS", "VIGIL_PANEL_KINDS", "AlertListSpec", "Dashboard", "DashboardSpec",
    "Display", "GridItem", "GridSpec", "HeatmapSpec", "Layout", "ListVariable", "ListVariableSpec",
    "Metadata", "Panel", "PanelPlugin", "PanelSpec", "PromQLVariableSpec", "PrometheusQuerySpec",
    "LabelNamesVariableSpec", "LabelValuesVariableSpec", "Query", "QueryPlugin",
    "StaticListVariableSpec", "StatusGridSpec", "TextVariable", "TextVariableSpec",
    "Thresholds", "Variable", "VariablePlugin", "dump_dashboard", "panel_ref", "parse_dashboard",
    "ref_panel_name",
]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,74}$"
"""Dashboard and panel names: safe as a file name and inside a ``$ref`` (Perses's limit, 75)."""
VARIABLE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""Variable names: what ``$name`` can reference without braces."""

PERSES_PANEL_KINDS = frozenset({
    "TimeSeriesChart", "StatChart", "GaugeChart", "BarChart", "Table", "Markdown",
})
VIGIL_PANEL_KINDS = frozenset({"StatusGrid", "AlertList", "Heatmap"})
PANEL_KINDS = PERSES_PANEL_KINDS | VIGIL_PANEL_KINDS
VARIABLE_PLUGIN_KINDS = frozenset({
    "PrometheusLabelValuesVariable", "PrometheusLabelNamesVariable",
    "PrometheusPromQLVariable", "StaticListVariable",
})

_REF_PREFIX = "#/spec/panels/"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _duration(value: str) -> str:
    parse_duration_ms(value)  # raises ValueError with the reason
    return value


PromDuration = Annotated[str, AfterValidator(_duration)]
"""A Prometheus duration kept as written (``30s``, ``1h``), checked on read."""


class Metadata(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    project: str | None = None
    # Written by a Perses server; kept so its exports load unchanged.
    createdAt: str | None = None
    updatedAt: str | None = None
    version: int | None = None


class Display(_Strict):
    name: str | None = None
    description: str | None = None


class VariableDisplay(Display):
    hidden: bool | None = None


class Thresholds(_Strict):
    """Perses thresholds: colours from a value upwards; ``mode`` absolute or percent."""

    mode: Literal["absolute", "percent"] | None = None
    defaultColor: str | None = None
    steps: list[ThresholdStep] | None = None


class ThresholdStep(_Strict):
    value: float
    color: str | None = None
    name: str | None = None


# -- Vigil's own panel kinds ---------------------------------------------------------------

class StatusGridSpec(_Strict):
    """StatusGrid: one cell per series of the panel's queries (e.g. ``up``), named by the
    query's ``seriesNameFormat``, coloured by ``thresholds`` (default: 0 red, 1 and up green)."""

    thresholds: Thresholds | None = None
    format: dict[str, Any] | None = None  # Perses format: {unit, decimalPlaces}
    columns: int | None = Field(default=None, ge=1, le=24)


class AlertListSpec(_Strict):
    """AlertList: Vigil's alerts whose labels match every matcher (``severity="critical"``,
    ``team=~"farm|iot"``), in the given states; the panel has no queries."""

    matchers: list[str] | None = None
    states: list[Literal["firing", "pending", "inactive"]] | None = None
    limit: int | None = Field(default=None, ge=1, le=1000)


class HeatmapSpec(_Strict):
    """Heatmap of a classic histogram: the query returns ``*_bucket`` series with ``le``
    (usually ``sum by (le) (rate(x_bucket[$__rate_interval]))``); cells are bucket counts."""

    yAxisFormat: dict[str, Any] | None = None  # Perses format of the bucket bounds
    colorScheme: str | None = None


VIGIL_PANEL_SPECS: dict[str, type[BaseModel]] = {
    "StatusGrid": StatusGridSpec, "AlertList": AlertListSpec, "Heatmap": HeatmapSpec,
}


class PanelPlugin(_Strict):
    kind: str
    spec: dict[str, Any] = Field(default_factory=dict)


# -- queries -------------------------------------------------------------------------------

class DatasourceSelector(_Strict):
    kind: str = "PrometheusDatasource"
    name: str | None = None


class PrometheusQuerySpec(_Strict):
    query: str
    datasource: DatasourceSelector | None = None
    seriesNameFormat: str | None = None
    minStep: PromDuration | None = None
    resolution: int | None = Field(default=None, ge=1)


class QueryPlugin(_Strict):
    kind: Literal["PrometheusTimeSeriesQuery"]
    spec: PrometheusQuerySpec


class QuerySpec(_Strict):
    plugin: QueryPlugin


class Query(_Strict):
    kind: Literal["TimeSeriesQuery"]
    spec: QuerySpec


class Link(_Strict):
    url: str
    name: str | None = None
    tooltip: str | None = None
    renderVariables: bool | None = None
    targetBlank: bool | None = None


class PanelSpec(_Strict):
    display: Display = Field(default_factory=Display)
    plugin: PanelPlugin
    queries: list[Query] | None = None
    links: list[Link] | None = None


class Panel(_Strict):
    kind: Literal["Panel"]
    spec: PanelSpec


# -- layouts -------------------------------------------------------------------------------

class Collapse(_Strict):
    open: bool


class GridDisplay(_Strict):
    title: str | None = None
    collapse: Collapse | None = None


class PanelRef(_Strict):
    ref: str = Field(alias="$ref")


class GridItem(_Strict):
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    content: PanelRef


class GridSpec(_Strict):
    display: GridDisplay | None = None
    items: list[GridItem] = Field(default_factory=list)


class Layout(_Strict):
    kind: Literal["Grid"]
    spec: GridSpec


# -- variables -----------------------------------------------------------------------------

class LabelValuesVariableSpec(_Strict):
    labelName: str
    matchers: list[str] | None = None
    datasource: DatasourceSelector | None = None


class LabelNamesVariableSpec(_Strict):
    matchers: list[str] | None = None
    datasource: DatasourceSelector | None = None


class PromQLVariableSpec(_Strict):
    """Values of ``labelName`` in the series ``expr`` returns (or each series' value when no
    label is named, as Perses does for scalars)."""

    expr: str
    labelName: str | None = None
    datasource: DatasourceSelector | None = None


class StaticValue(_Strict):
    label: str
    value: str


class StaticListVariableSpec(_Strict):
    values: list[str | StaticValue]


VARIABLE_PLUGIN_SPECS: dict[str, type[BaseModel]] = {
    "PrometheusLabelValuesVariable": LabelValuesVariableSpec,
    "PrometheusLabelNamesVariable": LabelNamesVariableSpec,
    "PrometheusPromQLVariable": PromQLVariableSpec,
    "StaticListVariable": StaticListVariableSpec,
}


class VariablePlugin(_Strict):
    kind: str
    spec: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in VARIABLE_PLUGIN_KINDS:
            raise ValueError(f"unknown variable plugin {kind!r} (known: "
                             f"{', '.join(sorted(VARIABLE_PLUGIN_KINDS))})")
        return kind

    def typed_spec(self) -> BaseModel:
        """The spec as its plugin's model (raises pydantic's ValidationError)."""
        return VARIABLE_PLUGIN_SPECS[self.kind].model_validate(self.spec)


Sort = Literal["none", "alphabetical-asc", "alphabetical-desc", "numerical-asc",
               "numerical-desc", "alphabetical-ci-asc", "alphabetical-ci-desc"]


class ListVariableSpec(_Strict):
    name: str = Field(pattern=VARIABLE_NAME_PATTERN)
    display: VariableDisplay | None = None
    defaultValue: str | list[str] | None = None
    allowAllValue: bool = False
    allowMultiple: bool = False
    customAllValue: str | None = None
    capturingRegexp: str | None = None
    sort: Sort | None = None
    plugin: VariablePlugin


class ListVariable(_Strict):
    kind: Literal["ListVariable"]
    spec: ListVariableSpec


class TextVariableSpec(_Strict):
    name: str = Field(pattern=VARIABLE_NAME_PATTERN)
    display: VariableDisplay | None = None
    value: str = ""
    constant: bool | None = None


class TextVariable(_Strict):
    kind: Literal["TextVariable"]
    spec: TextVariableSpec


Variable = Annotated[ListVariable | TextVariable, Field(discriminator="kind")]


# -- the dashboard -------------------------------------------------------------------------

class DashboardSpec(_Strict):
    display: Display | None = None
    # Perses dashboards may carry their own datasources; Vigil is the one datasource, so they
    # are kept (for round trips) but not used.
    datasources: dict[str, dict[str, Any]] | None = None
    duration: PromDuration = "1h"
    refreshInterval: PromDuration | None = None
    variables: list[Variable] = Field(default_factory=list)
    panels: dict[Annotated[str, Field(pattern=NAME_PATTERN)], Panel] = Field(default_factory=dict)
    layouts: list[Layout] = Field(default_factory=list)


class Dashboard(_Strict):
    kind: Literal["Dashboard"]
    metadata: Metadata
    spec: DashboardSpec

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def title(self) -> str:
        """What a person reads: ``spec.display.name``, else the name."""
        display = self.spec.display
        return display.name if display and display.name else self.metadata.name

    @property
    def description(self) -> str:
        display = self.spec.display
        return display.description or "" if display else ""

    def variable_names(self) -> list[str]:
        return [v.spec.name for v in self.spec.variables]


def panel_ref(name: str) -> str:
    """The ``$ref`` a grid item uses to place panel ``name``."""
    return _REF_PREFIX + name


def ref_panel_name(ref: str) -> str | None:
    """The panel a ``$ref`` points at, or None when it is not ``#/spec/panels/NAME``."""
    if not ref.startswith(_REF_PREFIX):
        return None
    name = ref[len(_REF_PREFIX):]
    return name if re.match(NAME_PATTERN, name) else None


def parse_dashboard(data: Any) -> Dashboard:
    """A :class:`Dashboard` from parsed YAML/JSON (raises pydantic's ValidationError)."""
    return Dashboard.model_validate(data)


def dump_dashboard(dashboard: Dashboard) -> dict[str, Any]:
    """Plain data (for YAML or JSON) with the keys that were set, Perses's spelling."""
    return dashboard.model_dump(mode="json", by_alias=True, exclude_unset=True)


Thresholds.model_rebuild()
