"""The PromQL range kernels: range functions, window bounds and instant selection over all
series of a selector at once (the loops are in :mod:`vigil.promql._kernel_loops`).

Two ways run the same loops: as plain Python over lists, for small inputs (rule evaluations
and small queries, so a Vigil that only evaluates its rules never loads numba and llvmlite,
some 70 MB), and compiled by numba (:mod:`vigil.promql._kernel_jit`, imported the first time
an input is bigger than :data:`PLAIN_LIMIT`; from then on every call uses it, being faster at
any size once loaded). Both give the same result bit for bit.

``VIGIL_PROMQL_KERNEL`` (read at import; tests set :data:`MODE`) forces one way: ``python``
or ``compiled``; ``auto`` (the default) chooses by size.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from vigil.promql import _kernel_loops
from vigil.promql._kernel_loops import KERNEL_FUNCTIONS

__all__ = ["KERNEL_FUNCTIONS", "MODE", "PLAIN_LIMIT", "any_window", "evaluate", "evaluate_sum",
           "instant_select", "window_bounds"]

MODES = ("auto", "python", "compiled")
MODE = os.environ.get("VIGIL_PROMQL_KERNEL", "auto")
if MODE not in MODES:
    raise ValueError(f"VIGIL_PROMQL_KERNEL={MODE!r}: expected one of {', '.join(MODES)}")

# Work (samples read + series x steps written + samples summed by the functions that read
# every sample of every window) up to which the plain loops run. Measured with
# bench/kernel_paths.py: the plain loops cost 0.3-3.5 µs per unit (1.2-2.6 at 18,000 units),
# the compiled ones 100-250x less, and loading numba and the compiled kernels into a process
# costs 0.55 s and ~110 MB of RSS once. At this limit a plain call takes up to ~50 ms;
# a rule evaluation or a one-hour panel over ten series stays far below it (~5 ms).
PLAIN_LIMIT = 20_000

_compiled: Any = None
_compiled_lock = threading.Lock()


def _loops(work: int) -> tuple[Any, Callable[[np.ndarray], Any]]:
    """The loops to run for an input of ``work`` units, and how to pass them an array."""
    global _compiled
    if MODE == "python" or (MODE == "auto" and _compiled is None and work <= PLAIN_LIMIT):
        return _kernel_loops, np.ndarray.tolist  # lists: plain Python indexes them ~3x faster
    if _compiled is None:
        with _compiled_lock:
            from vigil.promql._kernel_jit import compiled

            _compiled = compiled
    return _compiled, _same


def _range_work(fid: int, t: np.ndarray, s: int, n: int, range_ms: int) -> int:
    """Work units of a range function: the scanning ones (sum, avg, min, max, stddev,
    ts_of_min/max) read each window's samples, about ``range / span`` of them per step."""
    work = len(t) + s * n
    if fid >= _kernel_loops.TS_MIN and len(t):
        span = int(t.max()) - int(t.min())
        work += int(len(t) * n * min(1.0, range_ms / max(span, 1)))
    return work


def _same(a: np.ndarray) -> np.ndarray:
    return a


def compiled_loaded() -> bool:
    """Whether this process has loaded the compiled kernels (and numba)."""
    return _compiled is not None


def _flat_args(t: np.ndarray, v: np.ndarray, offsets: np.ndarray, starts: np.ndarray,
               ends: np.ndarray) -> tuple[np.ndarray, ...]:
    # One dtype and layout per argument, so each kernel is compiled (and cached) once.
    return (np.ascontiguousarray(t, np.int64), np.ascontiguousarray(v, np.float64),
            np.ascontiguousarray(offsets, np.int64), np.ascontiguousarray(starts, np.int64),
            np.ascontiguousarray(ends, np.int64))


