"""Prometheus rule files: loading and strict validation, as ``promtool check rules`` does.

A file holds ``groups: [{name, interval, query_offset, limit, rules: [...]}]``; each rule
has ``record`` or ``alert``, ``expr`` and, for alerts, ``for``, ``keep_firing_for``,
``labels``, ``annotations``. Every problem raises :class:`vigil.errors.ConfigError` located
as ``file:line:col: groups[0].rules[2].expr: message``, with Prometheus's wording.

Expressions are PromQL unless the loader is given another language: Loki's ruler files have
the same shape with LogQL expressions. The caller then passes the language's name and its
parser (this stage does not import the log stack), and every group remembers its language
so that the manager evaluates it with that language's query function.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.config.yamlmarks import Marks, load_yaml, load_yaml_file
from vigil.errors import ParseError
from vigil.gocompat.durations import parse_duration_ms
from vigil.model.labels import METRIC_NAME, Labels, is_label_name, is_metric_name

__all__ = ["Rule", "RuleGroup", "load_rule_files", "load_rule_text", "parse_promql"]


_GROUP_FIELDS = {"name", "interval", "query_offset", "limit", "rules"}
_RULE_FIELDS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}

Pairs = tuple[tuple[str, str], ...]

PROMQL = "promql"
"""The language of a rule group unless its loader says otherwise."""

ExprParser = Callable[[str], Any]
"""Parses one expression of a rule language; raises :class:`vigil.errors.ParseError`."""


@dataclass(frozen=True)
class Rule:
    """One rule as written. ``labels``/``annotations`` keep empty values (an empty rule label
    removes that label from the result, as in Prometheus). ``parsed`` is the PromQL AST."""

    record: str
    alert: str
    expr: str
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    labels: Pairs = ()
    annotations: Pairs = ()
    line: int = 0
    parsed: Any = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.record or self.alert

    @property
    def type(self) -> str:
        return "recording" if self.record else "alerting"

    @property
    def query(self) -> str:
        """The expression as Prometheus prints it (canonical form), for APIs and links."""
        return self.expr if self.parsed is None else str(self.parsed)


@dataclass(frozen=True)
class RuleGroup:
    """A rule group. ``interval_s``/``query_offset_s`` are None when the file leaves them to
    the defaults; ``limit`` 0 means no limit. ``language`` names the query language of its
    expressions (:data:`PROMQL`, or e.g. ``"logql"`` for a Loki ruler file)."""

    name: str
    file: str
    rules: tuple[Rule, ...] = ()
    interval_s: float | None = None
    query_offset_s: float | None = None
    limit: int = 0
    line: int = 0
    language: str = PROMQL

    @property
    def key(self) -> str:
        """``"<file>;<name>"``, the group's identity across reloads and restarts."""
        return f"{self.file};{self.name}"


def parse_promql(text: str, features: Iterable[str] = ()) -> Any:
    """Parse PromQL with :func:`vigil.promql.parse_expr` (imported here, not at module load)
    with the enabled ``--enable-feature`` names, as Prometheus parses rules with its
    server's parser options."""
    from vigil.promql.parser import parse_expr

    return parse_expr(text, features=features)


def load_rule_files(paths: Sequence[str], *, ignore_unknown_fields: bool = False,
                    features: Iterable[str] = (), language: str = PROMQL,
                    parse: ExprParser | None = None) -> list[RuleGroup]:
    """Load and validate rule files. Glob patterns are expanded (sorted); a pattern that matches
    nothing is ignored, as Prometheus does, but a plain path that does not exist is an error.
    ``ignore_unknown_fields`` accepts fields Prometheus does not know (promtool's
    ``--ignore-unknown-fields``) instead of rejecting them. ``features``: the PromQL feature
    names expressions may use (:mod:`vigil.model.features`). Another ``language`` than PromQL
    needs its ``parse`` function (``features`` are then unused)."""
    expr_parser = _expr_parser(language, parse, features)
    groups: list[RuleGroup] = []
    seen: set[str] = set()
    for pattern in paths:
        files = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        for f in files:
            if f in seen or os.path.isdir(f):
                continue
            seen.add(f)
            data, marks = load_yaml_file(f)
            groups.extend(_groups(data, marks, ignore_unknown_fields, expr_parser, language))
    return groups


