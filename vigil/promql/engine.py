"""The PromQL engine: evaluates a parsed query against a :class:`vigil.storage.Storage`.

Every expression is evaluated once for all steps of the query: an instant vector becomes a
``[series, steps]`` numpy array (see :mod:`vigil.promql._block`), so a range query costs
about as much Python work as an instant query. Semantics follow Prometheus 3.x: a 5-minute
lookback window that is open on the left, staleness markers ending a series, left-open
range windows ``(t - range, t]``, and delayed removal of the metric name.

Times are int milliseconds throughout. An :class:`Engine` is thread-safe: each query gets
its own evaluator.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterable, Iterator

import numpy as np

from vigil.errors import ParseError, QueryError, VigilError
from vigil.gocompat.floats import format_float_v as go_g
from vigil.model.features import DEFAULT_FEATURES, DELAYED_NAME_REMOVAL
from vigil.model.labels import Labels
from vigil.promql import _select
from vigil.promql._aggregate import eval_aggregate
from vigil.promql._binary import eval_binary
from vigil.promql._block import (
    Block,
    RangeArg,
    ScalarSteps,
    StringValue,
    finalize_names,
)
from vigil.promql._context import EvalValue, QueryWindow
from vigil.promql._extended import smoothed_instant
from vigil.promql._fused import fused_sum
from vigil.promql._kernel import any_window, instant_select
from vigil.promql.functions import eval_call
from vigil.promql.parser import ast, parse_expr, resolve_durations
from vigil.promql.value import (
    Matrix,
    QueryResult,
    RangeSeries,
    Sample,
    Scalar,
    String,
    Vector,
)
from vigil.storage.interface import STALE_NAN, SeriesSet, Storage, stale_mask

__all__ = ["DEFAULT_SUBQUERY_STEP_MS", "Engine", "Evaluator"]

DEFAULT_SUBQUERY_STEP_MS = 60_000
_STALE_BITS = int(np.array([STALE_NAN]).view(np.uint64)[0])


@functools.lru_cache(maxsize=512)
def _parsed(query: str, features: frozenset[str]) -> ast.Expr:
    """Parsed queries, kept: dashboards send the same texts again and again, and parsing
    costs ~0.3 ms of a small query's ~3. Evaluation never changes an expression (what
    depends on the step is resolved on a copy), so one tree serves every caller; a query
    that fails to parse is not kept and fails again each time."""
    return parse_expr(query, features=features)


class Engine:
    """Runs PromQL queries.

    ``lookback_delta_ms``: how far back an instant selector looks for a sample.
    ``timeout_s``: wall-clock budget per query. ``max_samples``: most samples one query may
    load. ``features``: the enabled ``--enable-feature`` names (:mod:`vigil.model.features`);
    the default is Prometheus's default.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        lookback_delta_ms: int = 300_000,
        timeout_s: float = 120.0,
        max_samples: int = 50_000_000,
        features: Iterable[str] = DEFAULT_FEATURES,
        default_subquery_step_ms: int = DEFAULT_SUBQUERY_STEP_MS,
    ) -> None:
        self.storage = storage
        self.lookback_delta_ms = lookback_delta_ms
        self.timeout_s = timeout_s
        self.max_samples = max_samples
        self.features = frozenset(features)
        self.default_subquery_step_ms = default_subquery_step_ms

    def parse(self, query: str | ast.Expr) -> ast.Expr:
        """``query`` parsed with this engine's options (an Expr is returned as is)."""
        if isinstance(query, ast.Expr):
            return query
        return _parsed(query, self.features)

    def _prepare(self, query: str | ast.Expr, step_ms: int, range_ms: int) -> ast.Expr:
        """The query parsed, with its step()/range() durations computed. What fails here is
        a ParseError: Prometheus rejects it when the query is created, before evaluation,
        and its API answers it as a bad "query" parameter."""
        expr = self.parse(query)
        try:
            return resolve_durations(expr, step_ms, range_ms)
        except QueryError as e:
            raise ParseError(str(e)) from None

    def instant_query(self, query: str | ast.Expr, ts_ms: int) -> QueryResult:
        """Evaluate at one instant: a Vector, Scalar, String, or Matrix (range selector)."""
        expr = self._prepare(query, 0, 0)
        ev = Evaluator(self, QueryWindow(ts_ms, ts_ms, 0))
        with _unexpected_as_query_error():
            val = ev.eval(expr, np.array([ts_ms], dtype=np.int64))
            value = _instant_result(val, ts_ms)
        return QueryResult(value, tuple(ev.warnings), tuple(ev.infos))

    def range_query(
        self, query: str | ast.Expr, start_ms: int, end_ms: int, step_ms: int
    ) -> QueryResult:
        """Evaluate at ``start_ms, start_ms + step_ms, ... <= end_ms``; always a Matrix.
        An expression that is not a scalar or instant vector is a ParseError."""
        if step_ms <= 0:
            raise QueryError("zero or negative query resolution step widths are not accepted. "
                             "Try a positive integer")
        if end_ms < start_ms:
            raise QueryError("end timestamp must not be before start time")
        expr = self._prepare(query, step_ms, end_ms - start_ms)
        if expr.type not in (ast.SCALAR, ast.VECTOR):
            raise ParseError(f'invalid expression type "{ast.DOCUMENTED_TYPE[expr.type]}" for range '
                             "query, must be Scalar or instant Vector")
        steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        ev = Evaluator(self, QueryWindow(start_ms, end_ms, step_ms))
        with _unexpected_as_query_error():
            val = ev.eval(expr, steps)
            value = _range_result(val, steps)
        return QueryResult(value, tuple(ev.warnings), tuple(ev.infos))


