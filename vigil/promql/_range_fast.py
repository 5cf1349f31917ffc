"""Range functions computed straight from each window's ``[lo, hi)`` sample indices.

rate, increase, delta, irate, idelta, changes, resets and the first/last/count family only
need the samples at the window edges plus prefix sums, so they cost O(samples + steps)
per series instead of O(steps x window length).
"""

from __future__ import annotations

import math

import numpy as np

Result = tuple[np.ndarray, np.ndarray]


def _edges(t: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    last = np.maximum(hi - 1, 0)
    first = np.minimum(lo, last)
    return v[first], v[last], t[first], t[last]


def _reset_correction(v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                      seg_start: np.ndarray | None = None,
                      offsets: np.ndarray | None = None) -> np.ndarray:
    """Per window, the sum of the values just before each counter reset inside it.

    ``seg_start`` (same shape as ``lo``) is where each window's series begins in ``v``
    when ``v`` holds several series back to back."""
    if len(v) < 2:
        return np.zeros(lo.shape)
    drop = v[1:] < v[:-1]
    if offsets is not None and len(offsets) > 2:
        drop[offsets[1:-1] - 1] = False  # pairs across two series are not resets
    if not drop.any():
        return np.zeros(lo.shape)
    contrib = np.where(drop, v[:-1], 0.0)  # contrib[j]: reset between sample j and j + 1
    csum = np.concatenate(([0.0], np.cumsum(contrib)))
    ccount = np.concatenate(([0], np.cumsum(drop)))
    top = len(v) - 1
    # Resets between samples a..b-1 and their successors (clipped: empty windows at the end).
    a, b = np.minimum(lo, top), np.minimum(np.maximum(hi - 1, lo), top)
    corr = csum[b] - csum[a]
    has = (ccount[b] - ccount[a]) > 0
    corr = np.where(has, corr, 0.0)
    # Cancellation guard: recompute exactly where the prefix sums dwarf the window's share.
    base = csum[seg_start] if seg_start is not None else 0.0
    risky = has & ((np.abs(csum[b] - base) + np.abs(csum[a] - base)) > 1e4 * np.abs(corr))
    for k in zip(*np.nonzero(risky), strict=True):
        corr[k] = math.fsum(contrib[a[k]:b[k]])
    return corr


def extrapolated(t: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 range_start: np.ndarray, range_end: np.ndarray, range_ms: int,
                 is_counter: bool, is_rate: bool, seg_start: np.ndarray | None = None,
                 offsets: np.ndarray | None = None) -> Result:
    """Prometheus's extrapolatedRate for every step at once (float samples)."""
    cnt = hi - lo
    ok = cnt >= 2
    if len(v) == 0:
        return np.full(lo.shape, np.nan), ok
    first_v, last_v, first_t, last_t = _edges(t, v, lo, hi)
    result = last_v - first_v
    if is_counter:
        result = result + _reset_correction(v, lo, hi, seg_start, offsets)
    with np.errstate(all="ignore"):
        to_start = (first_t - range_start) / 1000
        to_end = (range_end - last_t) / 1000
        sampled = (last_t - first_t) / 1000
        avg = sampled / np.maximum(cnt - 1, 1)
        threshold = avg * 1.1
        to_start = np.where(to_start >= threshold, avg / 2, to_start)
        if is_counter:
            to_zero = np.where((result > 0) & (first_v >= 0), sampled * (first_v / result),
                               to_start)
            to_start = np.minimum(to_start, to_zero)
        to_end = np.where(to_end >= threshold, avg / 2, to_end)
        factor = np.where(sampled != 0, (sampled + to_start + to_end) / np.where(sampled != 0, sampled, 1), 1.0)
        if is_rate:
            factor = factor / (range_ms / 1000)
        return result * factor, ok


def instant_delta(t: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  is_rate: bool) -> Result:
    """irate / idelta from the last two samples of each window."""
    ok = (hi - lo) >= 2
    if len(v) == 0:
        return np.full(lo.shape, np.nan), ok
    last = np.maximum(hi - 1, 0)
    prev = np.maximum(hi - 2, 0)
    lv, pv = v[last], v[prev]
    if not is_rate:
        return lv - pv, ok
    dt = (t[last] - t[prev]) / 1000
    ok = ok & (dt != 0)
    with np.errstate(all="ignore"):
        res = np.where(lv < pv, lv, lv - pv)
        return res / np.where(dt != 0, dt, 1), ok


def count_changes(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, resets: bool) -> Result:
    ok = hi > lo
    if len(v) < 2:
        return np.zeros(lo.shape), ok
    prev, cur = v[:-1], v[1:]
    if resets:
        hit = cur < prev
    else:
        hit = ~((cur == prev) | (np.isnan(cur) & np.isnan(prev)))
    c = np.concatenate(([0], np.cumsum(hit)))
    top = len(v) - 1
    a, b = np.minimum(lo, top), np.minimum(np.maximum(hi - 1, lo), top)
    return (c[b] - c[a]).astype(np.float64), ok


def edge_value(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, which: str) -> Result:
    ok = hi > lo
    if len(v) == 0:
        return np.full(lo.shape, np.nan), ok
    idx = np.maximum(hi - 1, 0) if which == "last" else np.minimum(lo, max(len(v) - 1, 0))
    return v[idx], ok


FAST_FUNCTIONS = frozenset({
    "rate", "increase", "delta", "irate", "idelta", "changes", "resets", "last_over_time",
    "first_over_time", "count_over_time", "present_over_time", "ts_of_last_over_time",
    "ts_of_first_over_time",
})


def fast_range(name: str, t: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               range_start: np.ndarray, range_end: np.ndarray, range_ms: int,
               seg_start: np.ndarray | None = None,
               offsets: np.ndarray | None = None) -> Result | None:
    """Result of range function ``name`` if it has an index-based form, else None.

    ``lo``/``hi`` may be [N] (one series) or [S, N] indices into series stored back to back
    in ``t``/``v``; ``seg_start`` then gives each window's series start."""
    if name in ("rate", "increase", "delta"):
        return extrapolated(t, v, lo, hi, range_start, range_end, range_ms,
                            name != "delta", name == "rate", seg_start, offsets)
    if name in ("irate", "idelta"):
        return instant_delta(t, v, lo, hi, name == "irate")
    if name in ("changes", "resets"):
        return count_changes(v, lo, hi, name == "resets")
    if name in ("last_over_time", "first_over_time"):
        return edge_value(v, lo, hi, name.split("_")[0])
    if name == "count_over_time":
        c = (hi - lo).astype(np.float64)
        return c, c > 0
    if name == "present_over_time":
        return np.ones(lo.shape), hi > lo
    if name == "ts_of_last_over_time":
        val, ok = edge_value(t.astype(np.float64) / 1000, lo, hi, "last")
        return val, ok
    if name == "ts_of_first_over_time":
        val, ok = edge_value(t.astype(np.float64) / 1000, lo, hi, "first")
        return val, ok
    return None
