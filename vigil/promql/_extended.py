"""The ``anchored`` and ``smoothed`` range-selector modifiers (experimental in Prometheus).

``anchored`` adds, as a baseline, the last sample at or before the window start (looking
back at most the lookback delta). ``smoothed`` interpolates the series linearly at both
window boundaries, and for an instant selector at the evaluation time. Only a few
functions are defined on such windows; the others are rejected with Prometheus's error.
These paths loop over steps in Python: they are rare and exactness matters more.
"""

from __future__ import annotations

import bisect

import numpy as np

from vigil.errors import QueryError
from vigil.promql._block import Block, RangeArg

ANCHORED_FUNCS = ("changes", "delta", "increase", "rate", "resets")
SMOOTHED_FUNCS = ("delta", "increase", "rate")


def check_function(mode: str, name: str) -> None:
    allowed = ANCHORED_FUNCS if mode == "anchored" else SMOOTHED_FUNCS
    if name not in allowed:
        raise QueryError(f"{mode} modifier can only be used with: {', '.join(allowed)} - "
                         f"not with {name}")


def _interpolate(t1: int, v1: float, t2: int, v2: float, t: int, is_counter: bool) -> float:
    if is_counter and v2 < v1:
        v1 = 0.0
    return v1 + (v2 - v1) * (t - t1) / (t2 - t1)


def extended_rate(t: list[int], v: list[float], range_start: int, range_end: int,
                  smoothed: bool, is_counter: bool, is_rate: bool, range_s: float) -> float | None:
    """rate/increase/delta over an anchored or smoothed window (samples ``t``/``v``)."""
    last = len(t) - 1
    first = max(0, bisect.bisect_right(t, range_start, 0, last) - 1)
    if smoothed:
        last = bisect.bisect_left(t, range_end, 0, last)
    if t[last] <= range_start:
        return None
    if smoothed and t[first] > range_end:
        return None
    left = v[first]
    if smoothed and t[first] < range_start:
        left = _interpolate(t[first], v[first], t[first + 1], v[first + 1], range_start, is_counter)
    right = v[last]
    if smoothed and last > 0 and t[last] > range_end:
        right = _interpolate(t[last - 1], v[last - 1], t[last], v[last], range_end, is_counter)
    result = right - left
    if is_counter:
        lo = first + 1 if t[first] <= range_start else first
        hi = last - 1 if t[last] >= range_end else last
        prev = left
        for f in v[lo:hi + 1]:
            if f < prev:
                result += prev
            prev = f
        if right < prev:
            result += prev
    return result / range_s if is_rate else result


def anchored_count(t: list[int], v: list[float], range_start: int, resets: bool) -> float | None:
    """changes/resets over an anchored window: start from the anchor sample."""
    anchor = bisect.bisect_right(t, range_start) - 1
    if anchor + 1 >= len(t):
        return None
    vals = v[max(anchor, 0):]
    n = 0
    for a, b in zip(vals, vals[1:], strict=False):
        if resets:
            n += b < a
        else:
            n += not (a == b or (a != a and b != b))
    return float(n)


def eval_extended(name: str, arg: RangeArg, mode: str) -> Block:
    """Apply function ``name`` to an anchored/smoothed range vector."""
    check_function(mode, name)
    n = len(arg.range_end)
    rs = arg.extra["range_start"]
    re_ = arg.extra["range_end"]
    labels, vals, pres = [], [], []
    for i, lb in enumerate(arg.labels):
        out = np.full(n, np.nan)
        ok = np.zeros(n, dtype=bool)
        ts_all, vs_all = arg.timestamps[i], arg.values[i]
        for k in range(n):
            lo, hi = int(arg.lo[i][k]), int(arg.hi[i][k])
            if hi <= lo:
                continue
            t = ts_all[lo:hi].tolist()
            v = vs_all[lo:hi].tolist()
            if name in ("changes", "resets"):
                r = anchored_count(t, v, int(rs[k]), name == "resets")
            else:
                r = extended_rate(t, v, int(rs[k]), int(re_[k]), mode == "smoothed",
                                  name != "delta", name == "rate", arg.range_ms / 1000)
            if r is not None:
                out[k], ok[k] = r, True
        if ok.any():
            labels.append(lb)
            vals.append(out)
            pres.append(ok)
    if not labels:
        return Block.empty(n)
    return Block(labels, np.vstack(vals), np.vstack(pres), np.ones(len(labels), dtype=bool))


def smoothed_instant(t: np.ndarray, v: np.ndarray, data_ts: np.ndarray, lookback: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Value of a ``smoothed`` instant selector at each ``data_ts``: the sample at that time,
    else linear interpolation between its neighbours, else the previous sample."""
    i = np.searchsorted(t, data_ts, side="left")
    n = len(t)
    ic = np.minimum(i, max(n - 1, 0))
    exact = (i < n) & (t[ic] == data_ts)
    has_prev = i > 0
    pi = np.maximum(i - 1, 0)
    # Samples considered lie in (data_ts - lookback, data_ts + lookback].
    prev_ok = has_prev & (t[pi] > data_ts - lookback)
    next_ok = (i < n) & (t[ic] <= data_ts + lookback)
    with np.errstate(all="ignore"):
        interp = v[pi] + (v[ic] - v[pi]) * (data_ts - t[pi]) / (t[ic] - t[pi])
    out = np.where(exact, v[ic], np.where(prev_ok & next_ok, interp, v[pi]))
    present = exact | prev_ok
    return out, present
