"""``vigil rules test --logql``: unit tests for Loki ruler files, in promtool's shape.

A test file (docs/logs.md, "Unit tests for log rules")::

    rule_files: [ssh.yml]            # Loki ruler files, relative to this file
    evaluation_interval: 1m
    group_eval_order: [...]          # optional, as promtool's
    tests:
      - name: brute force            # optional
        interval: 10s                # default spacing of lines (default: evaluation_interval)
        start_timestamp: 0           # optional: Unix seconds or RFC 3339
        input_streams:
          - stream: '{job="sshd", host="a"}'
            interval: 5s             # optional, this stream's spacing
            lines:                   # line i at start + i × interval; ~ (null) skips a slot
              - Failed password for root from 10.0.0.1 port 22 ssh2
        alert_rule_test: [...]       # as promtool's: eval_time, alertname, exp_alerts
        logql_expr_test:             # as promtool's promql_expr_test, with LogQL
          - expr: sum(count_over_time({job="sshd"}[5m]))
            eval_time: 5m
            exp_samples: [{labels: '{}', value: 1}]

Each test group stores its lines in a real log store and evaluates the rule files' groups with
the rule manager over it, recording into a real TSDB, both in a temporary directory: at every
``evaluation_interval`` from the start to the latest ``eval_time``, as promtool steps. Failures
are promtool's text, each prefixed with the test case's ``file:line``.
"""

from __future__ import annotations

import glob
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vigil.errors import VigilError
from vigil.gocompat.durations import format_duration_ms
from vigil.gocompat.quote import quote
from vigil.logs.logql import LogQLEngine
from vigil.logs.logql.parser import parse_log_selector
from vigil.logs.model import LogEntry
from vigil.logs.rules import LOGQL, logql_query_func, parse_rule_expr
from vigil.logs.store import LogStore
from vigil.model.labels import Labels
from vigil.promql.engine import Engine
from vigil.promql.parser.series_notation import parse_series_desc
from vigil.promql.value import Scalar, Vector
from vigil.rules import Manager, engine_query_func
from vigil.rules.rulefmt import RuleGroup, load_rule_files
from vigil.rules.unittest._format import ExpAlert, MarkedReader, Path, load_raw
from vigil.rules.unittest.runner import alerts_text, samples_text
from vigil.selfmetrics import SelfMetrics
from vigil.storage import Storage

__all__ = ["LogQLTestFile", "run_logql_test_file"]

_MS = 1_000_000  # ns per ms
_FILE = {"rule_files", "evaluation_interval", "group_eval_order", "tests"}
_GROUP = {"name", "interval", "start_timestamp", "input_streams", "alert_rule_test",
          "logql_expr_test"}


@dataclass(frozen=True)
class _Case:
    line: int
    eval_time_ms: int
    name: str = ""  # alertname, or the expression
    exp_alerts: tuple[ExpAlert, ...] = ()
    exp_samples: tuple[tuple[str, float], ...] = ()


@dataclass
class _Group:
    name: str
    start_ms: int
    entries: list[LogEntry] = field(default_factory=list)
    alerts: list[_Case] = field(default_factory=list)
    exprs: list[_Case] = field(default_factory=list)

    def max_eval_ms(self) -> int:
        return max((c.eval_time_ms for c in self.alerts + self.exprs), default=0)


@dataclass(frozen=True)
class LogQLTestFile:
    path: str
    rule_files: tuple[str, ...]
    interval_ms: int
    group_eval_order: tuple[str, ...]
    tests: tuple[_Group, ...]
    warnings: tuple[str, ...]


