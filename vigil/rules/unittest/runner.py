"""Running ``promtool test rules`` files against Vigil's own rule engine and PromQL engine.

For each test group: the input series are expanded (Prometheus's series notation, through
:mod:`vigil.promql.parser.series_notation`), the rule files are loaded into a real
:class:`vigil.rules.Manager` over a fresh, empty store from the caller's
:data:`StorageFactory` (``vigil rules test`` passes a TSDB in a temporary directory, as
promtool runs on a real TSDB), and time steps from the group's start
to its latest ``eval_time`` by ``evaluation_interval``. At each step the input samples up
to that instant are appended, then every group is evaluated in ``group_eval_order`` with
:meth:`~vigil.rules.Manager.evaluate_group`; an ``alert_rule_test`` whose ``eval_time``
falls in ``[step, step + interval)`` is compared with the firing alerts of that step. The
``promql_expr_test`` cases run afterwards with :class:`vigil.promql.engine.Engine`.

Messages follow promtool's wording so that tooling and habits carry over. Native
histogram samples are not stored by Vigil: such input series are not loaded, and checks
that need them are reported as skipped (they do not fail the file).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from vigil.errors import StorageError, VigilError
from vigil.gocompat.durations import format_duration_ms
from vigil.gocompat.floats import format_float
from vigil.gocompat.quote import quote
from vigil.model.labels import METRIC_NAME_PATTERN, Labels
from vigil.promql.engine import Engine
from vigil.promql.parser.series_notation import expand_values, parse_series_desc
from vigil.promql.value import Scalar, Vector
from vigil.rules._engine import engine_query_func
from vigil.rules.manager import Manager
from vigil.rules.rulefmt import RuleGroup, load_rule_files
from vigil.rules.unittest._format import AlertTest, ExprTest, TestFile, TestGroup, load_test_file
from vigil.selfmetrics import SelfMetrics
from vigil.storage import Storage

__all__ = ["FileOutcome", "StorageFactory", "UnitTestOptions", "run_test_file"]

StorageFactory = Callable[[], AbstractContextManager[Storage]]
"""Opens an empty store for one test group and disposes of it when the context exits."""

_NAME = re.compile(METRIC_NAME_PATTERN)


@dataclass(frozen=True)
class UnitTestOptions:
    """``run``: regular expressions; only test groups whose name matches one (anywhere in
    the name) run. ``ignore_unknown_fields``: accept unknown fields in the rule files.
    ``features``: the PromQL features (``--enable-feature`` names) rules and expressions use."""

    run: tuple[str, ...] = ()
    ignore_unknown_fields: bool = False
    features: frozenset[str] = frozenset()


@dataclass
class FileOutcome:
    """The result of one test file: ``errors`` as promtool prints them (empty = success),
    ``skipped`` checks that need native histograms, and warnings."""

    path: str
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    groups_run: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def run_test_file(path: str, options: UnitTestOptions | None = None, *,
                  storage: StorageFactory) -> FileOutcome:
    """Run every test group of one unit-test file (see the module docstring), each on a
    store of its own from ``storage``."""
    options = options or UnitTestOptions()
    out = FileOutcome(path)
    try:
        tf = load_test_file(path)
    except (VigilError, OSError) as exc:
        out.errors.append(str(exc))
        return out
    out.warnings.extend(tf.warnings)
    runs = [re.compile(r) for r in options.run]
    for tg in tf.tests:
        if runs and not any(r.search(tg.name) for r in runs):
            continue
        out.groups_run += 1
        with storage() as store:
            _GroupRun(tf, tg, options, out, store).run()
    return out


class _GroupRun:
    """One test group's evaluation (see the module docstring)."""

    def __init__(self, tf: TestFile, tg: TestGroup, options: UnitTestOptions, out: FileOutcome,
                 store: Storage):
        self.tf, self.tg, self.options, self.out = tf, tg, options, out
        self.store = store
        self.engine = Engine(self.store, default_subquery_step_ms=tf.evaluation_interval_ms,
                             features=self.options.features)
        self.histogram_metrics: set[str] = set()
        self.equal: Callable[[float, float], bool] = _fuzzy_equal if tf.fuzzy_compare else _equal

    def run(self) -> None:
        tg = self.tg
        errors = self.out.errors
        try:
            samples = self._input_samples()
            groups = self._rule_groups()
        except (VigilError, OSError, ValueError) as exc:
            errors.append(str(exc))
            return
        for a in tg.alert_tests:
            if not a.alertname:
                where = f" (in TestGroup {tg.name})" if tg.name else ""
                errors.append("an item under alert_rule_test misses required attribute alertname "
                              f"at eval_time {format_duration_ms(a.eval_time_ms)}{where}")
                return
        manager = Manager(query=engine_query_func(self.engine), notify=lambda alerts: None,
                          storage=self.store, state_store=None, metrics=SelfMetrics(),
                          external_labels=tg.external_labels, external_url=tg.external_url,
                          default_interval_s=tg.interval_ms / 1000.0)
        manager.update(groups)
        alert_times = sorted({a.eval_time_ms for a in tg.alert_tests})
        step = self.tf.evaluation_interval_ms
        start, maxt = tg.start_ms, tg.start_ms + tg.max_eval_time_ms()
        loaded = 0
        curr = 0
        ts = start
        while ts <= maxt:
            app = self.store.appender()
            try:
                while loaded < len(samples) and samples[loaded][1] <= ts:
                    app.append(*samples[loaded])
                    loaded += 1
                app.commit()
            except StorageError as exc:  # e.g. a series with no labels at all, as promtool
                app.rollback()
                errors.append(f"    {exc}")
                return
            eval_errors = self._evaluate(manager, groups, ts)
            if eval_errors:
                errors.extend(eval_errors)
                return
            while curr < len(alert_times) and ts - start <= alert_times[curr] < ts - start + step:
                self._check_alerts(manager, alert_times[curr])
                curr += 1
            ts += step
        for t in tg.expr_tests:
            self._check_expr(t)

    # ------------------------------------------------------------ set-up

    def _input_samples(self) -> list[tuple[Labels, int, float]]:
        """Every input sample as ``(labels, ts_ms, value)``, sorted by time. A series given
        twice keeps its last definition, as promtool's load command does."""
        series: dict[Labels, list[float | None]] = {}
        for s in self.tg.input_series:
            try:
                labels = parse_series_desc(s.series)[0]
                if "{{" in s.values:
                    self.histogram_metrics.add(labels.name)
                    series.pop(labels, None)
                    continue
                series[labels] = expand_values(s.values)
            except (VigilError, ValueError) as exc:
                raise ValueError(f"load command: series {s.series!r} values {s.values!r}: {exc}") from None
        start, interval = self.tg.start_ms, self.tg.interval_ms
        out = [(labels, start + i * interval, v) for labels, values in series.items()
               for i, v in enumerate(values) if v is not None]
        out.sort(key=lambda x: x[1])
        return out

    def _rule_groups(self) -> list[RuleGroup]:
        groups = load_rule_files(list(self.tf.rule_files),
                                 ignore_unknown_fields=self.options.ignore_unknown_fields,
                                 features=self.options.features)
        order = {name: i for i, name in enumerate(self.tf.group_eval_order)}
        # A partial order, as promtool's: groups not named sort with the first named one.
        return sorted(groups, key=lambda g: order.get(g.name, 0))

    # ------------------------------------------------------------ evaluation and checks

    def _evaluate(self, manager: Manager, groups: list[RuleGroup], ts: int) -> list[str]:
        for g in groups:
            manager.evaluate_group(g, ts)
        # promtool also collects every group's rule errors of this step before stopping.
        when = format_duration_ms(ts - self.tg.start_ms)
        return [f"    rule: {r.name}, time: {when}, err: {r.last_error}"
                for status in manager.groups() for r in status.rules if r.health == "err"]

    def _check_alerts(self, manager: Manager, eval_time: int) -> None:
        tests: list[AlertTest] = [a for a in self.tg.alert_tests if a.eval_time_ms == eval_time]
        firing: dict[str, list[tuple[Labels, Labels]]] = {}
        for a in manager.alerts():
            if a.state == "firing":
                firing.setdefault(a.labels.get("alertname"), []).append((a.labels, a.annotations))
        for t in tests:
            got = sorted(firing.get(t.alertname, []))
            exp = sorted((Labels({**e.labels, "alertname": t.alertname}), Labels(e.annotations))
                         for e in t.exp_alerts)
            if got != exp:
                name = f"    name: {self.tg.name},\n" if self.tg.name else ""
                self.out.errors.append(
                    f"{name}    alertname: {t.alertname}, time: {format_duration_ms(eval_time)}, \n"
                    f"        exp:{_indent(alerts_text(exp), ' ' * 12)}, \n"
                    f"        got:{_indent(alerts_text(got), ' ' * 12)}")

    def _check_expr(self, t: ExprTest) -> None:
        when = format_duration_ms(t.eval_time_ms)
        head = f"    expr: {quote(t.expr)}, time: {when}"
        if any(s.histogram for s in t.exp_samples) or self._reads_histograms(t.expr):
            self.out.skipped.append(f"{head}: native histogram samples are not supported")
            return
        try:
            result = self.engine.instant_query(t.expr, self.tg.start_ms + t.eval_time_ms).value
        except VigilError as exc:
            self.out.errors.append(f"{head}, err: {exc}")
            return
        if isinstance(result, Scalar):
            got = [(Labels(), result.value)]
        elif isinstance(result, Vector):
            got = [(s.labels, s.value) for s in result.samples]
        else:
            self.out.errors.append(f"{head}, err: rule result is not a vector or scalar")
            return
        exp = []
        for s in t.exp_samples:
            try:
                exp.append((parse_series_desc(s.labels)[0], s.value))
            except VigilError as exc:
                self.out.errors.append(f"{head}, err: labels {quote(s.labels)}: {exc}")
                return
        got.sort(key=lambda x: x[0])
        exp.sort(key=lambda x: x[0])
        same = len(got) == len(exp) and all(
            gl == el and self.equal(gv, ev) for (gl, gv), (el, ev) in zip(got, exp, strict=True))
        if not same:
            self.out.errors.append(f"{head},\n        exp: {samples_text(exp)}\n"
                                   f"        got: {samples_text(got)}")

    def _reads_histograms(self, expr: str) -> bool:
        return any(m in self.histogram_metrics for m in _NAME.findall(expr))


