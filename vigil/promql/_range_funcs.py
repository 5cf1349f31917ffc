"""Functions of a range vector: rate/increase/delta, irate/idelta, ``*_over_time``, ...

For each series the samples of every step's window are gathered into a ``[steps, L]``
array (``L`` = the longest window, padded and masked), so each function is a handful of
numpy operations along axis 1 for all steps at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from vigil.promql._aggregate import quantile_columns
from vigil.promql._block import Block, RangeArg
from vigil.promql._range_fast import FAST_FUNCTIONS, fast_range

_CHUNK_ELEMENTS = 4_000_000  # bound the gathered window arrays' size


@dataclass
class Win:
    """Gathered windows for a slice of steps of one series."""

    v: np.ndarray  # float64 [n, L], padded with NaN
    t: np.ndarray  # int64 [n, L]
    m: np.ndarray  # bool [n, L]: inside the window
    cnt: np.ndarray  # int [n]
    rows: np.ndarray  # arange(n)
    range_start: np.ndarray  # int64 [n]
    range_end: np.ndarray  # int64 [n]
    range_ms: int
    params: list[np.ndarray]  # scalar arguments, each [n]
    eval_ts: np.ndarray  # int64 [n] ms: the evaluation time of each step

    def last(self, arr: np.ndarray) -> np.ndarray:
        return arr[self.rows, np.maximum(self.cnt - 1, 0)]


def _windows(t: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray
             ) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    n = len(lo)
    cnt = hi - lo
    width = max(int(cnt.max()) if n else 0, 1)
    chunk = max(1, _CHUNK_ELEMENTS // width)
    for s in range(0, n, chunk):
        sl = slice(s, min(n, s + chunk))
        c = cnt[sl]
        w = max(int(c.max()), 1)
        idx = lo[sl, None] + np.arange(w)[None, :]
        m = np.arange(w)[None, :] < c[:, None]
        idx = np.minimum(idx, max(len(v) - 1, 0))
        if len(v):
            vv = np.where(m, v[idx], np.nan)
            tt = np.where(m, t[idx], 0)
        else:
            vv = np.full(idx.shape, np.nan)
            tt = np.zeros(idx.shape, dtype=np.int64)
        yield sl, vv, tt, m, c


RangeFunc = Callable[[Win], tuple[np.ndarray, np.ndarray]]


def _kahan_inc_scalar(inc: float, s: float, c: float) -> tuple[float, float]:
    t = s + inc
    if math.isinf(t):
        return t, 0.0
    if abs(s) >= abs(inc):
        return t, c + ((s - t) + inc)
    return t, c + ((inc - t) + s)


def sum_exact(values: np.ndarray) -> float:
    """Prometheus's compensated sum_over_time of one window, sample by sample."""
    s = c = 0.0
    for f in values.tolist():
        s, c = _kahan_inc_scalar(f, s, c)
    return s if math.isinf(s) else s + c


def avg_exact(values: np.ndarray) -> float:
    """Prometheus's avg_over_time of one window: compensated sum, incremental on overflow."""
    vals = values.tolist()
    s, count, mean, c, incremental = vals[0], 1.0, 0.0, 0.0, False
    for i, f in enumerate(vals[1:]):
        count = float(i + 2)
        if not incremental:
            ns, nc = _kahan_inc_scalar(f, s, c)
            if not math.isinf(ns):
                s, c = ns, nc
                continue
            incremental = True
            mean = s / (count - 1)
            c /= count - 1
        q = (count - 1) / count
        mean, c = _kahan_inc_scalar(f / count, q * mean, q * c)
    if incremental:
        return mean + c
    return s / count + c / count


def window_sums(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, avg: bool) -> np.ndarray | None:
    """Sums (or means) of ``v[lo:hi]`` for every step, or None for the general path.

    Each window is summed on its own (``np.add.reduceat`` over interleaved bounds), so a
    result depends only on the window's samples, never on what else was loaded. Windows
    whose values cancel are redone sample by sample with Prometheus's compensated sum.
    None (non-finite values or overflow) means "use the general path".
    """
    if len(v) and not np.isfinite(v).all():
        return None
    n = len(lo)
    if len(v) == 0:
        return np.zeros(n)
    padded = np.append(v, 0.0)  # reduceat needs every index < len
    bounds = np.empty(2 * n, dtype=np.int64)
    bounds[0::2], bounds[1::2] = lo, hi
    with np.errstate(all="ignore"):
        res = np.add.reduceat(padded, bounds)[0::2]
        magnitude = np.add.reduceat(np.abs(padded), bounds)[0::2]
    empty = hi <= lo
    res = np.where(empty, 0.0, res)
    if not np.isfinite(magnitude[~empty]).all():
        return None
    risky = ~empty & (magnitude > 1e6 * np.abs(res))
    cnt = np.maximum(hi - lo, 1)
    if avg:
        res = res / cnt
    for k in np.nonzero(risky)[0]:
        window = v[lo[k]:hi[k]]
        res[k] = avg_exact(window) if avg else sum_exact(window)
    return res