class _LogReader(MarkedReader):
    def group(self, g: Any, default_interval: int, path: Path) -> _Group:
        g = self.mapping(g, _GROUP, "logqlTestGroup", path)
        interval = self.duration(g, "interval", path) or default_interval
        group = _Group(self.string(g, "name", path), self.start(g, path))
        for i, s in enumerate(self.items(g, "input_streams", path)):
            group.entries.extend(self.stream(s, group.start_ms, interval,
                                             (*path, "input_streams", i)))
        for i, a in enumerate(self.items(g, "alert_rule_test", path)):
            p = (*path, "alert_rule_test", i)
            a = self.mapping(a, {"eval_time", "alertname", "exp_alerts"}, "alertTestCase", p)
            name = self.string(a, "alertname", p)
            if not name:
                raise self.marks.error("alertname is required", p)
            exp = []
            for j, e in enumerate(self.items(a, "exp_alerts", p)):
                q = (*p, "exp_alerts", j)
                e = self.mapping(e, {"exp_labels", "exp_annotations"}, "alert", q)
                exp.append(ExpAlert(self.string_map(e, "exp_labels", q),
                                    self.string_map(e, "exp_annotations", q)))
            group.alerts.append(_Case(self.line(p), self.duration(a, "eval_time", p), name,
                                      exp_alerts=tuple(exp)))
        for i, t in enumerate(self.items(g, "logql_expr_test", path)):
            p = (*path, "logql_expr_test", i)
            t = self.mapping(t, {"expr", "eval_time", "exp_samples"}, "logqlTestCase", p)
            samples = []
            for j, s in enumerate(self.items(t, "exp_samples", p)):
                q = (*p, "exp_samples", j)
                s = self.mapping(s, {"labels", "value"}, "sample", q)
                samples.append((self.string(s, "labels", q), self.number(s, "value", q)))
            group.exprs.append(_Case(self.line(p), self.duration(t, "eval_time", p),
                                     self.string(t, "expr", p), exp_samples=tuple(samples)))
        return group

    def stream(self, s: Any, start_ms: int, interval: int, path: Path) -> list[LogEntry]:
        s = self.mapping(s, {"stream", "interval", "lines"}, "inputStream", path)
        text = self.string(s, "stream", path)
        try:
            selector = parse_log_selector(text)
        except VigilError as exc:
            raise self.marks.error(f"stream {text!r}: {exc}", (*path, "stream")) from None
        if selector.stages or any(m.type.value != "=" for m in selector.matchers):
            raise self.marks.error(f"stream {text!r}: labels must be given as name=\"value\"",
                                   (*path, "stream"))
        labels = Labels({m.name: m.value for m in selector.matchers})
        every = self.duration(s, "interval", path) or interval
        out = []
        for i, line in enumerate(self.items(s, "lines", path)):
            if line is None:
                continue
            if isinstance(line, (dict, list)):
                raise self.marks.error("expected a string", (*path, "lines", i))
            out.append(LogEntry((start_ms + i * every) * _MS, labels, str(line)))
        return out


def load_logql_test_file(path: str) -> LogQLTestFile:
    """Read one test file; ConfigError with ``file:line:col`` at the first problem."""
    data, marks = load_raw(path)
    r = _LogReader(marks)
    top = r.mapping(data if data is not None else {}, _FILE, "logqlUnitTestFile", ())
    interval = r.duration(top, "evaluation_interval", ()) or 60_000
    files: list[str] = []
    warnings: list[str] = []
    for pattern in r.strings(top, "rule_files", ()):
        if pattern and not os.path.isabs(pattern):
            pattern = os.path.join(os.path.dirname(path), pattern)
        matched = sorted(glob.glob(pattern))
        if not matched:
            warnings.append(f"no file match pattern {pattern}")
        files.extend(matched)
    groups = tuple(r.group(g, interval, ("tests", i))
                   for i, g in enumerate(r.items(top, "tests", ())))
    return LogQLTestFile(path, tuple(files), interval, tuple(r.strings(top, "group_eval_order", ())),
                         groups, tuple(warnings))


