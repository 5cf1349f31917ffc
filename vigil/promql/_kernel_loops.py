"""The loops of the PromQL range kernels, written once and run two ways.

Every kernel takes all series of a selector at once as flat arrays (samples of series
``i`` are ``t[offsets[i]:offsets[i + 1]]``) and walks each series' samples and the query's
steps together, once: the window bounds of a step follow from the previous step's by
advancing two indices, and the function is computed straight from the window's samples.
That is O(samples + steps) per series for the edge-based functions (rate, irate, first,
last, count, changes, ...) and O(window length) per step for those that read every sample
(sum, avg, min, max, stddev, ...), as Prometheus does.

Steps ascend (or repeat, under ``@``); should a step's time ever go backwards, its bound is
found again by binary search instead of walked to.

Functions follow Prometheus 3.x sample by sample, including the order of floating-point
operations that decides the last bits: the counter-reset correction is added reset by reset,
sums use Kahan-Neumaier compensation, variance is Welford's method.

This module does not import numba: its functions run as plain Python (on lists, for small
inputs: a rule evaluation, a query over a few series) and :mod:`vigil.promql._kernel_jit`
compiles copies of the very same functions with numba for big inputs. ``@_jit`` only records
a function (and its numba options) in :data:`KERNELS`; the two ways share every line, so
they give the same answer bit for bit. The code is therefore restricted to what both Python
and numba's nopython mode run alike (no division that can be by zero, no ``math.sqrt`` of a
negative number: :func:`_sqrt`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["KERNELS", "KERNEL_FUNCTIONS"]

# name -> numba options, in definition order (a kernel's callees come before it).
KERNELS: dict[str, dict[str, Any]] = {}


def _jit(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Record ``fn`` as a kernel to compile (``inline="always"`` inlines a small helper into
    its callers' loops); the function itself is returned unchanged."""
    if fn is None:
        return lambda f: _jit(f, **options)
    KERNELS[fn.__name__] = options
    return fn


# Function ids: the kernel picks a family's loop by id once per series.
RATE, INCREASE, DELTA, IRATE, IDELTA, CHANGES, RESETS = range(7)
FIRST, LAST, COUNT, PRESENT, TS_FIRST, TS_LAST, TS_MIN, TS_MAX = range(7, 15)
SUM, AVG, MIN, MAX, STDDEV, STDVAR = range(15, 21)

KERNEL_FUNCTIONS: dict[str, int] = {
    "rate": RATE, "increase": INCREASE, "delta": DELTA, "irate": IRATE, "idelta": IDELTA,
    "changes": CHANGES, "resets": RESETS, "first_over_time": FIRST, "last_over_time": LAST,
    "count_over_time": COUNT, "present_over_time": PRESENT,
    "ts_of_first_over_time": TS_FIRST, "ts_of_last_over_time": TS_LAST,
    "ts_of_min_over_time": TS_MIN, "ts_of_max_over_time": TS_MAX,
    "sum_over_time": SUM, "avg_over_time": AVG, "min_over_time": MIN, "max_over_time": MAX,
    "stddev_over_time": STDDEV, "stdvar_over_time": STDVAR,
}


@_jit(inline="always")
def _after(t, a, b, x):
    """First index in ``[a, b)`` whose time is after ``x`` (bisect right)."""
    while a < b:
        m = (a + b) >> 1
        if t[m] <= x:
            a = m + 1
        else:
            b = m
    return a


@_jit(inline="always")
def _advance(t, idx, a, b, x, prev_x, first):
    if first or x < prev_x:
        return _after(t, a, b, x)
    while idx < b and t[idx] <= x:
        idx += 1
    return idx


@_jit(inline="always")
def _kahan_inc(inc, s, c):
    t = s + inc
    if math.isinf(t):
        c = 0.0
    elif abs(s) >= abs(inc):
        c += (s - t) + inc
    else:
        c += (inc - t) + s
    return t, c


@_jit(inline="always")
def _extrapolated(fid, t, v, lo, hi, resets, r0, nres, range_start, range_end, range_s):
    """rate / increase / delta of the window ``[lo, hi)`` (at least two samples).

    ``resets[r0:nres]`` are the positions ``j`` (ascending) where ``v[j + 1] < v[j]``."""
    last = hi - 1
    first_v = v[lo]
    result = v[last] - first_v
    if fid != DELTA:
        r = r0
        while r < nres and resets[r] < last:
            result += v[resets[r]]
            r += 1
    to_start = (t[lo] - range_start) / 1000.0
    to_end = (range_end - t[last]) / 1000.0
    sampled = (t[last] - t[lo]) / 1000.0
    avg = sampled / (hi - lo - 1)
    threshold = avg * 1.1
    if to_start >= threshold:
        to_start = avg / 2
    if fid != DELTA:
        # A counter is not extrapolated to before the time it would have been zero.
        to_zero = to_start
        if result > 0 and first_v >= 0:
            to_zero = sampled * (first_v / result)
        if to_zero < to_start:
            to_start = to_zero
    if to_end >= threshold:
        to_end = avg / 2
    factor = 1.0
    if sampled != 0:
        factor = (sampled + to_start + to_end) / sampled
    if fid == RATE:
        factor /= range_s
    return result * factor