@contextlib.contextmanager
def _unexpected_as_query_error() -> Iterator[None]:
    """A bug in evaluation surfaces as a QueryError, as Prometheus turns panics into
    "unexpected error", instead of escaping as an arbitrary exception."""
    try:
        yield
    except VigilError:
        raise
    except (ArithmeticError, ValueError, IndexError, KeyError, TypeError, AssertionError,
            RecursionError, MemoryError) as e:
        raise QueryError(f"unexpected error: {type(e).__name__}: {e}") from e


def _instant_result(val: EvalValue, ts_ms: int):
    if isinstance(val, ScalarSteps):
        return Scalar(ts_ms, float(val.values[0]))
    if isinstance(val, StringValue):
        return String(ts_ms, val.value)
    if isinstance(val, RangeArg):
        lo, hi = val.bounds()
        drop_rows = val.extra.get("drop_rows")
        out = []
        for i in np.flatnonzero(hi[:, 0] > lo[:, 0]).tolist():
            lb = val.labels[i]
            if drop_rows is not None and drop_rows[i]:
                lb = lb.without_name()
            a, b = int(lo[i, 0]), int(hi[i, 0])
            out.append(RangeSeries(lb, val.t[a:b].copy(), val.v[a:b].copy()))
        return Matrix(out)
    blk = finalize_names(val)
    return Vector([
        Sample(lb, ts_ms, float(blk.values[i, 0]))
        for i, lb in enumerate(blk.labels)
        if blk.present[i, 0]
    ])


def _range_result(val: EvalValue, steps: np.ndarray) -> Matrix:
    if isinstance(val, ScalarSteps):
        return Matrix([RangeSeries(Labels(), steps.copy(), val.values.astype(np.float64))])
    assert isinstance(val, Block)
    blk = finalize_names(val)
    # A series present at every step (the usual case) shares one read-only copy of the steps
    # and views its row of values (copying both per series took 0.7 s at 10,000 x 5,521).
    all_steps = steps.copy()
    all_steps.flags.writeable = False
    full = blk.present.all(axis=1).tolist()
    out = []
    for i, lb in enumerate(blk.labels):
        if full[i]:
            out.append(RangeSeries(lb, all_steps, blk.values[i]))
            continue
        p = blk.present[i]
        if p.any():
            out.append(RangeSeries(lb, steps[p], blk.values[i][p]))
    out.sort(key=lambda s: s.labels)
    return Matrix(out)


