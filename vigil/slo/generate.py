"""Sloth's rules for an SLO file: per SLO, the SLI error-ratio recordings for every alert
window and the period, the metadata recordings (objective, budget, burn rates, budget left,
``sloth_slo_info``) and the multi-window multi-burn-rate page and ticket alerts — the same
group names, rule names, expressions, labels and annotations Sloth writes (checked against
Sloth's published outputs in tests/data/sloth/), so dashboards and alerts built on Sloth's
series keep working.

Numbers are printed as Go prints float64 (``%g``/``%v``: shortest round-trip digits, no
``.0``), which is what makes e.g. ``0.0009999999999999432`` appear in the alert thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from vigil.slo.model import SPEC_VERSION, SLOFile, SLOSpec
from vigil.slo.windows import (
    DEFAULT_WINDOWS,
    AlertWindows,
    BurnWindow,
    prom_window,
    sli_error_ratio_query,
    window_hours,
)

__all__ = ["GenerateOptions", "generate_groups", "generate_slo_groups", "go_float", "render_rules",
           "rules_yaml"]


@dataclass(frozen=True)
class GenerateOptions:
    windows: AlertWindows = DEFAULT_WINDOWS
    extra_labels: Mapping[str, str] | None = None
    # What sloth_slo_info says made the rules (Sloth: its version and "cli-gen-prom").
    version: str = "vigil"
    mode: str = "cli-gen-prom"
    disable_recordings: bool = False
    disable_alerts: bool = False


def go_float(x: float) -> str:
    """``x`` as Go's ``%g``/``%v`` print a float64 (shortest digits; exponent below 1e-4)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def go_float_f(x: float) -> str:
    """``strconv.FormatFloat(x, 'f', -1, 64)``: shortest digits, never an exponent."""
    text = format(Decimal(repr(float(x))), "f")  # the shortest digits, written out
    return text[:-2] if text.endswith(".0") else text


def _merge(*maps: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in maps:
        out.update(m or {})
    return dict(sorted(out.items()))  # written sorted, as Sloth's YAML encoder does


def _go_quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # Go %q for the label values Sloth writes


def _filter(labels: Mapping[str, str]) -> str:
    """Prometheus ``LabelSet.String()``: ``{a="x", b="y"}``, names sorted."""
    return "{" + ", ".join(f"{k}={_go_quote(labels[k])}" for k in sorted(labels)) + "}"


def _id_labels(spec: SLOFile, slo: SLOSpec) -> dict[str, str]:
    return {"sloth_id": spec.slo_id(slo), "sloth_service": spec.service, "sloth_slo": slo.name}


def _sli_rules(spec: SLOFile, slo: SLOSpec, labels: dict[str, str],
               w: AlertWindows) -> list[dict[str, Any]]:
    ids = _id_labels(spec, slo)
    rules = []
    for window in w.burn_windows():
        rules.append({"record": f"slo:sli_error:ratio_rate{window}",
                      "expr": sli_error_ratio_query(slo, window),
                      "labels": _merge(ids, {"sloth_window": window}, labels)})
    # The period from the shortest window's recordings (Sloth's "optimized" SLI rule).
    period, short = prom_window(w.period), w.page_quick.short_window
    metric = f"slo:sli_error:ratio_rate{short}{_filter(ids)}"
    rules.append({"record": f"slo:sli_error:ratio_rate{period}",
                  "expr": f"sum_over_time({metric}[{period}])\n/ ignoring (sloth_window)\n"
                          f"count_over_time({metric}[{period}])\n",
                  "labels": _merge(ids, {"sloth_window": period}, labels)})
    return rules


def _burn_rate_expr(metric: str, ids: dict[str, str]) -> str:
    f = _filter(ids)
    return (f"{metric}{f}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
            f"slo:error_budget:ratio{f}\n")


def _meta_rules(spec: SLOFile, slo: SLOSpec, labels: dict[str, str], w: AlertWindows,
                opts: GenerateOptions) -> list[dict[str, Any]]:
    ids = _id_labels(spec, slo)
    ratio = slo.objective / 100
    period = prom_window(w.period)
    info = _merge(labels, {"sloth_version": opts.version, "sloth_mode": opts.mode,
                           "sloth_spec": SPEC_VERSION, "sloth_objective": go_float_f(slo.objective)})
    return [
        {"record": "slo:objective:ratio", "expr": f"vector({go_float(ratio)})", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{go_float(ratio)})",
         "labels": labels},
        {"record": "slo:time_period:days", "expr": f"vector({go_float(window_hours(w.period) / 24)})",
         "labels": labels},
        {"record": "slo:current_burn_rate:ratio", "labels": labels, "expr": _burn_rate_expr(
            f"slo:sli_error:ratio_rate{w.page_quick.short_window}", ids)},
        {"record": "slo:period_burn_rate:ratio", "labels": labels,
         "expr": _burn_rate_expr(f"slo:sli_error:ratio_rate{period}", ids)},
        {"record": "slo:period_error_budget_remaining:ratio", "labels": labels,
         "expr": f"1 - slo:period_burn_rate:ratio{_filter(ids)}"},
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": info},
    ]


