"""The two ways of running the PromQL kernels (:mod:`vigil.promql._kernel`): the plain Python
loops for small inputs and the numba-compiled copy of the same loops for big ones.

The conformance scripts must have the same outcomes with either way forced, and on random
inputs made to hit the edges (gaps, counter resets, NaN, infinities, staleness markers,
values near overflow, steps out of order, empty series, more than one group) both ways must
give the same result bit for bit (NaN being NaN, whatever its payload): they run the very
same source lines, so not even the last bit of a compensated sum may differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from tests.promql.test_conformance import CONFORMANCE_DIR, EXPECTED, changed_outcomes
from vigil.promql import _kernel
from vigil.promqltest.runner import run_file
from vigil.storage.interface import STALE_NAN

STALE_BITS = int(np.array([STALE_NAN]).view(np.uint64)[0])


@pytest.fixture(params=["python", "compiled"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(_kernel, "MODE", request.param)
    yield request.param


def test_conformance_outcomes_are_the_same_either_way(mode: str) -> None:
    files = sorted(CONFORMANCE_DIR.glob("*.test"))
    assert files, f"no conformance scripts in {CONFORMANCE_DIR}"
    changes = changed_outcomes(json.loads(EXPECTED.read_text()), [run_file(f) for f in files])
    assert not changes, f"outcomes changed with the {mode} kernels:\n" + "\n".join(changes)


def _series(rng: np.random.Generator, nseries: int) -> tuple[np.ndarray, ...]:
    """Flat samples of ``nseries`` series, some empty, with gaps, resets and odd values."""
    ts, vs, offsets = [], [], [0]
    for _ in range(nseries):
        n = int(rng.choice([0, 1, 2, 5, 40, 120]))
        t = np.cumsum(rng.integers(1, 30_000, n)) + int(rng.integers(0, 600_000))
        if n > 10:  # a gap of ten minutes
            t[n // 2:] += 600_000
        kind = rng.integers(0, 3)
        if kind == 0:  # a counter with resets
            v = np.cumsum(rng.integers(0, 100, n)).astype(float)
            v[rng.random(n) < 0.05] = 0.0
        elif kind == 1:  # a gauge with odd values
            v = rng.normal(0, 1e3, n)
            odd = rng.random(n)
            v[odd < 0.05] = np.nan
            v[(odd >= 0.05) & (odd < 0.08)] = np.inf
            v[(odd >= 0.08) & (odd < 0.1)] = -np.inf
            v[(odd >= 0.1) & (odd < 0.13)] = 1.7e308
            v[(odd >= 0.13) & (odd < 0.16)] = STALE_NAN
        else:  # cancelling magnitudes: the compensated sums' last bits matter
            v = rng.choice([1e16, -1e16, 1.0, 0.1, 3.0], n)
        ts.append(t)
        vs.append(v)
        offsets.append(offsets[-1] + n)
    return (np.concatenate(ts).astype(np.int64), np.concatenate(vs).astype(np.float64),
            np.array(offsets, np.int64))


def _steps(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    range_ms = int(rng.choice([1_000, 60_000, 300_000, 900_000]))
    step = int(rng.choice([5_000, 15_000, 60_000]))
    ends = np.arange(0, 3_600_000, step, dtype=np.int64)[: int(rng.integers(1, 80))]
    if rng.random() < 0.3:  # steps out of order (or repeated, as under @)
        ends = rng.permutation(ends)
        ends[len(ends) // 2:] = ends[0]
    return ends - range_ms, ends, range_ms


def _both(call: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    got = {}
    for way in ("python", "compiled"):
        monkeypatch.setattr(_kernel, "MODE", way)
        got[way] = call()
    return got["python"], got["compiled"]


def _same_bits(a: np.ndarray, b: np.ndarray, what: str) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape, what
    if a.dtype == np.float64:
        # NaN is NaN: its payload may differ (LLVM may swap the operands of a commutative
        # add, and the CPU keeps the first operand's NaN). A staleness marker must be one either
        # way (first_over_time of raw samples may return one).
        stale = a.view(np.uint64) == STALE_BITS
        assert (stale == (b.view(np.uint64) == STALE_BITS)).all(), f"{what}: staleness"
        nan = np.isnan(a) & np.isnan(b)
        a, b = np.where(nan, 0, a.view(np.uint64)), np.where(nan, 0, b.view(np.uint64))
    mismatch = np.argwhere(a != b)
    assert not len(mismatch), f"{what}: differs at {mismatch[:5].tolist()}"


@pytest.mark.parametrize("seed", range(12))
def test_random_inputs_give_the_same_bits_either_way(seed: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    t, v, offsets = _series(rng, int(rng.integers(1, 12)))
    starts, ends, range_ms = _steps(rng)
    gid = rng.integers(0, 3, len(offsets) - 1)
    for name in _kernel.KERNEL_FUNCTIONS:
        plain, compiled = _both(lambda n=name: _kernel.evaluate(n, t, v, offsets, starts, ends,
                                                               range_ms), monkeypatch)
        for a, b in zip(plain, compiled, strict=True):
            _same_bits(a, b, f"{name} seed {seed}")
        plain, compiled = _both(lambda n=name: _kernel.evaluate_sum(
            n, t, v, offsets, starts, ends, range_ms, gid, 3), monkeypatch)
        for a, b in zip(plain, compiled, strict=True):
            _same_bits(a, b, f"sum({name}) seed {seed}")
    calls = {
        "window_bounds": lambda: _kernel.window_bounds(t, offsets, starts, ends),
        "any_window": lambda: (_kernel.any_window(t, offsets, starts, ends),),
        "instant_select": lambda: _kernel.instant_select(t, v, offsets, ends, 300_000,
                                                         STALE_BITS),
    }
    for what, call in calls.items():
        plain, compiled = _both(call, monkeypatch)
        for a, b in zip(plain, compiled, strict=True):
            _same_bits(a, b, f"{what} seed {seed}")


def test_auto_runs_small_inputs_plain_and_big_ones_compiled(monkeypatch) -> None:
    monkeypatch.setattr(_kernel, "MODE", "auto")
    monkeypatch.setattr(_kernel, "_compiled", None)
    assert _kernel._loops(_kernel.PLAIN_LIMIT)[0] is _kernel._kernel_loops
    assert not _kernel.compiled_loaded()
    big = _kernel._loops(_kernel.PLAIN_LIMIT + 1)[0]
    assert big is not _kernel._kernel_loops and _kernel.compiled_loaded()
    # Once loaded, the compiled kernels serve every size.
    assert _kernel._loops(1)[0] is big


def test_long_windows_of_a_scanning_function_count_as_big_input() -> None:
    # One series, 5,000 samples, 5,000 steps: few units by samples and cells, but sum_over_time
    # over one-hour windows reads ~240 samples per step.
    t = np.arange(5_000, dtype=np.int64) * 15_000
    sum_id, rate_id = _kernel.KERNEL_FUNCTIONS["sum_over_time"], _kernel.KERNEL_FUNCTIONS["rate"]
    assert _kernel._range_work(rate_id, t, 1, 5_000, 3_600_000) == 10_000
    assert _kernel._range_work(sum_id, t, 1, 5_000, 3_600_000) > 1_000_000


def test_warm_loads_the_compiled_kernels_and_keeps_the_mode(monkeypatch) -> None:
    monkeypatch.setattr(_kernel, "MODE", "python")
    monkeypatch.setattr(_kernel, "_compiled", None)
    _kernel.warm()
    assert _kernel.compiled_loaded() and _kernel.MODE == "python"
