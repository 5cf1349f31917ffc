"""Engine tests against a real TSDB in a temp dir: selectors, functions, operators, errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from tests.support.tsdb_store import TempTSDB
from vigil.errors import ParseError, QueryError
from vigil.model.features import ALL_FEATURES
from vigil.model.labels import Labels
from vigil.promql.engine import Engine
from vigil.promql.value import Matrix, Scalar, String, Vector
from vigil.storage.interface import STALE_NAN

MIN = 60_000


def L(**kw: str) -> Labels:
    return Labels(kw)


@pytest.fixture()
def store(tsdb_store: TempTSDB) -> TempTSDB:
    s = tsdb_store
    # A counter at 1/s, scraped every 15s for an hour, one per job.
    ts = list(range(0, 3600_000 + 1, 15_000))
    for job, instance, per_s in (("api", "a", 1), ("api", "b", 2), ("web", "a", 3)):
        s.add({"__name__": "req_total", "job": job, "instance": instance},
              [(t, per_s * t / 1000) for t in ts])
    # A gauge every minute for 10 minutes.
    s.add({"__name__": "temp", "room": "x"},
          [(i * MIN, float(v)) for i, v in enumerate((1, 3, 2, 5, 4, 4, 8, 7, 6, 9, 10))])
    return s


def vec(result) -> dict[Labels, float]:
    assert isinstance(result.value, Vector)
    return {s.labels: s.value for s in result.value.samples}


def test_instant_selector_and_lookback(store: TempTSDB) -> None:
    eng = Engine(store)
    r = vec(eng.instant_query('req_total{job="api"}', 600_000))
    assert r == {L(__name__="req_total", job="api", instance="a"): 600.0,
                 L(__name__="req_total", job="api", instance="b"): 1200.0}
    # Between scrapes the latest sample is used.
    assert vec(eng.instant_query("temp", 90_000)) == {L(__name__="temp", room="x"): 3.0}
    # Lookback is 5 minutes and open on the left: the last sample (t=10m) is gone at 15m.
    assert vec(eng.instant_query("temp", 10 * MIN + 5 * MIN - 1)) != {}
    assert vec(eng.instant_query("temp", 15 * MIN)) == {}
    assert vec(Engine(store, lookback_delta_ms=MIN).instant_query("temp", 11 * MIN)) == {}


def test_staleness_marker_ends_series(tsdb_store: TempTSDB) -> None:
    s = tsdb_store
    s.add({"__name__": "up"}, zip([0, 15_000, 30_000], [1.0, 1.0, STALE_NAN], strict=True))
    eng = Engine(s)
    assert vec(eng.instant_query("up", 20_000)) == {L(__name__="up"): 1.0}
    assert vec(eng.instant_query("up", 30_000)) == {}
    assert vec(eng.instant_query("up", 60_000)) == {}
    # Stale markers never appear in range vectors.
    r = eng.instant_query("count_over_time(up[1m])", 45_000)
    assert vec(r) == {L(): 2.0}


def test_offset_and_at(store: TempTSDB) -> None:
    eng = Engine(store)
    q = 'req_total{job="web"}'
    assert list(vec(eng.instant_query(f"{q} offset 5m", 600_000)).values()) == [900.0]
    assert list(vec(eng.instant_query(f"{q} offset -5m", 600_000)).values()) == [2700.0]
    assert list(vec(eng.instant_query(f"{q} @ 120", 600_000)).values()) == [360.0]
    r = eng.range_query(f"{q} @ end()", 0, 120_000, 60_000).value
    assert isinstance(r, Matrix)
    assert r.series[0].values.tolist() == [360.0, 360.0, 360.0]


def test_rate_extrapolation(store: TempTSDB) -> None:
    eng = Engine(store)
    r = vec(eng.instant_query("rate(req_total[5m])", 1800_000))
    assert r[L(job="api", instance="a")] == pytest.approx(1.0)
    assert r[L(job="api", instance="b")] == pytest.approx(2.0)
    inc = vec(eng.instant_query('increase(req_total{job="web"}[5m])', 1800_000))
    assert list(inc.values()) == [pytest.approx(900.0)]
    # irate uses the last two samples only.
    ir = vec(eng.instant_query('irate(req_total{job="web"}[1m])', 1800_000))
    assert list(ir.values()) == [pytest.approx(3.0)]


def test_rate_counter_reset_and_extrapolation_to_zero(tsdb_store: TempTSDB) -> None:
    s = tsdb_store
    # Reset between 20 and 5: increase is 10 + 5 + 5 = 20 over 30s of samples.
    s.add({"__name__": "c"}, zip([10_000, 20_000, 30_000, 40_000], [10.0, 20.0, 5.0, 10.0], strict=True))
    eng = Engine(s)
    # Window (0, 40s]: samples cover 10s..40s; 10s to the window start is below 1.1 * avg
    # interval, but the counter would hit zero 10s * 10/20... before 10s -> 5s? no: 30s*(10/20)=15s.
    r = vec(eng.instant_query("increase(c[40s])", 40_000))
    # result 20, sampled 30s, to_start = min(10, 15) = 10, to_end = 0 -> 20 * 40/30
    assert list(r.values()) == [pytest.approx(20 * 40 / 30)]
    assert vec(eng.instant_query("resets(c[1m])", 40_000)) == {L(): 1.0}
    assert vec(eng.instant_query("changes(c[1m])", 40_000)) == {L(): 3.0}
    d = vec(eng.instant_query("delta(c[40s])", 40_000))
    assert list(d.values()) == [pytest.approx(0.0)]


def test_range_query_matches_instant_queries(store: TempTSDB) -> None:
    eng = Engine(store)
    queries = [
        "rate(req_total[5m])",
        "sum by (job) (rate(req_total[2m]))",
        "max_over_time(temp[3m])",
        "temp > 4",
        'req_total / on(instance) group_left req_total{job="api", instance="a"}',
        "avg_over_time(temp[5m:1m])",
        "topk(1, req_total)",
        "quantile(0.5, req_total)",
        "deriv(temp[5m])",
        "predict_linear(temp[5m], 60)",
        "stddev_over_time(temp[4m])",
    ]
    start, end, step = 0, 900_000, 30_000
    for q in queries:
        mat = eng.range_query(q, start, end, step).value
        assert isinstance(mat, Matrix)
        by_label = {s.labels: dict(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
                    for s in mat.series}
        for t in range(start, end + 1, step):
            inst = vec(eng.instant_query(q, t))
            got = {lb: pts[t] for lb, pts in by_label.items() if t in pts}
            assert got.keys() == inst.keys(), (q, t)
            for lb, v in inst.items():
                assert got[lb] == pytest.approx(v, nan_ok=True), (q, t, lb)


def test_scalar_results(store: TempTSDB) -> None:
    eng = Engine(store)
    r = eng.instant_query("1 + 2 * 3", 0)
    assert r.value == Scalar(0, 7.0)
    assert eng.instant_query("time()", 5000).value == Scalar(5000, 5.0)
    assert eng.instant_query('scalar(temp)', 60_000).value == Scalar(60_000, 3.0)
    assert math.isnan(eng.instant_query("scalar(req_total)", 60_000).value.value)  # type: ignore[union-attr]
    m = eng.range_query("time() * 2", 0, 2000, 1000).value
    assert isinstance(m, Matrix) and m.series[0].labels == Labels()
    assert m.series[0].values.tolist() == [0.0, 2.0, 4.0]
    assert eng.instant_query('"hi"', 0).value == String(0, "hi")


def test_range_selector_instant_result(store: TempTSDB) -> None:
    r = Engine(store).instant_query("temp[2m]", 5 * MIN).value
    assert isinstance(r, Matrix)
    # (3m, 5m]: samples at 4m and 5m.
    assert r.series[0].timestamps.tolist() == [4 * MIN, 5 * MIN]


def test_aggregations(store: TempTSDB) -> None:
    eng = Engine(store)
    t = 600_000
    assert vec(eng.instant_query("sum(req_total)", t)) == {L(): 3600.0}
    assert vec(eng.instant_query("sum by (job) (req_total)", t)) == {L(job="api"): 1800.0,
                                                                      L(job="web"): 1800.0}
    assert vec(eng.instant_query("avg without (instance) (req_total)", t)) == {
        L(job="api"): 900.0, L(job="web"): 1800.0}
    assert vec(eng.instant_query("count(req_total)", t)) == {L(): 3.0}
    assert vec(eng.instant_query("min(req_total)", t)) == {L(): 600.0}
    assert vec(eng.instant_query("max by (instance) (req_total)", t)) == {
        L(instance="a"): 1800.0, L(instance="b"): 1200.0}
    assert vec(eng.instant_query("group(req_total)", t)) == {L(): 1.0}
    std = vec(eng.instant_query("stddev(req_total)", t))[L()]
    assert std == pytest.approx(np.std([600, 1200, 1800]))
    assert vec(eng.instant_query("stdvar(req_total)", t))[L()] == pytest.approx(np.var([600, 1200, 1800]))
    assert vec(eng.instant_query("quantile(0.5, req_total)", t)) == {L(): 1200.0}
    assert vec(eng.instant_query("quantile(0.25, req_total)", t)) == {L(): 900.0}
    top = eng.instant_query("topk(2, req_total)", t).value
    assert isinstance(top, Vector)
    assert [s.value for s in top.samples] == [1800.0, 1200.0]
    assert [s.value for s in eng.instant_query("bottomk(1, req_total)", t).value.samples] == [600.0]  # type: ignore[union-attr]
    cv = vec(eng.instant_query('count_values("v", temp)', 4 * MIN))
    assert cv == {L(v="4"): 1.0}


def test_binary_operators(store: TempTSDB, make_tsdb_store: Callable[[], TempTSDB]) -> None:
    eng = Engine(store)
    t = 600_000
    diff = vec(eng.instant_query('req_total{job="web"} - ignoring(job) req_total{job="api"}', t))
    assert diff == {L(instance="a"): 1200.0}
    r = vec(eng.instant_query('req_total{job="api"} / on(instance) req_total{job="web"}', t))
    assert r == {L(instance="a"): pytest.approx(1 / 3)}
    # Comparison filters and keeps the name; bool returns 0/1 and drops it.
    assert vec(eng.instant_query("temp > 4", 3 * MIN)) == {L(__name__="temp", room="x"): 5.0}
    assert vec(eng.instant_query("temp > 5", 3 * MIN)) == {}
    assert vec(eng.instant_query("temp > bool 5", 3 * MIN)) == {L(room="x"): 0.0}
    assert vec(eng.instant_query("2 ^ 3 ^ 2 + temp", 0)) == {L(room="x"): 513.0}
    assert vec(eng.instant_query("temp % 2", 3 * MIN)) == {L(room="x"): 1.0}
    # group_left copies labels from the "one" side.
    s = make_tsdb_store()
    s.add({"__name__": "info", "instance": "a", "version": "1.2"}, [(0, 1.0)])
    s.add({"__name__": "m", "instance": "a", "path": "/x"}, [(0, 5.0)])
    s.add({"__name__": "m", "instance": "a", "path": "/y"}, [(0, 6.0)])
    r = vec(Engine(s).instant_query("m * on(instance) group_left(version) info", 0))
    assert r == {L(instance="a", path="/x", version="1.2"): 5.0,
                 L(instance="a", path="/y", version="1.2"): 6.0}


def test_set_operators(store: TempTSDB) -> None:
    eng = Engine(store)
    t = 600_000
    a = vec(eng.instant_query('req_total and on(instance) req_total{job="web"}', t))
    assert set(a) == {L(__name__="req_total", job="api", instance="a"),
                      L(__name__="req_total", job="web", instance="a")}
    u = vec(eng.instant_query('req_total unless on(instance) req_total{job="web"}', t))
    assert set(u) == {L(__name__="req_total", job="api", instance="b")}
    o = vec(eng.instant_query('req_total{job="web"} or temp', t))
    assert set(o) == {L(__name__="req_total", job="web", instance="a"), L(__name__="temp", room="x")}


def test_matching_errors(store: TempTSDB, make_tsdb_store: Callable[[], TempTSDB]) -> None:
    eng = Engine(store)
    with pytest.raises(QueryError, match="multiple matches for labels: many-to-one matching "
                                          r"must be explicit \(group_left/group_right\)"):
        # Both lhs series have the signature {instance="a"} once "job" is ignored.
        eng.instant_query('req_total{instance="a"} - ignoring(job) req_total{job="api"}', 600_000)
    s = make_tsdb_store()
    for name in ("a", "b", "c"):
        s.add({"__name__": name, "x": "1"}, [(0, 1.0)])
    with pytest.raises(QueryError, match="grouping labels must ensure unique matches"):
        # a and b both become {x="1"} once arithmetic drops the name.
        Engine(s).instant_query('{__name__=~"a|b"} + on(x) group_left c', 0)
    with pytest.raises(QueryError, match="found duplicate series for the match group"):
        eng.instant_query("temp + on() req_total", 600_000)
    with pytest.raises(QueryError, match="vector cannot contain metrics with the same labelset"):
        eng.instant_query('label_replace(req_total, "instance", "", "", "")', 600_000)


def test_functions(store: TempTSDB) -> None:
    eng = Engine(store)
    t = 3 * MIN
    assert vec(eng.instant_query("abs(-temp)", t)) == {L(room="x"): 5.0}
    assert vec(eng.instant_query("sqrt(temp - 1)", t)) == {L(room="x"): 2.0}
    assert vec(eng.instant_query("clamp(temp, 0, 3)", t)) == {L(room="x"): 3.0}
    assert vec(eng.instant_query("clamp(temp, 3, 0)", t)) == {}
    assert vec(eng.instant_query("clamp_min(temp, 9)", t)) == {L(room="x"): 9.0}
    assert vec(eng.instant_query("round(temp / 2)", t)) == {L(room="x"): 3.0}
    assert vec(eng.instant_query("round(temp, 2)", t)) == {L(room="x"): 6.0}
    assert vec(eng.instant_query("timestamp(temp)", t + 30_000)) == {L(room="x"): 180.0}
    assert vec(eng.instant_query("vector(3)", t)) == {L(): 3.0}
    assert vec(eng.instant_query("absent(temp)", t)) == {}
    assert vec(eng.instant_query('absent(nope{a="b", c=~"d"})', t)) == {L(a="b"): 1.0}
    assert vec(eng.instant_query("absent_over_time(temp[1m])", 20 * MIN)) == {L(): 1.0}
    assert vec(eng.instant_query("last_over_time(temp[5m])", t)) == {L(__name__="temp", room="x"): 5.0}
    assert vec(eng.instant_query("avg_over_time(temp[3m])", t)) == {L(room="x"): pytest.approx(10 / 3)}
    assert vec(eng.instant_query("quantile_over_time(0.5, temp[10m])", 10 * MIN)) == {L(room="x"): 5.5}
    assert vec(eng.instant_query("present_over_time(temp[1m])", t)) == {L(room="x"): 1.0}
    assert vec(eng.instant_query("deriv(temp[10m])", 10 * MIN))[L(room="x")] > 0
    lr = vec(eng.instant_query('label_replace(temp, "dst", "r-$1", "room", "(.*)")', t))
    assert lr == {L(__name__="temp", room="x", dst="r-x"): 5.0}
    lj = vec(eng.instant_query('label_join(temp, "dst", "-", "room", "__name__")', t))
    assert lj == {L(__name__="temp", room="x", dst="x-temp"): 5.0}
    srt = eng.instant_query("sort_desc(req_total)", 600_000).value
    assert [s.value for s in srt.samples] == [1800.0, 1200.0, 600.0]  # type: ignore[union-attr]
    assert eng.instant_query("year(vector(0))", 0).value.samples[0].value == 1970.0  # type: ignore[union-attr]
    assert eng.instant_query("day_of_week(vector(86400 * 3))", 0).value.samples[0].value == 0.0  # type: ignore[union-attr]
    assert eng.instant_query("days_in_month(vector(86400 * 40))", 0).value.samples[0].value == 28.0  # type: ignore[union-attr]


def test_histogram_quantile_classic_buckets(tsdb_store: TempTSDB) -> None:
    s = tsdb_store
    for le, count in (("0.1", 10), ("0.5", 50), ("1", 90), ("+Inf", 100)):
        s.add({"__name__": "lat_bucket", "le": le, "job": "x"}, [(0, float(count))])
    eng = Engine(s)
    r = vec(eng.instant_query("histogram_quantile(0.5, lat_bucket)", 0))
    assert r == {L(job="x"): pytest.approx(0.5)}
    r = vec(eng.instant_query("histogram_quantile(0.7, lat_bucket)", 0))
    assert r == {L(job="x"): pytest.approx(0.75)}
    # Beyond the last finite bucket: its upper bound.
    assert vec(eng.instant_query("histogram_quantile(0.99, lat_bucket)", 0)) == {L(job="x"): 1.0}


def test_subquery(store: TempTSDB) -> None:
    eng = Engine(store)
    r = vec(eng.instant_query("max_over_time(temp[5m:1m])", 10 * MIN))
    assert r == {L(room="x"): 10.0}
    r = vec(eng.instant_query("min_over_time(rate(req_total{job='web'}[2m])[10m:30s])", 1800_000))
    assert list(r.values()) == [pytest.approx(3.0)]


def test_limits(tsdb_store: TempTSDB) -> None:
    s = tsdb_store
    s.add({"__name__": "x"}, [(t, 1.0) for t in range(0, 100_000, 1000)])
    with pytest.raises(QueryError, match="too many samples"):
        Engine(s, max_samples=10).instant_query("count_over_time(x[100s])", 100_000)
    with pytest.raises(QueryError, match="timed out"):
        Engine(s, timeout_s=-1).instant_query("x", 0)


def test_range_query_validation(store: TempTSDB) -> None:
    eng = Engine(store)
    # Rejected before evaluation, as Prometheus's NewRangeQuery does (a bad "query" parameter).
    with pytest.raises(ParseError, match='invalid expression type "range vector"'):
        eng.range_query("temp[1m]", 0, 10, 1)
    with pytest.raises(QueryError, match="zero or negative"):
        eng.range_query("temp", 0, 10, 0)


def test_name_collision_after_dropping_name(tsdb_store: TempTSDB) -> None:
    s = tsdb_store
    s.add({"__name__": "a", "x": "1"}, [(0, 1.0)])
    s.add({"__name__": "b", "x": "1"}, [(0, 2.0)])
    eng = Engine(s)
    with pytest.raises(QueryError, match="same labelset"):
        eng.instant_query('abs({__name__=~"a|b"})', 0)
    # Keeping the name keeps them apart.
    assert len(vec(eng.instant_query('last_over_time({__name__=~"a|b"}[1m])', 0))) == 2


def test_fill_modifier_evaluation(tsdb_store: TempTSDB) -> None:
    s = tsdb_store
    s.add({"__name__": "l", "k": "a"}, [(0, 10.0)])
    s.add({"__name__": "l", "k": "b"}, [(0, 20.0)])
    s.add({"__name__": "r", "k": "a"}, [(0, 100.0)])
    s.add({"__name__": "r", "k": "c"}, [(0, 300.0)])
    eng = Engine(s, features=ALL_FEATURES)
    assert vec(eng.instant_query("l + fill(0) r", 0)) == {
        L(k="a"): 110.0, L(k="b"): 20.0, L(k="c"): 300.0}
    assert vec(eng.instant_query("l + fill_right(1) r", 0)) == {L(k="a"): 110.0, L(k="b"): 21.0}
    assert vec(eng.instant_query("l - fill_left(1) r", 0)) == {L(k="a"): -90.0, L(k="c"): -299.0}


def test_duration_expressions_use_query_step(tsdb_store: TempTSDB) -> None:
    s = tsdb_store
    s.add({"__name__": "m"}, [(t, 1.0) for t in range(0, 100_000, 1000)])
    eng = Engine(s, features=ALL_FEATURES)
    m = eng.range_query("count_over_time(m[step() * 2])", 50_000, 60_000, 5_000).value
    assert isinstance(m, Matrix) and m.series[0].values.tolist() == [10.0, 10.0, 10.0]
    assert vec(eng.instant_query("count_over_time(m[10s + 5s])", 50_000)) == {L(): 15.0}
    # A negative expression parses; it fails when the query is prepared for its step.
    with pytest.raises(ParseError, match="duration must be greater than 0"):
        eng.instant_query("count_over_time(m[10s - 20s])", 50_000)


def test_annotations(store: TempTSDB) -> None:
    eng = Engine(store)
    r = eng.instant_query("rate(temp[5m])", 5 * MIN)
    assert r.infos == ('PromQL info: metric might not be a counter, name does not end in '
                       '_total/_sum/_count/_bucket: "temp"',)
    assert eng.instant_query("rate(req_total[5m])", 5 * MIN).infos == ()
    r = eng.instant_query("quantile(2, temp)", 5 * MIN)
    assert r.warnings == ("PromQL warning: quantile value should be between 0 and 1, got 2",)
    r = eng.range_query("sort(temp)", 0, MIN, MIN)
    assert r.warnings and "sort is ineffective" in r.warnings[0]