def load_rule_text(text: str, file: str, *, ignore_unknown_fields: bool = False,
                   features: Iterable[str] = (), language: str = PROMQL,
                   parse: ExprParser | None = None) -> list[RuleGroup]:
    """Validate rule-file text; ``file`` names it in errors and in the groups' keys."""
    expr_parser = _expr_parser(language, parse, features)
    data, marks = load_yaml(text, file)
    return _groups(data, marks, ignore_unknown_fields, expr_parser, language)


def _expr_parser(language: str, parse: ExprParser | None, features: Iterable[str]) -> ExprParser:
    if parse is not None:
        return parse
    if language != PROMQL:
        raise ValueError(f"rules in {language} need that language's parser")
    enabled = tuple(features)
    return lambda text: parse_promql(text, enabled)


def _check_fields(obj: Any, allowed: set[str], type_name: str, marks: Marks,
                  path: tuple[str | int, ...], ignore_unknown: bool = False) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise marks.error(f"expected a mapping for {type_name}, got {_yaml_type(obj)}", path)
    for key in obj:
        if key not in allowed and not ignore_unknown:
            raise marks.error(f"field {key} not found in type {type_name}", (*path, key))
    return obj


def _yaml_type(v: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(v), type(v).__name__)


def _groups(data: Any, marks: Marks, ignore_unknown: bool, parse: ExprParser,
            language: str) -> list[RuleGroup]:
    if data is None:
        return []
    top = _check_fields(data, {"groups"}, "rulefmt.RuleGroups", marks, (), ignore_unknown)
    raw = top.get("groups") or []
    if not isinstance(raw, list):
        raise marks.error(f"expected a list of groups, got {_yaml_type(raw)}", ("groups",))
    out: list[RuleGroup] = []
    names: set[str] = set()
    for gi, g in enumerate(raw):
        path: tuple[str | int, ...] = ("groups", gi)
        g = _check_fields(g, _GROUP_FIELDS, "rulefmt.RuleGroup", marks, path, ignore_unknown)
        name = g.get("name")
        if not isinstance(name, str) or not name.strip():
            raise marks.error("Groupname must not be empty", (*path, "name"))
        if name in names:
            raise marks.error(f'groupname: "{name}" is repeated in the same file', (*path, "name"))
        names.add(name)
        interval = _duration(g, "interval", marks, path)
        offset = _duration(g, "query_offset", marks, path)
        limit = g.get("limit", 0)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise marks.error("limit must be a non-negative integer", (*path, "limit"))
        rules_raw = g.get("rules") or []
        if not isinstance(rules_raw, list):
            raise marks.error(f"expected a list of rules, got {_yaml_type(rules_raw)}", (*path, "rules"))
        rules = tuple(_rule(r, marks, (*path, "rules", ri), ignore_unknown, parse, language)
                      for ri, r in enumerate(rules_raw))
        out.append(RuleGroup(
            name=name, file=marks.file, rules=rules,
            interval_s=(interval / 1000.0) if interval else None,
            query_offset_s=None if offset is None else offset / 1000.0,
            limit=limit, line=marks.locate(path)[0] or 0, language=language,
        ))
    return out


def _duration(obj: dict[str, Any], key: str, marks: Marks, path: tuple[str | int, ...]) -> int | None:
    if key not in obj or obj[key] is None:
        return None
    v = obj[key]
    try:
        if not isinstance(v, str):
            raise ValueError(f'not a valid duration string: "{v}"')
        return parse_duration_ms(v)
    except ValueError as exc:
        raise marks.error(str(exc), (*path, key)) from None