def _fast_sum(arg: RangeArg, i: int, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    cnt = (arg.hi[i] - arg.lo[i]).astype(np.float64)
    if name == "count_over_time":
        return cnt, cnt > 0
    res = window_sums(arg.values[i], arg.lo[i], arg.hi[i], avg=name == "avg_over_time")
    if res is None:
        return None
    return res, cnt > 0


_FAST = {"sum_over_time", "avg_over_time", "count_over_time"}


def apply_range(arg: RangeArg, fn: RangeFunc, params: list[np.ndarray], keep_name: bool,
                name: str = "") -> Block:
    """Run ``fn`` over every series' windows; returns values and presence per step."""
    n = len(arg.range_end)
    if name in FAST_FUNCTIONS and "flat" in arg.extra and "mode" not in arg.extra:
        return _apply_flat(arg, name, keep_name)
    if "flat" in arg.extra and "mode" not in arg.extra and name not in _FAST:
        return _apply_flat_windows(arg, fn, params, keep_name)
    labels, vals, pres = [], [], []
    drop_rows = arg.extra.get("drop_rows")
    drops = []
    for i, lb in enumerate(arg.labels):
        out_v = np.full(n, np.nan)
        out_p = np.zeros(n, dtype=bool)
        if name in _FAST:
            fast = _fast_sum(arg, i, name)
        else:
            fast = fast_range(name, arg.timestamps[i], arg.values[i], arg.lo[i], arg.hi[i],
                              arg.range_start, arg.range_end, arg.range_ms)
        if fast is not None:
            out_v, out_p = fast
            out_v = np.where(out_p, out_v, np.nan)
        for sl, vv, tt, m, c in (() if fast is not None else
                                 _windows(arg.timestamps[i], arg.values[i], arg.lo[i], arg.hi[i])):
            w = Win(vv, tt, m, c, np.arange(len(c)), arg.range_start[sl], arg.range_end[sl],
                    arg.range_ms, [p[sl] for p in params],
                    (arg.eval_ts if arg.eval_ts is not None else arg.range_end)[sl])
            with np.errstate(all="ignore"):
                r, ok = fn(w)
            out_v[sl] = r
            out_p[sl] = ok & (c > 0)
        if not out_p.any():
            continue
        labels.append(lb)
        vals.append(out_v)
        pres.append(out_p)
        inherited = bool(drop_rows[i]) if drop_rows is not None else False
        drops.append(inherited or not keep_name)
    if not labels:
        return Block.empty(n)
    return Block(labels, np.vstack(vals), np.vstack(pres), np.array(drops, dtype=bool))


def _apply_flat(arg: RangeArg, name: str, keep_name: bool) -> Block:
    """All series at once, on the selector's flat sample arrays."""
    t, v, glo, ghi, offsets, start = arg.extra["flat"]
    seg = np.broadcast_to(start[:, None], glo.shape)
    res = fast_range(name, t, v, glo, ghi, arg.range_start, arg.range_end, arg.range_ms, seg,
                     offsets)
    assert res is not None
    values, ok = res
    ok = ok & (ghi > glo)
    rows = np.nonzero(ok.any(axis=1))[0]
    labels = [arg.labels[i] for i in rows]
    return Block(labels, np.where(ok, values, np.nan)[rows], ok[rows],
                 np.full(len(rows), not keep_name, dtype=bool))


def _apply_flat_windows(arg: RangeArg, fn: RangeFunc, params: list[np.ndarray],
                        keep_name: bool) -> Block:
    """Every (series, step) window of the selector's flat arrays as one row of a Win, so
    the function runs once over all series instead of once per series."""
    t, v, glo, ghi = arg.extra["flat"][:4]
    s, n = glo.shape
    lo, hi = glo.reshape(-1), ghi.reshape(-1)
    eval_ts = arg.eval_ts if arg.eval_ts is not None else arg.range_end
    range_start, range_end = np.tile(arg.range_start, s), np.tile(arg.range_end, s)
    eval_ts, params = np.tile(eval_ts, s), [np.tile(p, s) for p in params]
    out_v = np.full(s * n, np.nan)
    out_p = np.zeros(s * n, dtype=bool)
    for sl, vv, tt, m, c in _windows(t, v, lo, hi):
        w = Win(vv, tt, m, c, np.arange(len(c)), range_start[sl], range_end[sl], arg.range_ms,
                [p[sl] for p in params], eval_ts[sl])
        with np.errstate(all="ignore"):
            r, ok = fn(w)
        out_v[sl] = r
        out_p[sl] = ok & (c > 0)
    out_v, out_p = out_v.reshape(s, n), out_p.reshape(s, n)
    rows = np.flatnonzero(out_p.any(axis=1))
    return Block([arg.labels[i] for i in rows], np.where(out_p, out_v, np.nan)[rows],
                 out_p[rows], np.full(len(rows), not keep_name, dtype=bool))


# Below this many rows per window column, summing each row with math.fsum (one C call per
# row) beats the column-by-column compensated loop (several numpy calls per column).
_FSUM_ROWS_PER_COLUMN = 4


def kahan_sum(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Row sums of ``v`` over mask ``m``, compensated like Prometheus's Kahan-Neumaier sum.

    Long windows over few series (``deriv``/``predict_linear`` over hours in alert rules)
    take exactly rounded ``math.fsum`` per row, which is never less accurate; rows holding
    Inf or NaN, and wide short windows, take the column loop, which keeps IEEE semantics."""
    rows, cols = v.shape
    if rows and cols > 16 and rows < cols * _FSUM_ROWS_PER_COLUMN:
        masked = np.where(m, v, 0.0)
        finite = np.isfinite(masked).all(axis=1)
        out = np.empty(rows)
        for i in np.flatnonzero(finite):
            out[i] = math.fsum(masked[i])
        rest = np.flatnonzero(~finite)
        if len(rest):
            out[rest] = _neumaier_columns(v[rest], m[rest])
        return out
    return _neumaier_columns(v, m)


def _neumaier_columns(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    s = np.zeros(v.shape[0])
    c = np.zeros(v.shape[0])
    for j in range(v.shape[1]):
        x = np.where(m[:, j], v[:, j], 0.0)
        t = s + x
        big = np.abs(s) >= np.abs(x)
        comp = np.where(big, (s - t) + x, (x - t) + s)
        c = np.where(np.isinf(t), 0.0, c + comp)
        s = t
    return s + c


# -- rate family -------------------------------------------------------------------------
def _extrapolated(w: Win, is_counter: bool, is_rate: bool) -> tuple[np.ndarray, np.ndarray]:
    ok = w.cnt >= 2
    first_v = w.v[:, 0]
    last_v = w.last(w.v)
    first_t = w.t[:, 0]
    last_t = w.last(w.t)
    result = last_v - first_v
    if is_counter and w.v.shape[1] > 1:
        prev, cur = w.v[:, :-1], w.v[:, 1:]
        valid = w.m[:, 1:]
        result = result + np.where(valid & (cur < prev), prev, 0.0).sum(axis=1)
    to_start = (first_t - w.range_start) / 1000
    to_end = (w.range_end - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    avg = sampled / np.maximum(w.cnt - 1, 1)
    threshold = avg * 1.1
    to_start = np.where(to_start >= threshold, avg / 2, to_start)
    if is_counter:
        to_zero = np.where((result > 0) & (first_v >= 0), sampled * (first_v / result), to_start)
        to_start = np.minimum(to_start, to_zero)
    to_end = np.where(to_end >= threshold, avg / 2, to_end)
    factor = np.where(sampled != 0, (sampled + to_start + to_end) / np.where(sampled != 0, sampled, 1), 1.0)
    if is_rate:
        factor = factor / (w.range_ms / 1000)
    return result * factor, ok


def _instant(w: Win, is_rate: bool) -> tuple[np.ndarray, np.ndarray]:
    ok = w.cnt >= 2
    idx_last = np.maximum(w.cnt - 1, 0)
    idx_prev = np.maximum(w.cnt - 2, 0)
    last_v = w.v[w.rows, idx_last]
    prev_v = w.v[w.rows, idx_prev]
    dt = (w.t[w.rows, idx_last] - w.t[w.rows, idx_prev]) / 1000
    if not is_rate:
        return last_v - prev_v, ok
    res = np.where(last_v < prev_v, last_v, last_v - prev_v)
    ok = ok & (dt != 0)
    return res / np.where(dt != 0, dt, 1), ok


# -- over_time ---------------------------------------------------------------------------
def _sum(w: Win) -> tuple[np.ndarray, np.ndarray]:
    # Reached only for windows with non-finite values; exactness over speed.
    return np.array([sum_exact(w.v[k, :c]) if c else np.nan
                     for k, c in enumerate(w.cnt.tolist())]), w.cnt > 0


def _avg(w: Win) -> tuple[np.ndarray, np.ndarray]:
    return np.array([avg_exact(w.v[k, :c]) if c else np.nan
                     for k, c in enumerate(w.cnt.tolist())]), w.cnt > 0


def _min(w: Win) -> tuple[np.ndarray, np.ndarray]:
    return np.fmin.reduce(w.v, axis=1), w.cnt > 0


def _max(w: Win) -> tuple[np.ndarray, np.ndarray]:
    return np.fmax.reduce(w.v, axis=1), w.cnt > 0


def _kahan_inc(inc: np.ndarray, s: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = s + inc
    big = np.abs(s) >= np.abs(inc)
    comp = np.where(big, (s - t) + inc, (inc - t) + s)
    return t, np.where(np.isinf(t), 0.0, c + comp)


def _variance(w: Win) -> np.ndarray:
    """Welford's method with compensated sums, in sample order (as Prometheus)."""
    rows = w.v.shape[0]
    count = np.zeros(rows)
    mean = np.zeros(rows)
    c_mean = np.zeros(rows)
    aux = np.zeros(rows)
    c_aux = np.zeros(rows)
    for j in range(w.v.shape[1]):
        inside = w.m[:, j]
        f = w.v[:, j]
        cnt = count + 1
        delta = f - (mean + c_mean)
        nm, nc = _kahan_inc(delta / cnt, mean, c_mean)
        na, nca = _kahan_inc(delta * (f - (nm + nc)), aux, c_aux)
        count = np.where(inside, cnt, count)
        mean = np.where(inside, nm, mean)
        c_mean = np.where(inside, nc, c_mean)
        aux = np.where(inside, na, aux)
        c_aux = np.where(inside, nca, c_aux)
    return (aux + c_aux) / np.maximum(count, 1)


def _quantile(w: Win) -> tuple[np.ndarray, np.ndarray]:
    return quantile_columns(w.v.T, w.m.T, w.params[0]), w.cnt > 0


def _mad(w: Win) -> tuple[np.ndarray, np.ndarray]:
    half = np.full(len(w.cnt), 0.5)
    med = quantile_columns(w.v.T, w.m.T, half)
    dev = np.abs(w.v - med[:, None])
    res = quantile_columns(dev.T, w.m.T, half)
    # A NaN sample leaves the median undefined: the result is NaN, as in Prometheus.
    return np.where((np.isnan(w.v) & w.m).any(axis=1), np.nan, res), w.cnt > 0


def _changes(w: Win, resets: bool) -> tuple[np.ndarray, np.ndarray]:
    if w.v.shape[1] < 2:
        return np.zeros(len(w.cnt)), w.cnt > 0
    prev, cur = w.v[:, :-1], w.v[:, 1:]
    if resets:
        hit = cur < prev
    else:
        hit = ~((cur == prev) | (np.isnan(cur) & np.isnan(prev)))
    return (hit & w.m[:, 1:]).sum(axis=1).astype(np.float64), w.cnt > 0


def _regression(w: Win, intercept_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.where(w.m, (w.t - intercept_t[:, None]) / 1000, 0.0)
    y = np.where(w.m, w.v, 0.0)
    n = w.cnt.astype(np.float64)
    sx = kahan_sum(x, w.m)
    sy = kahan_sum(y, w.m)
    sxy = kahan_sum(x * y, w.m)
    sx2 = kahan_sum(x * x, w.m)
    cov = sxy - sx * sy / n
    var = sx2 - sx * sx / n
    slope = cov / var
    intercept = sy / n - slope * sx / n
    first = w.v[:, 0]
    const = (np.where(w.m, w.v == first[:, None], True)).all(axis=1)
    slope = np.where(const, np.where(np.isinf(first), np.nan, 0.0), slope)
    intercept = np.where(const, np.where(np.isinf(first), np.nan, first), intercept)
    return slope, intercept


def _deriv(w: Win) -> tuple[np.ndarray, np.ndarray]:
    slope, _ = _regression(w, w.t[:, 0])
    return slope, w.cnt >= 2


def _predict_linear(w: Win) -> tuple[np.ndarray, np.ndarray]:
    # Prometheus anchors the prediction at the evaluation time, even under "@".
    slope, intercept = _regression(w, w.eval_ts)
    return slope * w.params[0] + intercept, w.cnt >= 2


def _double_exp(w: Win) -> tuple[np.ndarray, np.ndarray]:
    sf, tf = w.params
    n = len(w.cnt)
    s0 = w.v[:, 0].copy()
    b = (w.v[:, 1] - w.v[:, 0]) if w.v.shape[1] > 1 else np.zeros(n)
    s1 = s0.copy()
    for j in range(1, w.v.shape[1]):
        inside = w.m[:, j]
        x = w.v[:, j]
        if j > 1:
            b_new = tf * (s1 - s0) + (1 - tf) * b
            b = np.where(inside, b_new, b)
        s_new = sf * x + (1 - sf) * (s1 + b)
        s0 = np.where(inside, s1, s0)
        s1 = np.where(inside, s_new, s1)
    ok = (w.cnt >= 2) & (sf > 0) & (sf < 1) & (tf > 0) & (tf < 1)
    return s1, ok


def _ts_of(w: Win, which: str) -> tuple[np.ndarray, np.ndarray]:
    if which == "first":
        idx = np.zeros(len(w.cnt), dtype=np.int64)
    elif which == "last":
        idx = np.maximum(w.cnt - 1, 0)
    else:
        v = np.where(w.m, w.v, np.nan)
        filled = np.where(np.isnan(v), -np.inf if which == "max" else np.inf, v)
        # Last occurrence of the extreme value wins, as in Prometheus.
        rev = filled[:, ::-1]
        pos = np.argmax(rev, axis=1) if which == "max" else np.argmin(rev, axis=1)
        idx = filled.shape[1] - 1 - pos
    return w.t[w.rows, idx] / 1000, w.cnt > 0


RANGE_FUNCTIONS: dict[str, tuple[RangeFunc, bool]] = {
    # name: (implementation, keeps the metric name)
    "rate": (lambda w: _extrapolated(w, True, True), False),
    "increase": (lambda w: _extrapolated(w, True, False), False),
    "delta": (lambda w: _extrapolated(w, False, False), False),
    "irate": (lambda w: _instant(w, True), False),
    "idelta": (lambda w: _instant(w, False), False),
    "sum_over_time": (_sum, False),
    "avg_over_time": (_avg, False),
    "min_over_time": (_min, False),
    "max_over_time": (_max, False),
    "count_over_time": (lambda w: (w.cnt.astype(np.float64), w.cnt > 0), False),
    "last_over_time": (lambda w: (w.last(w.v), w.cnt > 0), True),
    "first_over_time": (lambda w: (w.v[:, 0], w.cnt > 0), True),
    "present_over_time": (lambda w: (np.ones(len(w.cnt)), w.cnt > 0), False),
    "stddev_over_time": (lambda w: (np.sqrt(_variance(w)), w.cnt > 0), False),
    "stdvar_over_time": (lambda w: (_variance(w), w.cnt > 0), False),
    "quantile_over_time": (_quantile, False),
    "mad_over_time": (_mad, False),
    "changes": (lambda w: _changes(w, False), False),
    "resets": (lambda w: _changes(w, True), False),
    "deriv": (_deriv, False),
    "predict_linear": (_predict_linear, False),
    "double_exponential_smoothing": (_double_exp, False),
    "ts_of_first_over_time": (lambda w: _ts_of(w, "first"), False),
    "ts_of_last_over_time": (lambda w: _ts_of(w, "last"), False),
    "ts_of_min_over_time": (lambda w: _ts_of(w, "min"), False),
    "ts_of_max_over_time": (lambda w: _ts_of(w, "max"), False),
}