@_jit(inline="always")
def _sqrt(x):
    # Python's math.sqrt raises on a negative number (rounding can make a variance one);
    # numba's gives NaN, as Prometheus's math.Sqrt does.
    if x < 0:
        return np.nan
    return math.sqrt(x)


@_jit
def _sum(v, lo, hi):
    s = 0.0
    c = 0.0
    for j in range(lo, hi):
        s, c = _kahan_inc(v[j], s, c)
    if math.isinf(s):
        return s
    return s + c


@_jit
def _avg(v, lo, hi):
    # A compensated sum divided at the end; once the sum overflows, a running mean instead.
    s = v[lo]
    c = 0.0
    mean = 0.0
    incremental = False
    count = 1.0
    for j in range(lo + 1, hi):
        f = v[j]
        count += 1.0
        if not incremental:
            ns, nc = _kahan_inc(f, s, c)
            if not math.isinf(ns):
                s = ns
                c = nc
                continue
            incremental = True
            mean = s / (count - 1)
            c /= count - 1
        q = (count - 1) / count
        mean, c = _kahan_inc(f / count, q * mean, q * c)
    if incremental:
        return mean + c
    return s / count + c / count


@_jit
def _variance(v, lo, hi):
    count = 0.0
    mean = 0.0
    c_mean = 0.0
    aux = 0.0
    c_aux = 0.0
    for j in range(lo, hi):
        f = v[j]
        count += 1.0
        delta = f - (mean + c_mean)
        mean, c_mean = _kahan_inc(delta / count, mean, c_mean)
        aux, c_aux = _kahan_inc(delta * (f - (mean + c_mean)), aux, c_aux)
    return (aux + c_aux) / count


@_jit
def _series_bounds(t, a, b, starts, ends, lo, hi):
    """Window bounds ``[lo[k], hi[k])`` of one series (samples ``a .. b - 1``)."""
    left = a
    right = a
    for k in range(len(starts)):
        left = _advance(t, left, a, b, starts[k], starts[k - 1], k == 0)
        right = _advance(t, right, a, b, ends[k], ends[k - 1], k == 0)
        lo[k] = left
        hi[k] = max(right, left)


# Each family below fills one series' row (``out`` NaN and ``ok`` False where absent) in a
# loop of its own: one loop shared by all functions, branching per window, was 3x slower.
@_jit
def _rate_family(fid, t, v, a, b, lo, hi, starts, ends, range_s, resets, out, ok):
    nres = 0
    if fid != DELTA:
        for j in range(a, b - 1):
            if v[j + 1] < v[j]:
                resets[nres] = j
                nres += 1
    r0 = 0
    for k in range(len(lo)):
        left = lo[k]
        right = hi[k]
        if right - left < 2:
            out[k] = np.nan
            ok[k] = False
            continue
        if nres:
            if k > 0 and left < lo[k - 1]:
                r0 = 0
            while r0 < nres and resets[r0] < left:
                r0 += 1
        out[k] = _extrapolated(fid, t, v, left, right, resets, r0, nres, starts[k], ends[k],
                               range_s)
        ok[k] = True


@_jit
def _instant_family(fid, t, v, lo, hi, out, ok):
    for k in range(len(lo)):
        last = hi[k] - 1
        if last - lo[k] < 1:
            out[k] = np.nan
            ok[k] = False
            continue
        cur = v[last]
        prev = v[last - 1]
        if fid == IDELTA:
            out[k] = cur - prev
            ok[k] = True
            continue
        dt = (t[last] - t[last - 1]) / 1000.0
        if dt == 0:
            out[k] = np.nan
            ok[k] = False
        else:
            out[k] = (cur if cur < prev else cur - prev) / dt
            ok[k] = True


@_jit
def _count_family(fid, v, a, b, lo, hi, changes, out, ok):
    # changes[j - a]: changes (or resets) between the series' samples a .. j.
    changes[0] = 0
    for j in range(a + 1, b):
        prev = v[j - 1]
        cur = v[j]
        if fid == RESETS:
            hit = cur < prev
        else:
            hit = not (cur == prev or (math.isnan(cur) and math.isnan(prev)))
        changes[j - a] = changes[j - 1 - a] + (1 if hit else 0)
    for k in range(len(lo)):
        if hi[k] <= lo[k]:
            out[k] = np.nan
            ok[k] = False
        else:
            out[k] = float(changes[hi[k] - 1 - a] - changes[lo[k] - a])
            ok[k] = True


