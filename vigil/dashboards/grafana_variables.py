"""Grafana template variables (``templating.list``) to Perses variables.

=============  ==========================================================================
Grafana        Perses
=============  ==========================================================================
query          ``label_values(label)`` and ``label_values(selector, label)`` →
               PrometheusLabelValuesVariable; ``label_names(...)`` →
               PrometheusLabelNamesVariable; ``metrics(regex)`` → the values of
               ``__name__`` matching the regex; ``query_result(expr)`` and a bare
               expression → PrometheusPromQLVariable, whose label is read from the
               variable's regex (``/.*instance="([^"]+)".*/`` → ``instance``); the
               regex itself becomes ``capturingRegexp``
custom         StaticListVariable (``a,b`` and ``text : value`` pairs)
interval       StaticListVariable of the durations; the "auto" option is dropped (panels
               that want it should use ``$__interval``)
constant       TextVariable, constant and hidden
textbox        TextVariable
datasource     dropped: Vigil is the only data source
adhoc          dropped: Vigil has no ad hoc filters
=============  ==========================================================================

``multi`` → ``allowMultiple``, ``includeAll`` → ``allowAllValue``, ``allValue`` →
``customAllValue``, ``hide: 2`` → hidden, ``sort`` → Perses's sort names, ``current`` →
``defaultValue``. What is dropped is said in ``notes``.
"""

from __future__ import annotations

import re
from typing import Any

from vigil.dashboards.model import VARIABLE_NAME_PATTERN

__all__ = ["convert_variables"]

_LABEL_VALUES = re.compile(r"^label_values\(\s*(?:(?P<selector>.*?)\s*,\s*)?(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)$", re.S)
_LABEL_NAMES = re.compile(r"^label_names\(\s*(?P<selector>.*?)\s*\)$", re.S)
_METRICS = re.compile(r"^metrics\(\s*(?P<regex>.*?)\s*\)$", re.S)
_QUERY_RESULT = re.compile(r"^query_result\(\s*(?P<expr>.*)\s*\)$", re.S)
# A capturing regex that pulls one label's value out of query_result's series text.
_LABEL_IN_REGEX = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\\?="\(')
_SORT = {1: "alphabetical-asc", 2: "alphabetical-desc", 3: "numerical-asc", 4: "numerical-desc",
         5: "alphabetical-ci-asc", 6: "alphabetical-ci-desc"}
_ALL = "$__all"


def _query_text(query: Any) -> str:
    """The classic query text of a query variable (a string, or ``{"query": ...}`` since 8.x)."""
    if isinstance(query, dict):
        if isinstance(query.get("query"), str):
            return query["query"].strip()
        # Grafana 10's structured editor: qryType 1 label names, 2 label values, 3 metrics.
        label, metric = query.get("label"), query.get("metric")
        if query.get("qryType") == 2 and isinstance(label, str):
            return f"label_values({metric}, {label})" if metric else f"label_values({label})"
        return ""
    return query.strip() if isinstance(query, str) else ""


def _regex_body(regex: Any) -> str | None:
    """Grafana's ``/body/flags`` (or a bare body) as the body; None when empty."""
    if not isinstance(regex, str) or not regex.strip():
        return None
    text = regex.strip()
    if m := re.fullmatch(r"/(.*)/[a-z]*", text, re.S):
        return m.group(1) or None
    return text


def _query_plugin(text: str, regex: str | None) -> dict[str, Any] | None:
    """The Perses variable plugin for a Grafana Prometheus query, or None if not understood."""
    if m := _LABEL_VALUES.match(text):
        selector = (m.group("selector") or "").strip()
        return {"kind": "PrometheusLabelValuesVariable",
                "spec": {"labelName": m.group("label")} | ({"matchers": [selector]} if selector else {})}
    if m := _LABEL_NAMES.match(text):
        selector = m.group("selector").strip()
        return {"kind": "PrometheusLabelNamesVariable", "spec": {"matchers": [selector]} if selector else {}}
    if m := _METRICS.match(text):
        pattern = m.group("regex").strip().strip("\"'") or ".*"
        # Grafana searches names for the regex; PromQL's =~ is anchored, so unanchor it.
        body = pattern[1:] if pattern.startswith("^") else ".*" + pattern
        body = body[:-1] if body.endswith("$") else body + ".*"
        escaped = body.replace("\\", "\\\\").replace('"', '\\"')
        return {"kind": "PrometheusLabelValuesVariable",
                "spec": {"labelName": "__name__", "matchers": [f'{{__name__=~"{escaped}"}}']}}
    m = _QUERY_RESULT.match(text)
    expr = m.group("expr").strip() if m else text
    if not expr or re.match(r"^\w+\(\s*\)$", expr):
        return None
    label = None
    if regex and (found := _LABEL_IN_REGEX.search(regex)):
        label = found.group(1)
    return {"kind": "PrometheusPromQLVariable", "spec": {"expr": expr} | ({"labelName": label} if label else {})}