def evaluate(name: str, t: np.ndarray, v: np.ndarray, offsets: np.ndarray, starts: np.ndarray,
             ends: np.ndarray, range_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Range function ``name`` (a key of :data:`KERNEL_FUNCTIONS`) over the windows
    ``(starts[k], ends[k]]`` of every series: values [S, N] (NaN where absent) and
    present [S, N]."""
    t, v, offsets, starts, ends = _flat_args(t, v, offsets, starts, ends)
    s, n = len(offsets) - 1, len(starts)
    out = np.empty((s, n))
    ok = np.empty((s, n), dtype=bool)
    fid = KERNEL_FUNCTIONS[name]
    loops, arg = _loops(_range_work(fid, t, s, n, range_ms))
    with np.errstate(all="ignore"):  # plain Python on numpy scalars: no overflow warnings
        loops._run(fid, arg(t), arg(v), arg(offsets), arg(starts),
                   arg(ends), range_ms / 1000, arg(np.zeros(s, np.int64)), False, out, ok,
                   np.zeros((0, 0)), np.zeros((0, 0), np.int64))
    return out, ok


def evaluate_sum(name: str, t: np.ndarray, v: np.ndarray, offsets: np.ndarray,
                 starts: np.ndarray, ends: np.ndarray, range_ms: int, gid: np.ndarray,
                 ngroups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sum`` by group of range function ``name`` without the [S, N] intermediate:
    sums [G, N] (Prometheus's compensated sum, series in order), how many series are
    present [G, N], and whether each series is present at any step [S]."""
    t, v, offsets, starts, ends = _flat_args(t, v, offsets, starts, ends)
    s, n = len(offsets) - 1, len(starts)
    sums = np.zeros((ngroups, n))
    comp = np.zeros((ngroups, n))
    cnt = np.zeros((ngroups, n), np.int64)
    any_ok = np.zeros((s, 1), dtype=bool)
    fid = KERNEL_FUNCTIONS[name]
    loops, arg = _loops(_range_work(fid, t, s, n, range_ms))
    with np.errstate(all="ignore"):
        loops._run(fid, arg(t), arg(v), arg(offsets), arg(starts),
                   arg(ends), range_ms / 1000, arg(np.ascontiguousarray(gid, np.int64)), True,
                   sums, any_ok, comp, cnt)
    return sums + comp, cnt, any_ok[:, 0]


def window_bounds(t: np.ndarray, offsets: np.ndarray, starts: np.ndarray, ends: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Flat sample index bounds ``[lo, hi)`` [S, N] of the windows ``(starts, ends]``."""
    t, _, offsets, starts, ends = _flat_args(t, np.zeros(0), offsets, starts, ends)
    s, n = len(offsets) - 1, len(starts)
    lo = np.empty((s, n), np.int64)
    hi = np.empty((s, n), np.int64)
    loops, arg = _loops(len(t) + s * n)
    loops._bounds(arg(t), arg(offsets), arg(starts), arg(ends), lo, hi)
    return lo, hi


def any_window(t: np.ndarray, offsets: np.ndarray, starts: np.ndarray, ends: np.ndarray
               ) -> np.ndarray:
    """Per series: does any window ``(starts[k], ends[k]]`` hold a sample? (Stops at the
    first that does, so it costs little for series that have data.)"""
    t, _, offsets, starts, ends = _flat_args(t, np.zeros(0), offsets, starts, ends)
    out = np.zeros(len(offsets) - 1, dtype=bool)
    loops, arg = _loops(len(t) + len(out) * len(starts))
    loops._any_window(arg(t), arg(offsets), arg(starts), arg(ends), out)
    return out


def instant_select(t: np.ndarray, v: np.ndarray, offsets: np.ndarray, times: np.ndarray,
                   lookback_ms: int, stale_bits: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each series and step the latest sample in ``(time - lookback, time]``: values,
    present and the sample's timestamp, each [S, N]. A staleness marker (the float with
    bits ``stale_bits``) as the latest sample means absent."""
    t, v, offsets, times, _ = _flat_args(t, v, offsets, times, times)
    s, n = len(offsets) - 1, len(times)
    values = np.empty((s, n))
    present = np.empty((s, n), dtype=bool)
    stamps = np.empty((s, n), np.int64)
    loops, arg = _loops(len(t) + s * n)
    if loops is _kernel_loops:
        lookback, stale = int(lookback_ms), int(stale_bits)
    else:
        lookback, stale = np.int64(lookback_ms), np.uint64(stale_bits)
    loops._instant(arg(t), arg(v), arg(v.view(np.uint64)), arg(offsets), arg(times), lookback,
                   stale, values, present, stamps)
    return values, present, stamps


def warm() -> None:
    """Compile every kernel (or load it from numba's on-disk cache) by calling each once on a
    tiny input through the compiled way: run at setup, so that the first big query of a fresh
    install finds them cached instead of compiling them (seconds)."""
    global MODE
    t, v, offsets = np.arange(4, dtype=np.int64) * 1000, np.arange(4.0), np.array([0, 2, 4])
    starts, ends = np.array([0, 1000]), np.array([2000, 3000])
    mode, MODE = MODE, "compiled"
    try:
        evaluate("rate", t, v, offsets, starts, ends, 2000)
        evaluate_sum("rate", t, v, offsets, starts, ends, 2000, np.zeros(2, np.int64), 1)
        window_bounds(t, offsets, starts, ends)
        any_window(t, offsets, starts, ends)
        instant_select(t, v, offsets, ends, 5000, 0x7FF0000000000002)
    finally:
        MODE = mode
