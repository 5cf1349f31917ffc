"""Grafana data sources and targets to Perses Prometheus queries.

Vigil is the only data source, so what matters is whether a panel's queries are PromQL:
a panel whose data source is another kind (Loki, InfluxDB, Grafana's own "-- Dashboard --"
or "-- Grafana --") becomes a placeholder. Grafana names a data source several ways: an
object ``{type, uid}``, a bare name (older dashboards), ``${var}`` naming a dashboard
``datasource`` variable (whose ``query`` is the plugin type), or ``${DS_X}`` naming one of
an export's ``__inputs`` (whose ``pluginId`` is the type); no data source at all is the
default one, taken to be Prometheus when the target has an ``expr``.

A target becomes ``{query, seriesNameFormat, minStep, resolution}``: ``expr`` as written
(``$__rate_interval``, ``$__interval``, ``$__range`` and ``$var`` are interpolated later, by
:mod:`vigil.dashboards.interpolate`), ``legendFormat`` with its ``{{label}}`` kept (Perses
uses the same syntax), the target's ``interval`` (Grafana's "Min step"; else the panel's
"Min interval") as ``minStep``, and ``intervalFactor`` (Grafana's "Resolution 1/N") as
``resolution``. The legacy ``step`` field of Grafana 4 targets is ignored, as Grafana 5 and
later ignore it: community dashboards still carry ``"step": 240`` on every target, and
honouring it would draw every panel at four-minute resolution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vigil.gocompat.durations import parse_duration_ms

__all__ = ["PROMETHEUS", "DatasourceKinds", "Targets", "convert_targets", "datasource_kind"]

_VAR_REF = re.compile(r"^\$\{?(\w+)(?::\w+)?\}?$")
# Grafana's built-in pseudo data sources, by uid or name.
_BUILTIN = {"-- grafana --": "grafana", "grafana": "grafana", "-- dashboard --": "dashboard",
            "-- mixed --": "mixed", "-- mixed": "mixed"}
PROMETHEUS = "prometheus"


@dataclass
class DatasourceKinds:
    """What each data source variable (``datasource`` variables and ``__inputs``) stands for."""

    by_variable: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, dashboard: dict[str, Any]) -> DatasourceKinds:
        kinds: dict[str, str] = {}
        for inp in dashboard.get("__inputs") or []:
            if isinstance(inp, dict) and inp.get("type") == "datasource" and isinstance(inp.get("name"), str):
                kinds[inp["name"]] = str(inp.get("pluginId") or "").lower()
        for var in (dashboard.get("templating") or {}).get("list") or []:
            if isinstance(var, dict) and var.get("type") == "datasource" and isinstance(var.get("name"), str):
                kinds[var["name"]] = str(var.get("query") or "").lower()
        return cls(kinds)


def datasource_kind(ds: Any, kinds: DatasourceKinds) -> str | None:
    """The plugin type of a Grafana data source reference (``prometheus``, ``loki``, ``mixed``,
    ``dashboard``...), or None when it is the default or cannot be told."""
    if ds is None:
        return None
    if isinstance(ds, dict):
        typ, uid = ds.get("type"), ds.get("uid")
        if isinstance(uid, str) and uid.lower() in _BUILTIN:
            return _BUILTIN[uid.lower()]
        if isinstance(typ, str) and typ:
            return "grafana" if typ == "datasource" else typ.lower()
        return datasource_kind(uid, kinds) if isinstance(uid, str) else None
    if isinstance(ds, str):
        if ds.lower() in _BUILTIN:
            return _BUILTIN[ds.lower()]
        if m := _VAR_REF.match(ds):
            return kinds.by_variable.get(m.group(1)) or None
    return None  # a bare name of unknown type: judged by its targets


def _min_step(interval: Any) -> str | None:
    """A Grafana "Min step"/"Min interval" (``10s``, ``>10s``) as a Prometheus duration, or
    None when empty, a variable, or not a duration."""
    if not isinstance(interval, str):
        return None
    text = interval.strip().lstrip(">").strip()
    if not text or "$" in text:
        return None
    try:
        parse_duration_ms(text)
    except ValueError:
        return None
    return text


@dataclass
class Targets:
    """A panel's converted queries, which target each came from, and why others were left."""

    queries: list[dict[str, Any]] = field(default_factory=list)
    ref_ids: list[str] = field(default_factory=list)  # refId of each query, same order
    legends: list[str | None] = field(default_factory=list)  # legendFormat of each query
    foreign_kind: str | None = None  # a target's data source that is not Prometheus


def convert_targets(panel: dict[str, Any], panel_kind: str | None, kinds: DatasourceKinds,
                    notes: list[str], where: str) -> Targets:
    """The Perses queries of ``panel``'s visible targets. ``panel_kind`` is the panel's own
    data source type (``mixed`` lets each target name its own)."""
    out = Targets()
    panel_min_step = _min_step(panel.get("interval"))
    if panel.get("interval") and panel_min_step is None:
        notes.append(f"{where}: min interval {panel.get('interval')!r} is not a fixed duration; ignored")
    for i, target in enumerate(panel.get("targets") or []):
        if not isinstance(target, dict):
            continue
        kind = datasource_kind(target.get("datasource"), kinds)
        if kind is None or kind == "mixed":
            kind = panel_kind if panel_kind != "mixed" else None
        if kind not in (None, PROMETHEUS):
            out.foreign_kind = out.foreign_kind or kind
            continue
        ref = str(target.get("refId") or chr(ord("A") + i % 26))
        if target.get("hide") is True:
            notes.append(f"{where}: hidden query {ref} not imported")
            continue
        expr = target.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            if kind is None and any(k in target for k in ("query", "rawSql", "target", "measurement")):
                out.foreign_kind = out.foreign_kind or "unknown (not PromQL)"
            continue
        spec: dict[str, Any] = {"query": expr.strip()}
        legend = target.get("legendFormat")
        if isinstance(legend, str) and legend and legend != "__auto":
            spec["seriesNameFormat"] = legend
        min_step = _min_step(target.get("interval")) or panel_min_step
        if target.get("interval") and _min_step(target.get("interval")) is None:
            notes.append(f"{where}: query {ref} min step {target.get('interval')!r} is not a fixed duration; ignored")
        if min_step:
            spec["minStep"] = min_step
        factor = target.get("intervalFactor")
        if isinstance(factor, int) and not isinstance(factor, bool) and factor > 1:
            spec["resolution"] = factor
        out.queries.append({"kind": "TimeSeriesQuery",
                            "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery", "spec": spec}}})
        out.ref_ids.append(ref)
        out.legends.append(spec.get("seriesNameFormat"))
    return out