def _alert_expr(ids: dict[str, str], budget: float, quick: BurnWindow, slow: BurnWindow,
                w: AlertWindows) -> str:
    f, b = _filter(ids), go_float(budget)

    def cond(window: str, factor: float) -> str:
        return (f"    max(slo:sli_error:ratio_rate{window}{f} > ({go_float(factor)} * {b}))"
                " without (sloth_window)\n")

    qf, sf = w.factor(quick), w.factor(slow)
    return ("(\n" + cond(quick.short_window, qf) + "    and\n" + cond(quick.long_window, qf)
            + ")\nor\n(\n" + cond(slow.short_window, sf) + "    and\n"
            + cond(slow.long_window, sf) + ")\n")


def _alert_rules(spec: SLOFile, slo: SLOSpec, w: AlertWindows) -> list[dict[str, Any]]:
    ids = _id_labels(spec, slo)
    budget = (100 - slo.objective) / 100
    a = slo.alerting
    rules = []
    for severity, meta, quick, slow in (("page", a.page_alert, w.page_quick, w.page_slow),
                                        ("ticket", a.ticket_alert, w.ticket_quick, w.ticket_slow)):
        if meta.disable:
            continue
        defaults = {
            "title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} "
                     "SLO error budget burn rate is too fast.",
            "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn "
                       "rate is over expected.",
        }
        rules.append({
            "alert": a.name, "expr": _alert_expr(ids, budget, quick, slow, w),
            "labels": _merge({"sloth_severity": severity}, a.labels, meta.labels),
            "annotations": _merge(defaults, a.annotations, meta.annotations),
        })
    return rules


def generate_slo_groups(spec: SLOFile, slo: SLOSpec,
                        opts: GenerateOptions = GenerateOptions()) -> list[dict[str, Any]]:
    """The rule groups (as rule-file mappings) Sloth generates for one SLO of a document."""
    groups: list[dict[str, Any]] = []
    w = opts.windows
    sid = spec.slo_id(slo)
    labels = _merge(_id_labels(spec, slo), spec.labels, slo.labels, opts.extra_labels)
    sli_labels = _merge(spec.labels, slo.labels, opts.extra_labels)
    if not opts.disable_recordings:
        groups.append({"name": f"sloth-slo-sli-recordings-{sid}",
                       "rules": _sli_rules(spec, slo, sli_labels, w)})
        groups.append({"name": f"sloth-slo-meta-recordings-{sid}",
                       "rules": _meta_rules(spec, slo, labels, w, opts)})
    alerts = [] if opts.disable_alerts else _alert_rules(spec, slo, w)
    if alerts:
        groups.append({"name": f"sloth-slo-alerts-{sid}", "rules": alerts})
    return groups


def generate_groups(spec: SLOFile, opts: GenerateOptions = GenerateOptions()) -> list[dict[str, Any]]:
    """The rule groups Sloth generates for one SLO document, SLO by SLO."""
    return [g for slo in spec.slos for g in generate_slo_groups(spec, slo, opts)]


def rules_yaml(groups: list[dict[str, Any]]) -> str:
    return yaml.dump({"groups": groups}, Dumper=_Dumper, sort_keys=False, width=100,
                     allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # rules share label mappings; write each out in full as Sloth does


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_rules(specs: Sequence[SLOFile], source: str,
                 opts: GenerateOptions = GenerateOptions()) -> str:
    """The rule file text: one YAML document per SLO document, as Sloth writes them."""
    out = []
    for spec in specs:
        body = rules_yaml(generate_groups(spec, opts))
        out.append(f"---\n# Code generated by vigil slo generate from {source} (Sloth "
                   f"{SPEC_VERSION} rules).\n# DO NOT EDIT.\n\n{body}")
    return "".join(out)
