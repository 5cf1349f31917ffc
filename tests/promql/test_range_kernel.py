"""The compiled range-function kernel against a plain per-window reference.

The reference below recomputes every window of every series from its samples, one window
at a time, following Prometheus 3.x's definitions; the engine (which walks all series and
steps at once in :mod:`vigil.promql._kernel`) must agree with it at every step, on data made
to hit the edges: empty windows, windows with one sample, counter resets (also between two
series stored next to each other), NaN values, staleness markers, series that start late or
have gaps, and steps that are shorter or much longer than the scrape interval.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator

import numpy as np
import pytest

from tests.support.tsdb_store import TempTSDB, open_temp_tsdb
from vigil.model.features import ALL_FEATURES
from vigil.model.labels import Labels
from vigil.promql import _kernel
from vigil.promql.engine import Engine
from vigil.promql.value import Matrix, Vector
from vigil.storage.interface import STALE_NAN

SEC = 1000
Window = list[tuple[int, float]]


def _data() -> dict[Labels, tuple[list[int], list[float]]]:
    rng = np.random.default_rng(7)
    out: dict[Labels, tuple[list[int], list[float]]] = {}

    def add(name: str, ts: list[int], vs: list[float], **labels: str) -> None:
        out[Labels({"__name__": name, **labels})] = (ts, vs)

    grid = [i * 15 * SEC + int(rng.integers(1, 900)) for i in range(120)]  # 30 min, jittered
    # A counter with resets, among them one on the first and one on the last sample pair.
    vals, v = [], 0.0
    for i in range(len(grid)):
        v = 3.0 if i in (1, 40, 41, 118) else v + float(rng.integers(0, 50))
        vals.append(v)
    vals[0] = 500.0
    add("c", grid, vals, kind="resets", g="a")
    # The next series in storage order starts far below where the previous one ends: the
    # drop between two series is not a counter reset.
    add("c", grid, [1000.0 + 2 * i for i in range(len(grid))], kind="steady", g="a")
    add("c", [grid[60]], [42.0], kind="single", g="b")
    # Starts late, then a 10-minute gap.
    late = [t for t in grid if 6 * 60 * SEC < t < 12 * 60 * SEC or t > 22 * 60 * SEC]
    add("c", late, [float(i * i) for i in range(len(late))], kind="gappy", g="b")
    # A gauge with NaNs, infinities, repeated values and a staleness marker.
    gauge = [float(rng.normal(0, 100)) for _ in grid]
    for i in (5, 6, 30, 77):
        gauge[i] = math.nan
    gauge[50], gauge[51], gauge[52] = 7.0, 7.0, 7.0
    gauge[90] = math.inf
    gauge[95] = -math.inf
    gauge[60] = STALE_NAN
    add("g", grid, gauge, kind="odd", g="a")
    add("g", grid, [math.nan] * len(grid), kind="allnan", g="b")
    return out


DATA = _data()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    store = open_temp_tsdb(tmp_path_factory.mktemp("range_kernel"))
    try:
        for lb, (ts, vs) in DATA.items():
            store.add(lb, zip(ts, vs, strict=True))
        yield Engine(store, features=ALL_FEATURES)
    finally:
        store.close()


def _is_stale(v: float) -> bool:
    return np.array([v]).view(np.uint64)[0] == np.array([STALE_NAN]).view(np.uint64)[0]


def _window(lb: Labels, start: int, end: int) -> Window:
    ts, vs = DATA[lb]
    return [(t, v) for t, v in zip(ts, vs, strict=True) if start < t <= end and not _is_stale(v)]


def _extrapolated(w: Window, start: int, end: int, range_s: float, counter: bool,
                  rate: bool) -> float | None:
    if len(w) < 2:
        return None
    result = w[-1][1] - w[0][1]
    if counter:
        for (_, prev), (_, cur) in zip(w, w[1:], strict=False):
            if cur < prev:
                result += prev
    sampled = (w[-1][0] - w[0][0]) / 1000
    avg = sampled / (len(w) - 1)
    to_start = (w[0][0] - start) / 1000
    to_end = (end - w[-1][0]) / 1000
    if to_start >= avg * 1.1:
        to_start = avg / 2
    if counter and result > 0 and w[0][1] >= 0:
        to_start = min(to_start, sampled * (w[0][1] / result))
    if to_end >= avg * 1.1:
        to_end = avg / 2
    result *= (sampled + to_start + to_end) / sampled
    return result / range_s if rate else result


def _extreme_ts(w: Window, take_max: bool) -> float:
    best_t, best = w[0]
    for t, v in w:
        if math.isnan(best) or (v >= best if take_max else v <= best):
            best_t, best = t, v
    return best_t / 1000


def _extreme(w: Window, take_max: bool) -> float:
    best = w[0][1]
    for _, v in w:
        if math.isnan(best) or (v > best if take_max else v < best):
            best = v
    return best


def _reference(func: str, w: Window, start: int, end: int, range_s: float) -> float | None:
    vals = [v for _, v in w]
    if func in ("rate", "increase", "delta"):
        return _extrapolated(w, start, end, range_s, func != "delta", func == "rate")
    if func in ("irate", "idelta"):
        if len(w) < 2:
            return None
        (t0, prev), (t1, cur) = w[-2], w[-1]
        if func == "idelta":
            return cur - prev
        return (cur if cur < prev else cur - prev) / ((t1 - t0) / 1000)
    if not w:
        return None
    pairs = list(zip(vals, vals[1:], strict=False))
    simple = {
        "changes": lambda: float(sum(not (a == b or (math.isnan(a) and math.isnan(b)))
                                     for a, b in pairs)),
        "resets": lambda: float(sum(b < a for a, b in pairs)),
        "first_over_time": lambda: vals[0],
        "last_over_time": lambda: vals[-1],
        "count_over_time": lambda: float(len(vals)),
        "present_over_time": lambda: 1.0,
        "ts_of_first_over_time": lambda: w[0][0] / 1000,
        "ts_of_last_over_time": lambda: w[-1][0] / 1000,
        "ts_of_max_over_time": lambda: _extreme_ts(w, True),
        "ts_of_min_over_time": lambda: _extreme_ts(w, False),
        "max_over_time": lambda: _extreme(w, True),
        "min_over_time": lambda: _extreme(w, False),
        "sum_over_time": lambda: sum(vals),
        "avg_over_time": lambda: sum(vals) / len(vals),
        "stdvar_over_time": lambda: statistics.pvariance(vals),
        "stddev_over_time": lambda: statistics.pstdev(vals),
    }
    return simple[func]()


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


FUNCS = ["rate", "increase", "delta", "irate", "idelta", "changes", "resets",
         "first_over_time", "last_over_time", "count_over_time", "present_over_time",
         "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_max_over_time",
         "ts_of_min_over_time", "max_over_time", "min_over_time", "sum_over_time",
         "avg_over_time", "stdvar_over_time", "stddev_over_time"]
# (range, step): windows overlapping heavily, about one sample each, and far apart.
SHAPES = [(5 * 60 * SEC, 7 * SEC), (20 * SEC, 15 * SEC), (60 * SEC, 10 * 60 * SEC)]


def _finite_pstats(func: str, w: Window) -> bool:
    # statistics.pvariance rejects infinities/NaN; those windows are checked separately.
    return not (func.startswith("std") and any(not math.isfinite(v) for _, v in w))


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("shape", SHAPES, ids=["overlapping", "one-sample", "sparse"])
def test_range_function_matches_reference(engine: Engine, func: str,
                                          shape: tuple[int, int]) -> None:
    rng_ms, step = shape
    start, end = -2 * 60 * SEC, 32 * 60 * SEC  # begins and ends with empty windows
    res = engine.range_query(f"{func}({{__name__=~'c|g'}}[{rng_ms // SEC}s])", start, end, step)
    assert isinstance(res.value, Matrix)
    got = {s.labels: dict(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
           for s in res.value.series}
    keep_name = func in ("first_over_time", "last_over_time")
    checked = absent = 0
    for lb in DATA:
        out_lb = lb if keep_name else lb.without_name()
        series = got.get(out_lb, {})
        for t in range(start, end + 1, step):
            w = _window(lb, t - rng_ms, t)
            if not _finite_pstats(func, w):
                continue
            want = _reference(func, w, t - rng_ms, t, rng_ms / 1000)
            if want is None:
                assert t not in series, (lb, t)
                absent += 1
                continue
            assert t in series, (lb, t)
            assert _close(series[t], want), (lb, t, series[t], want)
            checked += 1
    assert checked + absent >= 20


def test_variance_of_windows_with_infinities_and_nan(engine: Engine) -> None:
    odd = Labels({"kind": "odd", "g": "a"})
    for t, expect_nan in ((6 * 15 * SEC + 900, True), (91 * 15 * SEC + 900, True)):
        r = engine.instant_query('stdvar_over_time(g{kind="odd"}[20s])', t)
        assert isinstance(r.value, Vector)
        (sample,) = r.value.samples
        assert sample.labels == odd and math.isnan(sample.value) == expect_nan


def test_stale_marker_is_not_a_sample_of_the_range(engine: Engine) -> None:
    ts = DATA[Labels({"__name__": "g", "kind": "odd", "g": "a"})][0]
    r = engine.instant_query('count_over_time(g{kind="odd"}[1s])', ts[60])
    assert isinstance(r.value, Vector) and r.value.samples == []
    r = engine.instant_query('count_over_time(g{kind="odd"}[16s])', ts[61])
    assert isinstance(r.value, Vector) and [s.value for s in r.value.samples] == [1.0]


def test_instant_query_at_every_sample_boundary(engine: Engine) -> None:
    # Windows are open on the left: a sample exactly at t - range is outside.
    ts, _ = DATA[Labels({"__name__": "c", "kind": "steady", "g": "a"})]
    for i in (0, 1, 57, 119):
        r = engine.instant_query('count_over_time(c{kind="steady"}[15s])', ts[i])
        expected = 1 + sum(ts[i] - 15 * SEC < u < ts[i] for u in ts)
        assert [s.value for s in r.value.samples] == [float(expected)]  # type: ignore[union-attr]


@pytest.mark.parametrize("query", [
    "sum(rate(c[5m]))",
    "sum by (g) (increase(c[2m]))",
    "sum without (kind) (delta(g[5m]))",
    "sum by (g) (max_over_time(g[1m]))",
    "sum(count_over_time({__name__=~'c|g'}[3m]))",
    "sum by (g) (rate(c[5m:30s]))",
])
def test_sum_over_kernel_function_equals_sum_of_its_series(engine: Engine, query: str) -> None:
    """The fused sum (no per-series intermediate) against the sum of the per-series result,
    which ``+ 0`` forces (a binary operation is not fused)."""
    start, end, step = -60 * SEC, 31 * 60 * SEC, 20 * SEC
    unfused = query[:-1] + " + 0)"
    a = engine.range_query(query, start, end, step).value
    b = engine.range_query(unfused, start, end, step).value
    assert isinstance(a, Matrix) and isinstance(b, Matrix)
    assert [s.labels for s in a.series] == [s.labels for s in b.series]
    assert len(a.series) > 0
    for x, y in zip(a.series, b.series, strict=True):
        assert x.timestamps.tolist() == y.timestamps.tolist()
        np.testing.assert_allclose(x.values, y.values, rtol=1e-12, equal_nan=True)
    for t in (-60 * SEC, 9 * 60 * SEC, 31 * 60 * SEC):
        fused = engine.instant_query(query, t).value
        plain = engine.instant_query(unfused, t).value
        assert isinstance(fused, Vector) and isinstance(plain, Vector)
        assert [s.labels for s in fused.samples] == [s.labels for s in plain.samples]


def test_fused_sum_is_compensated(tsdb_store: TempTSDB) -> None:
    # 1e16 + 1 + ... - 1e16: a plain float sum loses the ones; Prometheus's Kahan sum keeps
    # them, and so does the fused path.
    for i, v in enumerate([1e16, 1.0, 1.0, -1e16]):
        tsdb_store.add({"__name__": "m", "i": str(i)}, [(10 * SEC, v)])
    r = Engine(tsdb_store).instant_query("sum(last_over_time(m[1m]))", 30 * SEC)
    assert isinstance(r.value, Vector) and [s.value for s in r.value.samples] == [2.0]


def test_steps_out_of_order_give_the_same_windows() -> None:
    """Steps normally ascend; an out-of-order step is searched afresh, not walked to."""
    t = np.array([10, 20, 30, 40, 50, 5, 15, 25], np.int64) * SEC
    v = np.array([1, 5, 2, 8, 9, 100, 1, 3], np.float64)
    offsets = np.array([0, 5, 8], np.int64)
    ends = np.array([30, 50, 12, 60, 25, 40], np.int64) * SEC
    starts = ends - 25 * SEC
    order = np.argsort(ends)
    for name in ("rate", "changes", "sum_over_time", "last_over_time", "irate"):
        got, ok = _kernel.evaluate(name, t, v, offsets, starts, ends, 25 * SEC)
        want, want_ok = _kernel.evaluate(name, t, v, offsets, starts[order], ends[order],
                                         25 * SEC)
        inv = np.argsort(order)
        assert (ok == want_ok[:, inv]).all(), name
        np.testing.assert_array_equal(got, want[:, inv])
    lo, hi = _kernel.window_bounds(t, offsets, starts, ends)
    for i in range(2):
        ts = t[offsets[i]:offsets[i + 1]]
        assert (lo[i] - offsets[i] == np.searchsorted(ts, starts, side="right")).all()
        assert (hi[i] - offsets[i] == np.searchsorted(ts, ends, side="right")).all()