def _string_map(obj: dict[str, Any], key: str, marks: Marks, path: tuple[str | int, ...]) -> Pairs:
    v = obj.get(key)
    if v is None:
        return ()
    if not isinstance(v, dict):
        raise marks.error(f"expected a mapping of strings, got {_yaml_type(v)}", (*path, key))
    out = []
    for k, val in v.items():
        if isinstance(val, (dict, list)):
            raise marks.error(f"expected a string, got {_yaml_type(val)}", (*path, key, k))
        text = "" if val is None else ("true" if val is True else "false" if val is False else str(val))
        out.append((str(k), text))
    return tuple(sorted(out))


def _rule(r: Any, marks: Marks, path: tuple[str | int, ...], ignore_unknown: bool,
          parse: ExprParser, language: str) -> Rule:
    r = _check_fields(r, _RULE_FIELDS, "rulefmt.Rule", marks, path, ignore_unknown)
    record, alert = r.get("record"), r.get("alert")
    for key, v in (("record", record), ("alert", alert)):
        if v is not None and not isinstance(v, str):
            raise marks.error(f"expected a string, got {_yaml_type(v)}", (*path, key))
    if record and alert:
        raise marks.error("only one of 'record' and 'alert' must be set", path)
    if not record and not alert:
        raise marks.error("one of 'record' or 'alert' must be set", path)
    expr = r.get("expr")
    if expr is None or (isinstance(expr, str) and not expr.strip()):
        raise marks.error("field 'expr' must be set in rule", path)
    if not isinstance(expr, (str, int, float)) or isinstance(expr, bool):
        what = "PromQL" if language == PROMQL else language
        raise marks.error(f"expected a {what} expression, got {_yaml_type(expr)}", (*path, "expr"))
    expr = str(expr)
    try:
        parsed = parse(expr)
    except ParseError as exc:
        raise marks.error(f"could not parse expression: {exc}", (*path, "expr")) from None
    labels = _string_map(r, "labels", marks, path)
    annotations = _string_map(r, "annotations", marks, path)
    for k, _ in labels:
        if not is_label_name(k) or k == METRIC_NAME:
            raise marks.error(f"invalid label name: {k}", (*path, "labels", k))
    for k, _ in annotations:
        if not is_label_name(k):
            raise marks.error(f"invalid annotation name: {k}", (*path, "annotations", k))
    for_ms = _duration(r, "for", marks, path)
    keep_ms = _duration(r, "keep_firing_for", marks, path)
    if record:
        for key, present in (("for", for_ms is not None), ("keep_firing_for", keep_ms is not None),
                             ("annotations", "annotations" in r)):
            if present:
                raise marks.error(f"invalid field '{key}' in recording rule", (*path, key))
        if not is_metric_name(record):
            raise marks.error(f"invalid recording rule name: {record}", (*path, "record"))
    else:
        _check_templates(alert, labels, annotations, marks, path)
    return Rule(
        record=record or "", alert=alert or "", expr=expr,
        for_s=(for_ms or 0) / 1000.0, keep_firing_for_s=(keep_ms or 0) / 1000.0,
        labels=labels, annotations=annotations, line=marks.locate(path)[0] or 0, parsed=parsed,
    )


def _check_templates(alert: str, labels: Pairs, annotations: Pairs, marks: Marks,
                     path: tuple[str | int, ...]) -> None:
    from vigil.rules.template import AlertTemplate, TemplateError

    for key, pairs in (("labels", labels), ("annotations", annotations)):
        for k, v in pairs:
            try:
                AlertTemplate(v, f"__alert_{alert}")
            except TemplateError as exc:
                what = "label" if key == "labels" else "annotation"
                raise marks.error(f'{what} "{k}": {exc}', (*path, key, k)) from None


def rule_labels(rule: Rule) -> Labels:
    """The rule's labels as :class:`Labels` (empty values dropped), for status reports."""
    return Labels(rule.labels)
