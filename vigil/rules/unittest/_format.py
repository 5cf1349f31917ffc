"""The unit-test file format of ``promtool test rules``, read strictly with line numbers.

A file holds ``rule_files``, ``evaluation_interval`` (default 1m), ``fuzzy_compare``,
``group_eval_order`` and ``tests``; each test group has ``interval`` (default: the
evaluation interval), ``input_series``, ``name``, ``start_timestamp``, ``alert_rule_test``,
``promql_expr_test``, ``external_labels`` and ``external_url``. Unknown fields are errors
(``field x not found in type main.testGroup``, as promtool words it), located as
``file:line:col: path: message``. Durations are kept as int milliseconds.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from vigil.config.yamlmarks import Marks
from vigil.errors import ConfigError
from vigil.gocompat.durations import parse_duration_ms
from vigil.gocompat.floats import parse_float
from vigil.gocompat.times import parse_rfc3339

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class InputSeries:
    series: str
    values: str
    line: int = 0


@dataclass(frozen=True)
class ExpAlert:
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class AlertTest:
    eval_time_ms: int
    alertname: str
    exp_alerts: tuple[ExpAlert, ...]
    line: int = 0


@dataclass(frozen=True)
class ExpSample:
    labels: str
    value: float
    histogram: str = ""


@dataclass(frozen=True)
class ExprTest:
    expr: str
    eval_time_ms: int
    exp_samples: tuple[ExpSample, ...]
    line: int = 0


@dataclass(frozen=True)
class TestGroup:
    interval_ms: int
    input_series: tuple[InputSeries, ...] = ()
    name: str = ""
    start_ms: int = 0
    alert_tests: tuple[AlertTest, ...] = ()
    expr_tests: tuple[ExprTest, ...] = ()
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    line: int = 0

    def max_eval_time_ms(self) -> int:
        times = [t.eval_time_ms for t in self.alert_tests] + [t.eval_time_ms for t in self.expr_tests]
        return max(times, default=0)


@dataclass(frozen=True)
class TestFile:
    path: str
    rule_files: tuple[str, ...]
    evaluation_interval_ms: int
    fuzzy_compare: bool
    group_eval_order: tuple[str, ...]
    tests: tuple[TestGroup, ...]
    warnings: tuple[str, ...] = ()


_FILE_FIELDS = {"rule_files", "evaluation_interval", "fuzzy_compare", "group_eval_order", "tests"}
_GROUP_FIELDS = {"interval", "input_series", "name", "start_timestamp", "alert_rule_test",
                 "promql_expr_test", "external_labels", "external_url"}


def load_test_file(path: str) -> TestFile:
    """Read and validate one unit-test file. Rule file paths are resolved against the test
    file's directory and globbed (a pattern matching nothing is a warning, as in promtool).
    Raises :class:`vigil.errors.ConfigError` with the location of the first problem."""
    data, marks = load_raw(path)
    r = MarkedReader(marks)
    top = r.mapping(data if data is not None else {}, _FILE_FIELDS, "main.unitTestFile", ())
    interval = r.duration(top, "evaluation_interval", ()) or 60_000
    order = tuple(r.strings(top, "group_eval_order", ()))
    seen: set[str] = set()
    for i, name in enumerate(order):
        if name in seen:
            raise marks.error(f"group name repeated in evaluation order: {name}",
                              ("group_eval_order", i))
        seen.add(name)
    base = os.path.dirname(path)
    files: list[str] = []
    warnings: list[str] = []
    for pattern in r.strings(top, "rule_files", ()):
        if pattern and not os.path.isabs(pattern):
            pattern = os.path.join(base, pattern)
        matched = sorted(glob.glob(pattern))
        if not matched:
            warnings.append(f"no file match pattern {pattern}")
        files.extend(matched)
    tests = top.get("tests") or []
    if not isinstance(tests, list):
        raise marks.error("expected a list of test groups", ("tests",))
    groups = tuple(r.test_group(g, interval, ("tests", i)) for i, g in enumerate(tests))
    return TestFile(path=path, rule_files=tuple(files), evaluation_interval_ms=interval,
                    fuzzy_compare=r.boolean(top, "fuzzy_compare", ()),
                    group_eval_order=order, tests=groups, warnings=tuple(warnings))


class MarkedReader:
    """Typed access to the parsed YAML, raising located errors."""

    def __init__(self, marks: Marks) -> None:
        self.marks = marks

    def line(self, path: Path) -> int:
        return self.marks.locate(path)[0] or 0

    def mapping(self, obj: Any, allowed: set[str] | None, type_name: str, path: Path) -> dict[str, Any]:
        if obj is None:
            return {}
        if not isinstance(obj, dict):
            raise self.marks.error(f"expected a mapping for {type_name}", path)
        if allowed is not None:
            for key in obj:
                if key not in allowed:
                    raise self.marks.error(f"field {key} not found in type {type_name}", (*path, key))
        return obj

    def items(self, obj: dict[str, Any], key: str, path: Path) -> list[Any]:
        v = obj.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.marks.error(f"expected a list for {key}", (*path, key))
        return v

    def string(self, obj: dict[str, Any], key: str, path: Path) -> str:
        v = obj.get(key)
        if v is None:
            return ""
        if isinstance(v, (dict, list)):
            raise self.marks.error(f"expected a string for {key}", (*path, key))
        return _scalar_text(v)

    def strings(self, obj: dict[str, Any], key: str, path: Path) -> list[str]:
        out = []
        for i, v in enumerate(self.items(obj, key, path)):
            if isinstance(v, (dict, list)):
                raise self.marks.error("expected a string", (*path, key, i))
            out.append(_scalar_text(v))
        return out

    def string_map(self, obj: dict[str, Any], key: str, path: Path) -> dict[str, str]:
        m = self.mapping(obj.get(key), None, "map[string]string", (*path, key))
        out = {}
        for k, v in m.items():
            if isinstance(v, (dict, list)):
                raise self.marks.error("expected a string", (*path, key, k))
            out[str(k)] = "" if v is None else _scalar_text(v)
        return out

    def boolean(self, obj: dict[str, Any], key: str, path: Path) -> bool:
        v = obj.get(key)
        if v is None:
            return False
        text = str(v).lower() if isinstance(v, str) else ""
        if text not in ("true", "false"):
            raise self.marks.error(f"expected true or false for {key}", (*path, key))
        return text == "true"

    def duration(self, obj: dict[str, Any], key: str, path: Path) -> int:
        v = obj.get(key)
        if v is None:
            return 0
        try:
            return parse_duration_ms(_scalar_text(v))
        except ValueError as exc:
            raise self.marks.error(str(exc), (*path, key)) from None

    def number(self, obj: dict[str, Any], key: str, path: Path) -> float:
        v = obj.get(key)
        if v is None:
            return 0.0
        try:
            return _go_number(v)
        except (TypeError, ValueError):
            raise self.marks.error(f"expected a number for {key}", (*path, key)) from None

    def start(self, obj: dict[str, Any], path: Path) -> int:
        v = obj.get("start_timestamp")
        if v is None:
            return 0
        text = _scalar_text(v)
        # promtool's parseTime: strconv.ParseFloat seconds, else RFC 3339.
        try:
            return round(parse_float(text) * 1000)
        except (ValueError, OverflowError):
            pass
        try:
            return round(parse_rfc3339(text).timestamp() * 1000)
        except ValueError:
            raise self.marks.error(
                f"start_timestamp: cannot parse {text!r} as a Unix timestamp or RFC3339 time",
                (*path, "start_timestamp")) from None

    def test_group(self, g: Any, default_interval: int, path: Path) -> TestGroup:
        g = self.mapping(g, _GROUP_FIELDS, "main.testGroup", path)
        series = []
        for i, s in enumerate(self.items(g, "input_series", path)):
            p = (*path, "input_series", i)
            s = self.mapping(s, {"series", "values"}, "main.series", p)
            series.append(InputSeries(self.string(s, "series", p), self.string(s, "values", p),
                                      self.line(p)))
        alerts = []
        for i, a in enumerate(self.items(g, "alert_rule_test", path)):
            p = (*path, "alert_rule_test", i)
            a = self.mapping(a, {"eval_time", "alertname", "exp_alerts"}, "main.alertTestCase", p)
            exp = []
            for j, e in enumerate(self.items(a, "exp_alerts", p)):
                q = (*p, "exp_alerts", j)
                e = self.mapping(e, {"exp_labels", "exp_annotations"}, "main.alert", q)
                exp.append(ExpAlert(self.string_map(e, "exp_labels", q),
                                    self.string_map(e, "exp_annotations", q)))
            alerts.append(AlertTest(self.duration(a, "eval_time", p), self.string(a, "alertname", p),
                                    tuple(exp), self.line(p)))
        exprs = []
        for i, t in enumerate(self.items(g, "promql_expr_test", path)):
            p = (*path, "promql_expr_test", i)
            t = self.mapping(t, {"expr", "eval_time", "exp_samples"}, "main.promqlTestCase", p)
            samples = []
            for j, s in enumerate(self.items(t, "exp_samples", p)):
                q = (*p, "exp_samples", j)
                s = self.mapping(s, {"labels", "value", "histogram"}, "main.sample", q)
                samples.append(ExpSample(self.string(s, "labels", q), self.number(s, "value", q),
                                         self.string(s, "histogram", q)))
            exprs.append(ExprTest(self.string(t, "expr", p), self.duration(t, "eval_time", p),
                                  tuple(samples), self.line(p)))
        return TestGroup(
            interval_ms=self.duration(g, "interval", path) or default_interval,
            input_series=tuple(series), name=self.string(g, "name", path),
            start_ms=self.start(g, path), alert_tests=tuple(alerts), expr_tests=tuple(exprs),
            external_labels=self.string_map(g, "external_labels", path),
            external_url=self.string(g, "external_url", path), line=self.line(path),
        )


def load_raw(path: str) -> tuple[Any, Marks]:
    """Parse YAML keeping every scalar's text as written (``0x10`` stays ``"0x10"``, not 16),
    as Go's YAML decoder does for string fields; nulls become None."""
    marks = Marks(path)
    try:
        with open(path, encoding="utf-8") as f:
            node = yaml.compose(f, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", file=path,
                          line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=path) from None
    except OSError as exc:
        raise ConfigError(str(exc), file=path) from None
    return (None if node is None else _raw(node, (), marks)), marks


def _raw(node: yaml.Node, path: Path, marks: Marks) -> Any:
    marks.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for k, v in node.value:
            key = str(k.value)
            if key in out:
                raise marks.error(f"duplicate key {key!r}", path)
            out[key] = _raw(v, (*path, key), marks)
            marks.positions[(*path, key)] = (k.start_mark.line + 1, k.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_raw(item, (*path, i), marks) for i, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:null" and node.style is None:
        return None
    return node.value


def _scalar_text(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float) and v.is_integer():
        return repr(v)
    return str(v)


def _go_number(text: str) -> float:
    """A YAML float as Go reads one: also ``.inf``, ``-.Inf``, ``.nan``."""
    t = text.strip().lower().replace("_", "")
    special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
    if t in special:
        return special[t]
    if t.startswith(("0x", "-0x", "+0x")):
        return float(int(t, 16))
    return float(t)