# ---------------------------------------------------------------- comparison and text


def _equal(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _fuzzy_equal(a: float, b: float) -> bool:
    """Equal but for the last bit of the mantissa: at most one step of float64 apart."""
    return _equal(a, b) or math.nextafter(a, b) == b


def alerts_text(alerts: Sequence[tuple[Labels, Labels]]) -> str:
    if not alerts:
        return "[]"
    parts = [f"{i}:" + _indent(f"\nLabels:{_go_labels(lb)}\nAnnotations:{_go_labels(an)}", "  ")
             for i, (lb, an) in enumerate(alerts)]
    return "[\n" + ",\n".join(parts) + "\n]"


def samples_text(samples: Sequence[tuple[Labels, float]]) -> str:
    if not samples:
        return "nil"
    # promtool: labels.String() and strconv.FormatFloat(v, 'E', -1, 64), e.g. {a="b"} 1E+00
    return ", ".join(f"{_go_labels(lb)} {format_float(v, 'E')}" for lb, v in samples)


def _go_labels(lb: Labels) -> str:
    """Prometheus ``labels.Labels.String``: values quoted with Go's ``strconv.Quote``."""
    return "{" + ", ".join(f"{k}={quote(v)}" for k, v in lb) + "}"


def _indent(text: str, indent: str) -> str:
    return ("\n" + indent).join(text.split("\n"))