def run_logql_test_file(path: str, storage: Callable[[], Any]) -> tuple[list[str], list[str]]:
    """Run one file; returns ``(errors, warnings)`` (no errors: it passed). ``storage`` opens
    the TSDB recording rules write to (a context manager, one per test group)."""
    try:
        tf = load_logql_test_file(path)
        groups = load_rule_files(list(tf.rule_files), language=LOGQL, parse=parse_rule_expr)
    except (VigilError, OSError) as exc:
        return [str(exc)], []
    order = {name: i for i, name in enumerate(tf.group_eval_order)}
    groups.sort(key=lambda g: order.get(g.name, 0))
    errors: list[str] = []
    for tg in tf.tests:
        with storage() as tsdb, tempfile.TemporaryDirectory(prefix="vigil-logql-test-") as d:
            store = LogStore.open(os.path.join(d, "logs"))
            try:
                store.append(sorted(tg.entries, key=lambda e: e.ts_ns))
                errors.extend(_run_group(tf, tg, groups, tsdb, LogQLEngine(store)))
            finally:
                store.close()
    return errors, list(tf.warnings)


def _run_group(tf: LogQLTestFile, tg: _Group, groups: list[RuleGroup], tsdb: Storage,
               engine: LogQLEngine) -> list[str]:
    errors: list[str] = []
    manager = Manager(query=engine_query_func(Engine(tsdb)), notify=lambda alerts: None,
                      storage=tsdb, state_store=None, metrics=SelfMetrics(),
                      default_interval_s=tf.interval_ms / 1000.0,
                      languages={LOGQL: logql_query_func(engine)})
    manager.update(groups)
    step, start = tf.interval_ms, tg.start_ms
    due = sorted(tg.alerts, key=lambda c: c.eval_time_ms)
    ts = start
    while ts <= start + tg.max_eval_ms():
        for g in groups:
            manager.evaluate_group(g, ts)
        broken = [f"    rule: {r.name}, time: {format_duration_ms(ts - start)}, err: "
                  f"{r.last_error}" for s in manager.groups() for r in s.rules
                  if r.health == "err"]
        if broken:
            return errors + broken
        while due and ts - start <= due[0].eval_time_ms < ts - start + step:
            errors.extend(_check_alerts(tf.path, tg, manager, due.pop(0)))
        ts += step
    for case in tg.exprs:
        errors.extend(_check_expr(tf.path, tg, engine, case))
    return errors


def _where(path: str, tg: _Group, case: _Case) -> str:
    name = f"    name: {tg.name},\n" if tg.name else ""
    return f"{name}    {path}:{case.line}: "


def _check_alerts(path: str, tg: _Group, manager: Manager, case: _Case) -> list[str]:
    got = sorted((a.labels, a.annotations) for a in manager.alerts()
                 if a.state == "firing" and a.labels.get("alertname") == case.name)
    exp = sorted((Labels({**e.labels, "alertname": case.name}), Labels(e.annotations))
                 for e in case.exp_alerts)
    if got == exp:
        return []
    indent = " " * 12
    return [f"{_where(path, tg, case)}alertname: {case.name}, time: "
            f"{format_duration_ms(case.eval_time_ms)}, \n"
            f"        exp:{alerts_text(exp).replace(chr(10), chr(10) + indent)}, \n"
            f"        got:{alerts_text(got).replace(chr(10), chr(10) + indent)}"]


def _check_expr(path: str, tg: _Group, engine: LogQLEngine, case: _Case) -> list[str]:
    head = (f"{_where(path, tg, case)}expr: {quote(case.name)}, "
            f"time: {format_duration_ms(case.eval_time_ms)}")
    try:
        result = engine.instant(case.name, (tg.start_ms + case.eval_time_ms) * _MS)
        exp = sorted(((parse_series_desc(labels)[0], value)
                      for labels, value in case.exp_samples), key=lambda x: x[0])
    except VigilError as exc:
        return [f"{head}, err: {exc}"]
    if isinstance(result, Scalar):
        got = [(Labels(), result.value)]
    else:
        assert isinstance(result, Vector)
        got = sorted(((s.labels, s.value) for s in result.samples), key=lambda x: x[0])
    same = len(got) == len(exp) and all(
        gl == el and (gv == ev or (math.isnan(gv) and math.isnan(ev)))
        for (gl, gv), (el, ev) in zip(got, exp, strict=True))
    if same:
        return []
    return [f"{head},\n        exp: {samples_text(exp)}\n        got: {samples_text(got)}"]