@_jit
def _edge_family(fid, t, v, lo, hi, out, ok):
    for k in range(len(lo)):
        left = lo[k]
        right = hi[k]
        if right <= left:
            out[k] = np.nan
            ok[k] = False
            continue
        ok[k] = True
        if fid == FIRST:
            out[k] = v[left]
        elif fid == LAST:
            out[k] = v[right - 1]
        elif fid == COUNT:
            out[k] = float(right - left)
        elif fid == PRESENT:
            out[k] = 1.0
        elif fid == TS_FIRST:
            out[k] = t[left] / 1000.0
        else:
            out[k] = t[right - 1] / 1000.0


@_jit
def _scan_family(fid, t, v, lo, hi, out, ok):
    """Functions that read every sample of each window."""
    for k in range(len(lo)):
        left = lo[k]
        right = hi[k]
        if right <= left:
            out[k] = np.nan
            ok[k] = False
            continue
        ok[k] = True
        if fid == SUM:
            out[k] = _sum(v, left, right)
        elif fid == AVG:
            out[k] = _avg(v, left, right)
        elif fid == STDDEV:
            out[k] = _sqrt(_variance(v, left, right))
        elif fid == STDVAR:
            out[k] = _variance(v, left, right)
        elif fid == MIN or fid == MAX:
            best = v[left]
            for j in range(left + 1, right):
                f = v[j]
                if math.isnan(best) or (f > best if fid == MAX else f < best):
                    best = f
            out[k] = best
        else:
            # ts_of_min / ts_of_max: the last occurrence of the extreme wins; NaN samples
            # are passed over unless all are NaN.
            best = v[left]
            at = left
            for j in range(left + 1, right):
                f = v[j]
                if math.isnan(best) or (f >= best if fid == TS_MAX else f <= best):
                    best = f
                    at = j
            out[k] = t[at] / 1000.0


@_jit
def _run(fid, t, v, offsets, starts, ends, range_s, gid, fused, out, ok, comp, cnt):
    """Evaluate ``fid`` for every series and step.

    Not fused: ``out[i, k]`` / ``ok[i, k]`` per series ``i``. Fused: the present results
    are summed into group ``gid[i]`` with Kahan-Neumaier compensation (``out`` the sums,
    ``comp`` the compensation, ``cnt`` how many series were present), series in order,
    and ``ok[i, 0]`` tells whether series ``i`` was present at any step."""
    nseries = len(offsets) - 1
    nsteps = len(starts)
    longest = 1
    for i in range(nseries):
        longest = max(longest, offsets[i + 1] - offsets[i])
    scratch = np.empty(longest, np.int64)
    lo = np.empty(nsteps, np.int64)
    hi = np.empty(nsteps, np.int64)
    row = np.empty(nsteps)
    row_ok = np.empty(nsteps, np.bool_)
    for i in range(nseries):
        a = offsets[i]
        b = offsets[i + 1]
        o = row if fused else out[i]
        p = row_ok if fused else ok[i]
        _series_bounds(t, a, b, starts, ends, lo, hi)
        if fid <= DELTA:
            _rate_family(fid, t, v, a, b, lo, hi, starts, ends, range_s, scratch, o, p)
        elif fid == IRATE or fid == IDELTA:
            _instant_family(fid, t, v, lo, hi, o, p)
        elif fid == CHANGES or fid == RESETS:
            _count_family(fid, v, a, b, lo, hi, scratch, o, p)
        elif fid <= TS_LAST:
            _edge_family(fid, t, v, lo, hi, o, p)
        else:
            _scan_family(fid, t, v, lo, hi, o, p)
        if fused:
            g = gid[i]
            any_ok = False
            for k in range(nsteps):
                if p[k]:
                    any_ok = True
                    out[g, k], comp[g, k] = _kahan_inc(o[k], out[g, k], comp[g, k])
                    cnt[g, k] += 1
            ok[i, 0] = any_ok


@_jit
def _bounds(t, offsets, starts, ends, lo_out, hi_out):
    for i in range(len(offsets) - 1):
        _series_bounds(t, offsets[i], offsets[i + 1], starts, ends, lo_out[i], hi_out[i])


@_jit
def _any_window(t, offsets, starts, ends, out):
    for i in range(len(offsets) - 1):
        a = offsets[i]
        b = offsets[i + 1]
        lo = a
        for k in range(len(starts)):
            lo = _advance(t, lo, a, b, starts[k], starts[k - 1], k == 0)
            if lo < b and t[lo] <= ends[k]:
                out[i] = True
                break


@_jit
def _instant(t, v, vbits, offsets, times, lookback, stale_bits, values, present, stamps):
    # vbits: the values' bit patterns (a staleness marker is one NaN among many).
    for i in range(len(offsets) - 1):
        a = offsets[i]
        b = offsets[i + 1]
        hi = a
        for k in range(len(times)):
            x = times[k]
            hi = _advance(t, hi, a, b, x, times[k - 1], k == 0)
            j = hi - 1
            if j < a:
                values[i, k] = 0.0
                present[i, k] = False
                stamps[i, k] = 0
                continue
            values[i, k] = v[j]
            stamps[i, k] = t[j]
            present[i, k] = t[j] > x - lookback and vbits[j] != stale_bits