def _split_custom(query: str) -> list[str | dict[str, str]]:
    """A custom variable's ``a,b\\,c, text : value`` as Perses static values."""
    values: list[str | dict[str, str]] = []
    for part in re.split(r"(?<!\\),", query):
        item = part.replace("\\,", ",").strip()
        if not item:
            continue
        if " : " in item:
            text, value = (s.strip() for s in item.split(" : ", 1))
            values.append({"label": text, "value": value})
        else:
            values.append(item)
    return values


def _current(var: dict[str, Any]) -> str | list[str] | None:
    current = var.get("current")
    if not isinstance(current, dict):
        return None
    value = current.get("value")
    if isinstance(value, list):
        values = [str(v) for v in value if v is not None]
        return values or None
    return str(value) if value not in (None, "") else None


def _display(var: dict[str, Any]) -> dict[str, Any] | None:
    display: dict[str, Any] = {}
    if isinstance(var.get("label"), str) and var["label"]:
        display["name"] = var["label"]
    if isinstance(var.get("description"), str) and var["description"]:
        display["description"] = var["description"]
    if var.get("hide") == 2:
        display["hidden"] = True
    return display or None


def _list_variable(var: dict[str, Any], plugin: dict[str, Any], regex: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": var["name"]}
    if display := _display(var):
        spec["display"] = display
    allow_all = bool(var.get("includeAll"))
    multi = bool(var.get("multi"))
    current = _current(var)
    if isinstance(current, str) and current.startswith("$__auto"):
        current = None  # the interval variable's dropped "auto" option
    if current is not None:
        if isinstance(current, list) and _ALL in current or current == _ALL:
            current = _ALL if allow_all else None
        elif isinstance(current, list) and not multi:
            current = current[0]
        if current is not None:
            spec["defaultValue"] = current
    spec["allowAllValue"] = allow_all
    spec["allowMultiple"] = multi
    if allow_all and isinstance(var.get("allValue"), str) and var["allValue"]:
        spec["customAllValue"] = var["allValue"]
    if regex:
        spec["capturingRegexp"] = regex
    if var.get("sort") in _SORT:
        spec["sort"] = _SORT[var["sort"]]
    spec["plugin"] = plugin
    return {"kind": "ListVariable", "spec": spec}


def _text_variable(var: dict[str, Any], value: str, *, constant: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": var["name"]}
    display = _display(var) or {}
    if constant:
        display["hidden"] = True
    if display:
        spec["display"] = display
    spec["value"] = value
    if constant:
        spec["constant"] = True
    return {"kind": "TextVariable", "spec": spec}


def convert_variables(templating: Any, notes: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Perses variables for Grafana's ``templating`` and the names of the dropped
    ``datasource`` variables (panels refer to those in their ``datasource`` fields only)."""
    variables: list[dict[str, Any]] = []
    datasource_names: list[str] = []
    items = templating.get("list") if isinstance(templating, dict) else None
    for i, var in enumerate(items or []):
        where = f"templating.list[{i}]"
        if not isinstance(var, dict):
            notes.append(f"{where}: not an object; skipped")
            continue
        name, typ = var.get("name"), var.get("type")
        if not isinstance(name, str) or not re.match(VARIABLE_NAME_PATTERN, name):
            notes.append(f"{where}: variable name {name!r} is not usable as $name; skipped")
            continue
        where = f"variable {name}"
        if typ == "datasource":
            datasource_names.append(name)
            notes.append(f"{where}: datasource variable dropped (Vigil is the only data source)")
        elif typ == "adhoc":
            notes.append(f"{where}: ad hoc filters are not supported; dropped")
        elif typ == "query":
            regex = _regex_body(var.get("regex"))
            text = _query_text(var.get("query")) or (var.get("definition") or "").strip()
            plugin = _query_plugin(text, regex)
            if plugin is None:
                notes.append(f"{where}: query {text!r} not understood; made a text box")
                variables.append(_text_variable(var, str(_current(var) or ""), constant=False))
                continue
            if plugin["kind"] == "PrometheusPromQLVariable" and "labelName" not in plugin["spec"]:
                notes.append(f"{where}: query_result without a label-capturing regex; values are the series' values")
            keep_regex = regex if plugin["kind"] != "PrometheusPromQLVariable" or "labelName" not in plugin["spec"] else None
            variables.append(_list_variable(var, plugin, keep_regex))
        elif typ in ("custom", "interval"):
            values = _split_custom(str(var.get("query") or ""))
            if not values:
                notes.append(f"{where}: {typ} variable without values; skipped")
                continue
            if typ == "interval" and var.get("auto"):
                notes.append(f"{where}: the 'auto' interval is dropped (use $__interval in queries)")
            variables.append(_list_variable(var, {"kind": "StaticListVariable", "spec": {"values": values}}, None))
        elif typ in ("constant", "textbox"):
            value = var.get("query")
            value = value if isinstance(value, str) else str(_current(var) or "")
            variables.append(_text_variable(var, value, constant=typ == "constant"))
        else:
            notes.append(f"{where}: variable type {typ!r} is not supported; dropped")
    return variables, datasource_names
