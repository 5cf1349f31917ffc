"""Functions of a range vector: rate/increase/delta, irate/idelta, ``*_over_time``, ...

Most are computed by the compiled kernel (:mod:`vigil.promql._kernel`), which walks every
series' samples and the steps together. The rest (quantiles, regression, smoothing) gather
the samples of every (series, step) window into a ``[windows, L]`` array (``L`` = the
longest window, padded and masked), so each is a handful of numpy operations along axis 1
for all windows of all series at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from vigil.promql._aggregate import quantile_columns
from vigil.promql._block import Block, RangeArg
from vigil.promql._kernel import KERNEL_FUNCTIONS, evaluate

_CHUNK_ELEMENTS = 4_000_000  # bound the gathered window arrays' size


@dataclass
class Win:
    """Gathered windows, one per row."""

    v: np.ndarray  # float64 [n, L], padded with NaN
    t: np.ndarray  # int64 [n, L]
    m: np.ndarray  # bool [n, L]: inside the window
    cnt: np.ndarray  # int [n]
    params: list[np.ndarray]  # scalar arguments, each [n]
    eval_ts: np.ndarray  # int64 [n] ms: the evaluation time of each step


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


def apply_range(arg: RangeArg, fn: RangeFunc | None, params: list[np.ndarray],
                keep_name: bool, name: str) -> Block:
    """Range function ``name`` over every series' windows: the kernel's if it has one,
    else ``fn`` over the gathered windows."""
    if name in KERNEL_FUNCTIONS:
        values, ok = evaluate(name, arg.t, arg.v, arg.offsets, arg.range_start,
                              arg.range_end, arg.range_ms)
    else:
        assert fn is not None
        values, ok = _gathered(arg, fn, params)
    drop = np.full(len(arg.labels), not keep_name)
    drop_rows = arg.extra.get("drop_rows")
    if drop_rows is not None:
        drop |= drop_rows
    rows = np.flatnonzero(ok.any(axis=1))
    if len(rows) == len(arg.labels):
        return Block(arg.labels, values, ok, drop)
    return Block([arg.labels[i] for i in rows.tolist()], values[rows], ok[rows], drop[rows])


def _gathered(arg: RangeArg, fn: RangeFunc, params: list[np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray]:
    """Every (series, step) window as one row of a Win, so ``fn`` runs once over all
    series instead of once per series. Values (NaN where absent) and present, [S, N]."""
    glo, ghi = arg.bounds()
    s, n = glo.shape
    lo, hi = glo.reshape(-1), ghi.reshape(-1)
    eval_ts = np.tile(arg.eval_ts if arg.eval_ts is not None else arg.range_end, s)
    params = [np.tile(p, s) for p in params]
    out_v = np.full(s * n, np.nan)
    out_p = np.zeros(s * n, dtype=bool)
    for sl, vv, tt, m, c in _windows(arg.t, arg.v, lo, hi):
        w = Win(vv, tt, m, c, [p[sl] for p in params], eval_ts[sl])
        with np.errstate(all="ignore"):
            r, ok = fn(w)
        out_v[sl] = r
        out_p[sl] = ok & (c > 0)
    out_p = out_p.reshape(s, n)
    return np.where(out_p, out_v.reshape(s, n), np.nan), out_p


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



def _quantile(w: Win) -> tuple[np.ndarray, np.ndarray]:
    return quantile_columns(w.v.T, w.m.T, w.params[0]), w.cnt > 0


def _mad(w: Win) -> tuple[np.ndarray, np.ndarray]:
    half = np.full(len(w.cnt), 0.5)
    med = quantile_columns(w.v.T, w.m.T, half)
    dev = np.abs(w.v - med[:, None])
    res = quantile_columns(dev.T, w.m.T, half)
    # A NaN sample leaves the median undefined: the result is NaN, as in Prometheus.
    return np.where((np.isnan(w.v) & w.m).any(axis=1), np.nan, res), w.cnt > 0


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



RANGE_FUNCTIONS: dict[str, tuple[RangeFunc | None, bool]] = {
    # name: (implementation over gathered windows, or None for the kernel's; keeps the
    # metric name)
    **{name: (None, name in ("first_over_time", "last_over_time")) for name in KERNEL_FUNCTIONS},
    "quantile_over_time": (_quantile, False),
    "mad_over_time": (_mad, False),
    "deriv": (_deriv, False),
    "predict_linear": (_predict_linear, False),
    "double_exponential_smoothing": (_double_exp, False),
}