class Evaluator:
    """Evaluates one query. Not shared between threads."""

    def __init__(self, engine: Engine, window: QueryWindow) -> None:
        self.engine = engine
        self.window = window
        self.lookback = engine.lookback_delta_ms
        self.deadline = time.monotonic() + engine.timeout_s
        self.samples = 0
        self.delayed_name_removal = DELAYED_NAME_REMOVAL in engine.features
        self.warnings: list[str] = []
        self.infos: list[str] = []

    # -- bookkeeping -----------------------------------------------------------------
    def check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise QueryError("query timed out in expression evaluation")

    def count_samples(self, n: int) -> None:
        self.samples += n
        if self.samples > self.engine.max_samples:
            raise _too_many_samples()

    def warn(self, msg: str) -> None:
        """Add a "PromQL warning" annotation (deduplicated)."""
        text = f"PromQL warning: {msg}"
        if text not in self.warnings:
            self.warnings.append(text)

    def info(self, msg: str) -> None:
        """Add a "PromQL info" annotation (deduplicated)."""
        text = f"PromQL info: {msg}"
        if text not in self.infos:
            self.infos.append(text)

    def check_quantile(self, q: np.ndarray) -> None:
        """Warn, as Prometheus does, about quantiles outside [0, 1]."""
        if np.isnan(q).any():
            self.warn("quantile value should be between 0 and 1, got NaN")
        if len(q) and np.nanmax(q, initial=-np.inf) > 1:
            self.warn(f"quantile value should be between 0 and 1, got {go_g(float(np.nanmax(q)))}")
        if len(q) and np.nanmin(q, initial=np.inf) < 0:
            self.warn(f"quantile value should be between 0 and 1, got {go_g(float(np.nanmin(q)))}")

    # -- dispatch --------------------------------------------------------------------
    def eval(self, expr: ast.Expr, ts: np.ndarray) -> EvalValue:
        """Value of ``expr`` at each time in ``ts`` (int64 ms)."""
        val = self._eval_node(expr, ts)
        if (not self.delayed_name_removal and isinstance(val, Block) and val.drop is not None
                and val.drop.any()):
            # Prometheus's default: the function or operator that drops the metric name
            # drops it at once, so a parent sees no name and two series that become equal
            # are an error here. With delayed removal the rows stay flagged until the end.
            val = finalize_names(val)
        return val

    def _eval_node(self, expr: ast.Expr, ts: np.ndarray) -> EvalValue:
        self.check_deadline()
        n = len(ts)
        if isinstance(expr, ast.NumberLiteral):
            return ScalarSteps(np.full(n, expr.val, dtype=np.float64))
        if isinstance(expr, ast.StringLiteral):
            return StringValue(expr.val)
        if isinstance(expr, ast.ParenExpr):
            return self.eval(expr.expr, ts)
        if isinstance(expr, ast.UnaryExpr):
            val = self.eval(expr.expr, ts)
            if expr.op == "+":
                return val
            if isinstance(val, ScalarSteps):
                return ScalarSteps(-val.values)
            assert isinstance(val, Block)
            return Block(val.labels, -val.values, val.present, np.ones(len(val), dtype=bool))
        if isinstance(expr, ast.VectorSelector):
            return self.vector_selector(expr, ts)[0]
        if isinstance(expr, ast.MatrixSelector):
            return self.matrix_selector(expr, ts)
        if isinstance(expr, ast.SubqueryExpr):
            return self.subquery(expr, ts)
        if isinstance(expr, ast.BinaryExpr):
            return eval_binary(self, expr, ts)
        if isinstance(expr, ast.AggregateExpr):
            fused = fused_sum(self, expr, ts)
            return fused if fused is not None else eval_aggregate(self, expr, ts)
        if isinstance(expr, ast.Call):
            return eval_call(self, expr, ts)
        raise QueryError(f"unhandled expression of type {type(expr).__name__}")

    def eval_block(self, expr: ast.Expr, ts: np.ndarray) -> Block:
        val = self.eval(expr, ts)
        assert isinstance(val, Block), f"expected instant vector, got {type(val).__name__}"
        return val

    def eval_scalar(self, expr: ast.Expr, ts: np.ndarray) -> np.ndarray:
        val = self.eval(expr, ts)
        assert isinstance(val, ScalarSteps)
        return val.values

    # -- selectors -------------------------------------------------------------------
    def _times(self, at: ast.AtModifier | None, offset_ms: int, ts: np.ndarray) -> np.ndarray:
        if at is None:
            base = ts
        elif at.ts_ms is not None:
            base = np.full(len(ts), at.ts_ms, dtype=np.int64)
        else:
            fixed = self.window.start_ms if at.start_or_end == "start" else self.window.end_ms
            base = np.full(len(ts), fixed, dtype=np.int64)
        return base - offset_ms

    def _select(self, vs: ast.VectorSelector, mint: int, maxt: int) -> SeriesSet:
        q = self.engine.storage.querier(mint, maxt)
        try:
            series = q.select(vs.matchers)
            if not isinstance(series, SeriesSet):
                series = SeriesSet.of(series)
        finally:
            q.close()
        self.check_deadline()
        return series

    def vector_selector(self, vs: ast.VectorSelector, ts: np.ndarray) -> tuple[Block, np.ndarray]:
        """The selector's Block and, per row and step, the timestamp of the chosen sample."""
        times = self._times(vs.at, vs.offset_ms, ts)
        n = len(ts)
        if n == 0:
            return Block.empty(0), np.zeros((0, 0), dtype=np.int64)
        if vs.smoothed:
            return self._smoothed_selector(vs, times)
        # Samples outside (min - lookback, max] never get picked: no need to cut them off.
        series = self._select(vs, int(times.min()) - self.lookback + 1, int(times.max()))
        values, present, stamps = instant_select(series.timestamps, series.values,
                                                 series.offsets, times, self.lookback,
                                                 _STALE_BITS)
        self.count_samples(int(present.sum()))
        rows = np.flatnonzero(present.any(axis=1))
        if len(rows) < len(series.labels):
            values, present, stamps = values[rows], present[rows], stamps[rows]
        return Block([series.labels[i] for i in rows.tolist()], values, present), stamps

    def _smoothed_selector(self, vs: ast.VectorSelector, times: np.ndarray
                           ) -> tuple[Block, np.ndarray]:
        series = self._select(vs, int(times.min()) - self.lookback + 1,
                              int(times.max()) + self.lookback)
        labels, vals, pres = [], [], []
        for s in series:
            t_arr = np.asarray(s.timestamps, dtype=np.int64)
            v_arr = np.asarray(s.values, dtype=np.float64)
            keep = ~stale_mask(v_arr)
            t_arr, v_arr = t_arr[keep], v_arr[keep]
            if len(t_arr) == 0:
                continue
            out, ok = smoothed_instant(t_arr, v_arr, times, self.lookback)
            if ok.any():
                labels.append(s.labels)
                vals.append(out)
                pres.append(ok)
        if not labels:
            return Block.empty(len(times)), np.zeros((0, len(times)), dtype=np.int64)
        stamps = np.broadcast_to(times, (len(labels), len(times))).copy()
        return Block(labels, np.vstack(vals), np.vstack(pres)), stamps

    def matrix_selector(self, ms: ast.MatrixSelector, ts: np.ndarray) -> RangeArg:
        vs = ms.vs
        times = self._times(vs.at, vs.offset_ms, ts)
        starts = times - ms.range_ms
        extra: dict = {}
        if vs.anchored or vs.smoothed:
            # The window reaches back (and for smoothed, forward) by the lookback delta
            # to find the samples around its boundaries.
            extra = {"mode": "anchored" if vs.anchored else "smoothed",
                     "range_start": starts, "range_end": times}
            starts = starts - self.lookback
            if vs.smoothed:
                times = times + self.lookback
        if len(ts) == 0:
            return RangeArg.empty(starts, times, ms.range_ms, extra=extra, eval_ts=ts)
        mint, maxt = int(starts.min()) + 1, int(times.max())
        flat = _select.flatten(self._select(vs, mint, maxt), mint, maxt, drop_stale=True)
        # Samples held in memory: each loaded sample once, however many windows use it.
        self.count_samples(len(flat.t))
        return _windowed(RangeArg(flat.labels, flat.t, flat.v, flat.offsets, starts, times,
                                  ms.range_ms, extra=extra, eval_ts=ts))

    def subquery(self, sq: ast.SubqueryExpr, ts: np.ndarray) -> RangeArg:
        times = self._times(sq.at, sq.offset_ms, ts)
        step = sq.step_ms or self.engine.default_subquery_step_ms
        starts = times - sq.range_ms
        if len(ts) == 0:
            return RangeArg.empty(starts, times, sq.range_ms)
        mint = int(starts.min())
        first = mint - (mint % step)
        if first <= mint:
            # Windows are open on the left: a point exactly at mint is never inside.
            first += step
        last = int(times.max())
        if last >= first and (last - first) // step + 1 > self.engine.max_samples:
            # Every inner series would hold a sample per step; don't allocate the steps.
            raise _too_many_samples()
        sub_steps = np.arange(first, last + 1, step, dtype=np.int64)
        inner = self.eval(sq.expr, sub_steps)
        if isinstance(inner, ScalarSteps):
            inner = Block([Labels()], inner.values[None, :], np.ones((1, len(sub_steps)), bool))
        assert isinstance(inner, Block) and inner.drop is not None
        pres = inner.present
        offsets = np.zeros(len(inner) + 1, np.int64)
        np.cumsum(pres.sum(axis=1), out=offsets[1:])
        # Row-major masking keeps each series' points together and in time order.
        t = np.broadcast_to(sub_steps, pres.shape)[pres]
        arg = _windowed(RangeArg(inner.labels, t, inner.values[pres], offsets, starts, times,
                                 sq.range_ms, extra={"drop_rows": inner.drop}, eval_ts=ts))
        self.count_samples(len(arg.t))
        return arg


def _too_many_samples() -> QueryError:
    return QueryError("query processing would load too many samples into memory in query "
                      "execution")


def _windowed(arg: RangeArg) -> RangeArg:
    """``arg`` without the series that have no sample in any window."""
    keep = any_window(arg.t, arg.offsets, arg.range_start, arg.range_end)
    if keep.all():
        return arg
    counts = np.diff(arg.offsets)
    sample_keep = np.repeat(keep, counts)
    offsets = np.zeros(int(keep.sum()) + 1, np.int64)
    np.cumsum(counts[keep], out=offsets[1:])
    extra = dict(arg.extra)
    if "drop_rows" in extra:
        extra["drop_rows"] = extra["drop_rows"][keep]
    return RangeArg([lb for lb, k in zip(arg.labels, keep.tolist(), strict=True) if k],
                    arg.t[sample_keep], arg.v[sample_keep], offsets, arg.range_start,
                    arg.range_end, arg.range_ms, extra=extra, eval_ts=arg.eval_ts)
