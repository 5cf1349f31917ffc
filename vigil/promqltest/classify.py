"""Which evals Vigil cannot run, decided from the case and its data, never from its outcome.

A *data state* is what the ``load`` blocks since the last ``clear`` put in the store.
Besides the float samples, it records the labels of series the store cannot hold as
written. The rules, first match wins (``docs/conformance.md`` lists them too):

* ``native histogram result`` -- an expected value is a native histogram (``{{...}}``).
* ``native histogram function`` -- the query calls a function defined on native histograms
  only (:data:`NATIVE_HISTOGRAM_FUNCTIONS`) on an argument with a selector that matches a
  native-histogram series (below).
* ``native histogram operator`` -- the query uses a trim operator (``</``, ``>/``), which
  is defined on native histograms only (found in the query text outside string literals,
  so it holds for queries Vigil's parser rejects).
* ``native histogram data`` -- a selector of the query, by its own matchers (read from the
  parsed query), matches the labels of a series that holds native-histogram samples: a
  ``{{...}}`` value in a load line, or the series ``load_with_nhcb`` makes from classic
  ``_bucket``/``_count``/``_sum`` series (the base name without ``le``).
* ``start timestamps`` -- a selector matches a series given start timestamps (``@st``).

The black-box HTTP runner (:mod:`vigil.promqltest.http`) loads data as OpenMetrics text,
which cannot express everything; it adds (:data:`HTTP_ONLY_REASONS`):

* ``stale markers`` -- a selector matches a series with a ``stale`` sample (OpenMetrics has
  no staleness marker; a written NaN is an ordinary NaN).
* ``series OpenMetrics cannot write`` -- a selector matches a loaded series with no
  ``__name__``, or whose metric or label names are not of the classic character set
  (OpenMetrics 1.0 text, which ``vigil tsdb import`` reads, has no quoted names).

A case whose selectors match only float series the store holds is never unsupported. Only
the series loaded in the case's own data state count; a query that does not parse has no
selectors and is always supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vigil.model.labels import Labels, is_label_name, is_metric_name
from vigil.model.matchers import Matcher
from vigil.promql.parser import ast
from vigil.promqltest.script import EvalCase, Load
from vigil.storage.interface import is_stale

__all__ = ["HTTP_ONLY_REASONS", "NATIVE_HISTOGRAM_FUNCTIONS", "DataState", "openmetrics_writable",
           "unsupported_reason"]

NATIVE_HISTOGRAM_FUNCTIONS = frozenset({
    "histogram_avg", "histogram_count", "histogram_stddev", "histogram_stdvar", "histogram_sum",
})
HTTP_ONLY_REASONS = ("stale markers", "series OpenMetrics cannot write")
_NHCB_SUFFIXES = ("_bucket", "_count", "_sum")
_TRIM_OPERATOR = re.compile(r"[<>]/")
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')


@dataclass
class DataState:
    """The loads since the last ``clear``: float samples per series, and what is special."""

    floats: dict[Labels, dict[int, float]] = field(default_factory=dict)
    histogram_series: set[Labels] = field(default_factory=set)
    start_timestamp_series: set[Labels] = field(default_factory=set)

    def add(self, load: Load) -> None:
        for line in load.effective():
            if line.start_timestamps:
                self.start_timestamp_series.add(line.labels)
            elif line.histogram:
                self.histogram_series.add(line.labels)
            else:
                points = self.floats.setdefault(line.labels, {})
                for k, v in enumerate(line.values):
                    if v is not None:
                        points[k * load.step_ms] = v
        if load.nhcb:
            self.histogram_series.update(_nhcb_series(load))

    def stale_series(self) -> set[Labels]:
        return {lb for lb, pts in self.floats.items() if any(is_stale(v) for v in pts.values())}

    def unwritable_series(self) -> set[Labels]:
        """Series OpenMetrics 1.0 text cannot carry (see the module docstring)."""
        return {lb for lb in self.floats if not openmetrics_writable(lb)}


def openmetrics_writable(labels: Labels) -> bool:
    """Has a metric name, and all names in OpenMetrics 1.0's character sets."""
    name = labels.get("__name__") or ""
    return is_metric_name(name) and all(
        is_label_name(k) for k, _ in labels if k != "__name__")


def _nhcb_series(load: Load) -> set[Labels]:
    out = set()
    for line in load.effective():
        name = line.labels.get("__name__") or ""
        for suffix in _NHCB_SUFFIXES:
            if name.endswith(suffix):
                base = dict(line.labels)
                base.pop("le", None)
                base["__name__"] = name.removesuffix(suffix)
                out.add(Labels(base))
    return out


def unsupported_reason(case: EvalCase, state: DataState, *, http: bool = False) -> str | None:
    """The reason ``case`` cannot be run against ``state`` (module docstring), or None."""
    if case.histogram_result:
        return "native histogram result"
    if _TRIM_OPERATOR.search(_STRING_LITERAL.sub('""', case.expr)):
        return "native histogram operator"
    expr = case.query()
    if expr is None:
        return None
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and node.func in NATIVE_HISTOGRAM_FUNCTIONS and any(
            _reads(arg, state.histogram_series) for arg in node.args
        ):
            return "native histogram function"
    if _reads(expr, state.histogram_series):
        return "native histogram data"
    if _reads(expr, state.start_timestamp_series):
        return "start timestamps"
    if http:
        if _reads(expr, state.stale_series()):
            return "stale markers"
        if _reads(expr, state.unwritable_series()):
            return "series OpenMetrics cannot write"
    return None


def _reads(expr: ast.Expr, series: set[Labels]) -> bool:
    """Does a selector in ``expr`` match one of ``series``?"""
    if not series:
        return False
    return any(
        any(all(m.matches_labels(lb) for m in matchers) for lb in series)
        for matchers in _selector_matchers(expr)
    )


def _selector_matchers(expr: ast.Expr) -> list[list[Matcher]]:
    out: list[list[Matcher]] = []
    info_selectors: set[int] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and node.func == "info":
            # info() reads info series: target_info unless its second argument names one.
            sel = node.args[1] if len(node.args) > 1 else None
            if isinstance(sel, ast.VectorSelector):
                info_selectors.add(id(sel))
                named = any(m.name == "__name__" for m in sel.matchers)
                extra = [] if named else [Matcher.equal("__name__", "target_info")]
                out.append([*sel.matchers, *extra])
            else:
                out.append([Matcher.equal("__name__", "target_info")])
        elif isinstance(node, ast.VectorSelector) and id(node) not in info_selectors:
            out.append(list(node.matchers))
    return out
