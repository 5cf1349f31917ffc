"""Evaluating LogQL over a :class:`~vigil.logs.model.LogReader`.

A log query returns streams (entries grouped by their labels after the pipeline, newest first
by default, at most ``limit`` entries). A metric query is evaluated at every step of a range
query (or at the one time of an instant query) and returns PromQL's value types: a range
aggregation's window at step ``t`` is ``(t - offset - range, t - offset]``; ``rate`` divides by
the range in seconds; the series of a range aggregation are the entries' labels after the
pipeline (without the unwrapped label, or grouped when the aggregation has ``by``/``without``).
A metric query whose samples carry ``__error__`` fails with Loki's pipeline error.

Counts, rates and byte sums over a reader that has ``select_columns`` are computed from columns
(:mod:`~vigil.logs.logql.columns`) when the result cannot differ from reading entries.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vigil.gocompat.floats import parse_float
from vigil.logs.logql import ast
from vigil.logs.logql.aggregate import range_function, vector_aggregate
from vigil.logs.logql.binops import SeriesSet, apply_scalar_op, scalar_side, vector_op
from vigil.logs.logql.columns import grouped, range_from_columns, uses_columns
from vigil.logs.logql.errors import ParseError, QueryError
from vigil.logs.logql.parser import parse_expr
from vigil.logs.logql.pipeline import ERROR, Pipeline, Row, label_filter_fn
from vigil.logs.logql.units import parse_bytes, parse_go_duration
from vigil.logs.model import LogEntry, LogReader, StreamSelection
from vigil.model.labels import Labels
from vigil.model.matchers import MatchType
from vigil.model.regex import compile_go
from vigil.promql._label_funcs import expand
from vigil.promql.value import Matrix, RangeSeries, Sample, Scalar, Vector

__all__ = ["LogQLEngine", "LogStream"]

# Range aggregations whose sum over a group is the aggregation of the group's lines.
_ADDITIVE = ("count_over_time", "rate", "bytes_over_time", "bytes_rate", "sum_over_time")
_INSTANT_LOG_QUERY = ("log queries are not supported as an instant query type, please change "
                      "your query to a range query type")


@dataclass(frozen=True)
class LogStream:
    labels: Labels
    entries: list[tuple[int, str]]  # (unix ns, line), in the query's direction


def _pipeline_error(labels: Labels) -> QueryError:
    kind = labels.get(ERROR)
    return QueryError(
        f"pipeline error: '{kind}' for series: '{labels}'.\n"
        f"Use a label filter to intentionally skip this error. (e.g | __error__!=\"{kind}\").\n"
        "To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"
        "The label filter can also be specified after unwrap. (e.g | unwrap latency | "
        "__error__=\"\" )\n")


def _to_expr(query: str | ast.Expr) -> ast.Expr:
    return parse_expr(query) if isinstance(query, str) else query


class LogQLEngine:
    def __init__(self, reader: LogReader) -> None:
        self.reader = reader

    # ------------------------------------------------------------------ log queries

    def select_logs(self, query: str | ast.Expr, start_ns: int, end_ns: int, limit: int = 100,
                    direction: str = "backward") -> list[LogStream]:
        """The entries of a log query in ``[start_ns, end_ns)``, grouped into streams."""
        expr = _to_expr(query)
        if not isinstance(expr, ast.LogSelector):
            raise ParseError("only log selector expressions supported")
        streams: dict[Labels, list[tuple[int, str]]] = {}
        cache: dict[tuple[object, ...], Labels] = {}
        taken = 0
        for row in self._rows(expr, start_ns, end_ns, direction == "backward"):
            streams.setdefault(row.result_labels(cache), []).append((row.ts_ns, row.line))
            taken += 1
            if limit and taken >= limit:
                break
        return [LogStream(labels, entries) for labels, entries in streams.items()]

    def _rows(self, selector: ast.LogSelector, start_ns: int, end_ns: int,
              backward: bool) -> Iterator[Row]:
        pipeline = Pipeline(selector.stages)
        selection = StreamSelection(selector.matchers, start_ns, end_ns, selector.needles(),
                                    backward=backward)
        entry: LogEntry
        for entry in self.reader.select(selection):
            row = pipeline.run(entry)
            if row is not None:
                yield row

    # ------------------------------------------------------------------ metric queries

    def instant(self, query: str | ast.Expr, time_ns: int) -> Vector | Scalar:
        expr = _to_expr(query)
        if isinstance(expr, ast.LogSelector):
            raise QueryError(_INSTANT_LOG_QUERY)
        steps = np.array([time_ns], dtype=np.int64)
        result = self._eval(expr, steps)
        if isinstance(result, float):
            return Scalar(time_ns // 1_000_000, result)
        samples = [Sample(labels, time_ns // 1_000_000, float(v[0]))
                   for labels, (v, p) in result.items() if p[0]]
        if isinstance(expr, ast.VectorAggregation) and expr.op in (
                "sort", "sort_desc", "topk", "bottomk", "approx_topk"):
            desc = expr.op in ("sort_desc", "topk", "approx_topk")
            samples.sort(key=lambda s: s.value, reverse=desc)
        else:
            samples.sort(key=lambda s: s.labels)
        return Vector(samples)

    def range(self, query: str | ast.Expr, start_ns: int, end_ns: int, step_ns: int) -> Matrix:
        expr = _to_expr(query)
        if isinstance(expr, ast.LogSelector):
            raise QueryError("log queries return streams: use select_logs")
        if step_ns <= 0:
            raise QueryError("zero or negative query resolution step widths are not accepted. "
                             "Try a positive integer")
        steps = np.arange(start_ns, end_ns + 1, step_ns, dtype=np.int64)
        result = self._eval(expr, steps)
        if isinstance(result, float):
            result = {Labels(): (np.full(len(steps), result), np.ones(len(steps), dtype=bool))}
        series = []
        for labels in sorted(result):
            values, present = result[labels]
            if present.any():
                series.append(RangeSeries(labels, steps[present] // 1_000_000,
                                          values[present].astype(np.float64)))
        return Matrix(series)

    def _eval(self, expr: ast.SampleExpr, steps: np.ndarray) -> SeriesSet | float:
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.VectorExpr):
            n = len(steps)
            return {Labels(): (np.full(n, expr.value), np.ones(n, dtype=bool))}
        if isinstance(expr, ast.RangeAggregation):
            return self._range_aggregation(expr, steps)
        if isinstance(expr, ast.VectorAggregation):
            inner_expr = expr.expr
            if (expr.op == "sum" and isinstance(inner_expr, ast.RangeAggregation)
                    and inner_expr.grouping is None and inner_expr.op in _ADDITIVE):
                # A sum of counts is the count of the group: group while extracting, as Loki
                # does, and never build each line's full label set.
                grouping = expr.grouping or ast.Grouping()
                return vector_aggregate(expr, self._range_aggregation(
                    inner_expr, steps, grouping), len(steps))
            inner = self._eval(inner_expr, steps)
            if isinstance(inner, float):
                n = len(steps)
                inner = {Labels(): (np.full(n, inner), np.ones(n, dtype=bool))}
            return vector_aggregate(expr, inner, len(steps))
        if isinstance(expr, ast.LabelReplace):
            return _label_replace(expr, self._eval(expr.expr, steps))
        assert isinstance(expr, ast.BinOp)
        lhs, rhs = self._eval(expr.lhs, steps), self._eval(expr.rhs, steps)
        if isinstance(lhs, float) and isinstance(rhs, float):
            return apply_scalar_op(expr.op, lhs, rhs)
        if isinstance(rhs, float):
            return scalar_side(expr.op, lhs, rhs, False, expr.return_bool)  # type: ignore[arg-type]
        if isinstance(lhs, float):
            return scalar_side(expr.op, rhs, lhs, True, expr.return_bool)
        return vector_op(expr, lhs, rhs, len(steps))

    def _samples(self, expr: ast.RangeAggregation, grouping: ast.Grouping | None,
                 start_ns: int, end_ns: int) -> dict[Labels, tuple[list[int], list[float]]]:
        """Each series' sample times and values in ``[start_ns, end_ns)``."""
        selector, unwrap = expr.range.selector, expr.range.unwrap
        samples: dict[Labels, tuple[list[int], list[float]]] = {}
        cache: dict[tuple[object, ...], Labels] = {}
        bytes_op = expr.op.startswith("bytes")
        if not selector.stages and unwrap is None:
            # Nothing to run per line: the series is the entry's stream (and fields).
            selection = StreamSelection(selector.matchers, start_ns, end_ns, backward=False)
            for entry in self.reader.select(selection):
                key = (entry.labels, entry.fields, entry.level)
                labels = cache.get(key)
                if labels is None:
                    labels = cache[key] = grouped(Row.of(entry).result_labels(), grouping)
                times, values = samples.get(labels) or samples.setdefault(labels, ([], []))
                times.append(entry.ts_ns)
                values.append(float(len(entry.line.encode())) if bytes_op else 1.0)
            return samples
        post = [label_filter_fn(f) for f in unwrap.post_filters] if unwrap else []
        by = grouping.labels if grouping is not None and not grouping.without else None
        for row in self._rows(selector, start_ns, end_ns, backward=False):
            if unwrap is not None:
                text = row.get(unwrap.label)
                if not text:  # Loki skips a line without the label (no error)
                    continue
                value = _unwrapped_value(row, unwrap, text)
                if not all(f(row) for f in post):
                    continue
            else:
                value = float(len(row.line.encode())) if bytes_op else 1.0
            if row.error:  # Loki refuses a metric query whose samples carry __error__
                labels = row.result_labels()
                raise _pipeline_error(labels.without(unwrap.label) if unwrap else labels)
            if by is not None:  # only the grouping labels count: skip the full label set
                key = tuple(row.labels.get(name) for name in by)
                labels = cache.get(key) or cache.setdefault(
                    key, Labels((n, v) for n, v in zip(by, key, strict=True) if v))
            else:
                labels = row.result_labels(cache)
                if unwrap is not None:
                    labels = labels.without(unwrap.label)
                labels = grouped(labels, grouping)
            times, values = samples.get(labels) or samples.setdefault(labels, ([], []))
            times.append(row.ts_ns)
            values.append(value)
        return samples

    def _range_aggregation(self, expr: ast.RangeAggregation, steps: np.ndarray,
                           grouping: ast.Grouping | None = None) -> SeriesSet:
        grouping = grouping or expr.grouping
        select_columns = getattr(self.reader, "select_columns", None)
        if select_columns is not None and uses_columns(expr, grouping):
            found = range_from_columns(select_columns, expr, steps, grouping)
            if found is not None:
                return found
        rng = expr.range
        first = int(steps[0]) - rng.offset_ns - rng.range_ns
        last = int(steps[-1]) - rng.offset_ns
        samples = self._samples(expr, grouping, first + 1, last + 1)
        if expr.op == "absent_over_time":
            return _absent(expr, samples, steps)
        out: SeriesSet = {}
        upper = steps - rng.offset_ns
        lower = upper - rng.range_ns
        for labels, (ts_list, value_list) in samples.items():
            ts = np.array(ts_list, dtype=np.int64)
            values = np.array(value_list, dtype=np.float64)
            order = np.argsort(ts, kind="stable")
            ts, values = ts[order], values[order]
            lo = np.searchsorted(ts, lower, side="right")
            hi = np.searchsorted(ts, upper, side="right")
            out[labels] = range_function(expr, values, lo, hi, rng.range_ns / 1e9,
                                         times=ts, ends=upper)
        return out


