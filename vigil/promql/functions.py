"""PromQL function calls: dispatch plus the instant-vector and scalar functions.

Range-vector functions live in :mod:`vigil.promql._range_funcs`, label and histogram
functions in :mod:`vigil.promql._label_funcs` and :mod:`vigil.promql._histogram`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vigil.errors import QueryError
from vigil.model.labels import METRIC_NAME, Labels
from vigil.model.matchers import MatchType
from vigil.promql._block import Block, RangeArg, ScalarSteps, StringValue
from vigil.promql._context import EvalContext
from vigil.promql._extended import eval_extended
from vigil.promql._histogram import histogram_fraction, histogram_quantile, histogram_quantiles
from vigil.promql._info import eval_info
from vigil.promql._label_funcs import label_join, label_replace
from vigil.promql._range_funcs import RANGE_FUNCTIONS, apply_range
from vigil.promql.parser import ast

_SIMPLE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "ln": np.log,
    "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "sgn": np.sign,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "deg": np.degrees, "rad": np.radians,
}

_DATE_FUNCS = {"day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour",
               "minute", "month", "year"}


def eval_call(ev: EvalContext, node: ast.Call, ts: np.ndarray):
    name = node.func
    args = node.args
    if name in RANGE_FUNCTIONS:
        fn, keep_name = RANGE_FUNCTIONS[name]
        params: list[np.ndarray] = []
        margs = args
        if name == "quantile_over_time":
            params = [ev.eval_scalar(args[0], ts)]
            ev.check_quantile(params[0])
            margs = args[1:]
        elif name in ("predict_linear",):
            params = [ev.eval_scalar(args[1], ts)]
        elif name == "double_exponential_smoothing":
            params = [ev.eval_scalar(args[1], ts), ev.eval_scalar(args[2], ts)]
        rng = range_argument(ev, node, margs[0], ts)
        if "mode" in rng.extra:
            return eval_extended(name, rng, rng.extra["mode"])
        return apply_range(rng, fn, params, keep_name, name)
    if name in _SIMPLE:
        blk = ev.eval_block(args[0], ts)
        with np.errstate(all="ignore"):
            return Block(blk.labels, _SIMPLE[name](blk.values), blk.present,
                         np.ones(len(blk), dtype=bool))
    if name in _DATE_FUNCS:
        return _date_func(ev, name, args, ts)
    if name in ("label_replace", "label_join"):
        blk = ev.eval_block(args[0], ts)
        strs = [_string_arg(ev, a, ts) for a in args[1:]]
        return label_replace(blk, *strs) if name == "label_replace" else label_join(blk, *strs)
    if name == "histogram_quantile":
        q = ev.eval_scalar(args[0], ts)
        ev.check_quantile(q)
        return histogram_quantile(q, ev.eval_block(args[1], ts), ev)
    if name == "info":
        return eval_info(ev, args, ts)
    if name == "histogram_fraction":
        lo, hi = ev.eval_scalar(args[0], ts), ev.eval_scalar(args[1], ts)
        return histogram_fraction(lo, hi, ev.eval_block(args[2], ts), ev)
    if name == "histogram_quantiles":
        blk = ev.eval_block(args[0], ts)
        label = _string_arg(ev, args[1], ts)
        qs = [ev.eval_scalar(a, ts) for a in args[2:]]
        for q in qs:
            ev.check_quantile(q)
        return histogram_quantiles(blk, label, qs, ev)
    if name.startswith("histogram_"):
        # Native histograms are not stored; these functions ignore float samples.
        ev.eval(args[-1], ts)
        return Block.empty(len(ts))
    if name in ("sort", "sort_desc", "sort_by_label", "sort_by_label_desc") and (
        ev.window.start_ms != ev.window.end_ms
    ):
        ev.warn("sort is ineffective for range queries since results are always ordered by labels")
    handler = _OTHER.get(name)
    if handler is None:
        raise QueryError(f"function {name!r} is not implemented")
    return handler(ev, args, ts)


_COUNTER_SUFFIXES = ("_total", "_sum", "_count", "_bucket")


def range_argument(ev: EvalContext, node: ast.Call, expr: ast.Expr, ts: np.ndarray) -> RangeArg:
    """The range-vector argument ``expr`` of call ``node``, evaluated; rate and increase
    of a selector add Prometheus's hint about names that do not look like counters."""
    rng = ev.eval(expr, ts)
    assert isinstance(rng, RangeArg)
    if (node.func in ("rate", "increase") and isinstance(expr, ast.MatrixSelector)
            and "mode" not in rng.extra):
        _check_counter_names(ev, rng, expr)
    return rng


def _check_counter_names(ev: EvalContext, rng: RangeArg, expr: ast.MatrixSelector) -> None:
    # A range vector only holds series with samples in some window, so every name in it
    # was read. One look per distinct name: thousands of series usually share one, and a
    # selector that pins the name needs no look at its series at all.
    pinned = [m.value for m in expr.vs.matchers
              if m.name == "__name__" and m.type == MatchType.EQUAL]
    names = pinned[:1] if pinned and rng.labels else dict.fromkeys(lb.name for lb in rng.labels)
    for name in names:
        if name and not name.endswith(_COUNTER_SUFFIXES):
            ev.info("metric might not be a counter, name does not end in "
                    f'_total/_sum/_count/_bucket: "{name}"')


def _string_arg(ev: EvalContext, expr: ast.Expr, ts: np.ndarray) -> str:
    val = ev.eval(expr, ts)
    assert isinstance(val, StringValue)
    return val.value


def _clamp(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
    blk = ev.eval_block(args[0], ts)
    lo = ev.eval_scalar(args[1], ts)[None, :]
    hi = ev.eval_scalar(args[2], ts)[None, :]
    with np.errstate(invalid="ignore"):
        vals = np.maximum(lo, np.minimum(hi, blk.values))
        ok = ~(hi < lo)
    return Block(blk.labels, vals, blk.present & ok, np.ones(len(blk), dtype=bool)).compact()


def _clamp_one(which: str):
    def fn(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
        blk = ev.eval_block(args[0], ts)
        bound = ev.eval_scalar(args[1], ts)[None, :]
        vals = np.maximum(blk.values, bound) if which == "min" else np.minimum(blk.values, bound)
        return Block(blk.labels, vals, blk.present, np.ones(len(blk), dtype=bool))

    return fn


def _round(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
    blk = ev.eval_block(args[0], ts)
    to = ev.eval_scalar(args[1], ts)[None, :] if len(args) > 1 else np.ones((1, len(ts)))
    with np.errstate(all="ignore"):
        inv = 1.0 / to
        vals = np.floor(blk.values * inv + 0.5) / inv
    return Block(blk.labels, vals, blk.present, np.ones(len(blk), dtype=bool))


def _timestamp(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
    arg = args[0]
    while isinstance(arg, ast.ParenExpr):
        arg = arg.expr
    if isinstance(arg, ast.VectorSelector):
        blk, stamps = ev.vector_selector(arg, ts)
        return Block(blk.labels, stamps / 1000.0, blk.present, np.ones(len(blk), dtype=bool))
    blk = ev.eval_block(arg, ts)
    vals = np.broadcast_to(ts[None, :] / 1000.0, blk.values.shape).copy()
    return Block(blk.labels, vals, blk.present, np.ones(len(blk), dtype=bool))


def _vector(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
    v = ev.eval_scalar(args[0], ts)
    return Block([Labels()], v[None, :].copy(), np.ones((1, len(ts)), dtype=bool))


def _scalar(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> ScalarSteps:
    blk = ev.eval_block(args[0], ts)
    if len(blk) == 0:
        return ScalarSteps(np.full(len(ts), np.nan))
    cnt = blk.present.sum(axis=0)
    val = np.where(blk.present, blk.values, 0.0).sum(axis=0)
    return ScalarSteps(np.where(cnt == 1, val, np.nan))


def _absent_labels(expr: ast.Expr) -> Labels:
    vs = expr.vs if isinstance(expr, ast.MatrixSelector) else expr
    if isinstance(vs, ast.SubqueryExpr):
        return Labels()
    if not isinstance(vs, ast.VectorSelector):
        return Labels()
    out: dict[str, str] = {}
    seen: set[str] = set()
    for m in vs.matchers:
        if m.name == METRIC_NAME:
            continue
        # A label constrained any other way, or twice, has no single value to report.
        if m.type is MatchType.EQUAL and m.name not in seen:
            out[m.name] = m.value
        else:
            out.pop(m.name, None)
        seen.add(m.name)
    return Labels(out)


def _absent(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
    blk = ev.eval_block(args[0], ts)
    any_present = blk.present.any(axis=0) if len(blk) else np.zeros(len(ts), dtype=bool)
    return Block([_absent_labels(args[0])], np.ones((1, len(ts))), ~any_present[None, :]).compact()


def _absent_over_time(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
    rng = ev.eval(args[0], ts)
    assert isinstance(rng, RangeArg)
    lo, hi = rng.bounds()
    any_present = (hi > lo).any(axis=0) if len(lo) else np.zeros(len(ts), dtype=bool)
    return Block([_absent_labels(args[0])], np.ones((1, len(ts))), ~any_present[None, :]).compact()


def _sort(desc: bool):
    def fn(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
        blk = ev.eval_block(args[0], ts)
        if len(ts) != 1 or len(blk) == 0:
            return blk
        v = blk.values[:, 0]
        key = np.where(np.isnan(v), np.inf, -v if desc else v)
        order = np.lexsort((key, np.isnan(v)))
        return blk.rows(order)

    return fn


def _sort_by_label(desc: bool):
    def fn(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
        blk = ev.eval_block(args[0], ts)
        names = [_string_arg(ev, a, ts) for a in args[1:]]
        order = sorted(range(len(blk)), key=lambda i: (
            [_natural(blk.labels[i].get(n)) for n in names], _natural_labels(blk.labels[i])),
            reverse=desc)
        return blk.rows(order)

    return fn


def _natural(s: str) -> list:
    """Sort key that orders digit runs by number ("cpu2" < "cpu10")."""
    import re

    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", s) if p]


def _natural_labels(lb: Labels) -> list:
    return [(k, _natural(v)) for k, v in lb]


def _window_scalar(which: str):
    def fn(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> ScalarSteps:
        w = ev.window
        value = {"step": w.step_ms, "range": w.end_ms - w.start_ms,
                 "start": w.start_ms, "end": w.end_ms}[which] / 1000.0
        return ScalarSteps(np.full(len(ts), value))

    return fn


def _min_max_of(which: str):
    def fn(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> ScalarSteps:
        a, b = ev.eval_scalar(args[0], ts), ev.eval_scalar(args[1], ts)
        return ScalarSteps(np.minimum(a, b) if which == "min" else np.maximum(a, b))

    return fn


def _time(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> ScalarSteps:
    return ScalarSteps(ts / 1000.0)


def _pi(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> ScalarSteps:
    return ScalarSteps(np.full(len(ts), np.pi))


def _date_func(ev: EvalContext, name: str, args: list[ast.Expr], ts: np.ndarray) -> Block:
    if args:
        blk = ev.eval_block(args[0], ts)
    else:
        blk = Block([Labels()], (ts / 1000.0)[None, :], np.ones((1, len(ts)), dtype=bool))
    v = blk.values
    # Beyond ~3e9 years numpy's datetime64 cannot follow; such values give NaN.
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (np.abs(v) < 1e17)
    secs = np.where(ok, v, 0).astype(np.int64)
    dt = secs.astype("datetime64[s]")
    days = dt.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    years = dt.astype("datetime64[Y]")
    if name == "minute":
        out = (secs // 60) % 60
    elif name == "hour":
        out = (secs // 3600) % 24
    elif name == "day_of_week":
        out = (days.astype(np.int64) + 4) % 7
    elif name == "day_of_month":
        out = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    elif name == "day_of_year":
        out = (days - years.astype("datetime64[D]")).astype(np.int64) + 1
    elif name == "days_in_month":
        out = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
    elif name == "month":
        out = months.astype(np.int64) % 12 + 1
    else:
        out = years.astype(np.int64) + 1970
    vals = np.where(ok, out.astype(np.float64), np.nan)
    return Block(blk.labels, vals, blk.present, np.ones(len(blk), dtype=bool))


_OTHER: dict[str, Callable] = {
    "clamp": _clamp,
    "clamp_min": _clamp_one("min"),
    "clamp_max": _clamp_one("max"),
    "round": _round,
    "timestamp": _timestamp,
    "vector": _vector,
    "scalar": _scalar,
    "absent": _absent,
    "absent_over_time": _absent_over_time,
    "sort": _sort(False),
    "sort_desc": _sort(True),
    "sort_by_label": _sort_by_label(False),
    "sort_by_label_desc": _sort_by_label(True),
    "time": _time,
    "step": _window_scalar("step"),
    "range": _window_scalar("range"),
    "start": _window_scalar("start"),
    "end": _window_scalar("end"),
    "min_of": _min_max_of("min"),
    "max_of": _min_max_of("max"),
    "pi": _pi,
}