def _label_replace(expr: ast.LabelReplace, inner: SeriesSet | float) -> SeriesSet | float:
    if isinstance(inner, float):
        return inner
    regex = compile_go(f"(?s:{expr.regex})")
    out: SeriesSet = {}
    for labels, (values, present) in inner.items():
        m = regex.fullmatch(labels.get(expr.src))
        if m is not None:
            value = expand(expr.replacement, m)
            labels = labels.merge({expr.dst: value}) if value else labels.without(expr.dst)
        if labels in out:
            prev_v, prev_p = out[labels]
            if (prev_p & present).any():
                raise QueryError("vector cannot contain metrics with the same labelset")
            out[labels] = (np.where(present, values, prev_v), prev_p | present)
        else:
            out[labels] = (values, present)
    return out


def _unwrapped_value(row: Row, unwrap: ast.Unwrap, text: str) -> float:
    """The label's value as a number; on failure the row gets ``SampleExtractionErr``."""
    try:
        if unwrap.conversion in ("duration", "duration_seconds"):
            return parse_go_duration(text) / 1e9
        if unwrap.conversion == "bytes":
            return float(parse_bytes(text))
        return parse_float(text.strip())
    except ValueError as exc:
        row.set_error("SampleExtractionErr", str(exc))
        return math.nan


def _absent(expr: ast.RangeAggregation,
            samples: dict[Labels, tuple[list[int], list[float]]], steps: np.ndarray) -> SeriesSet:
    rng = expr.range
    upper = steps - rng.offset_ns
    lower = upper - rng.range_ns
    seen = np.zeros(len(steps), dtype=bool)
    for times, _ in samples.values():
        ts = np.sort(np.array(times, dtype=np.int64))
        seen |= np.searchsorted(ts, upper, side="right") > np.searchsorted(ts, lower, side="right")
    labels = Labels({m.name: m.value for m in rng.selector.matchers
                     if m.type is MatchType.EQUAL})
    return {labels: (np.ones(len(steps)), ~seen)}

