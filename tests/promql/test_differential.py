"""Differential check: Vigil's engine against a real Prometheus 2.42 on identical data.

The same generated series go into Prometheus (OpenMetrics -> ``promtool tsdb
create-blocks-from openmetrics`` -> blocks it serves) and into a :class:`vigil.tsdb.DB`
(partly compacted into blocks, partly in the head). Several hundred generated queries are
then run as instant queries at three times and as a range query, and every result must
agree: the same series, the same timestamps, values within 1e-6 relative.

Legitimate differences between Prometheus 2.42 and the 3.x semantics Vigil follows, and how
this test keeps out of their way:

* 2.x range and lookback windows are closed on the left ``[t - r, t]``, 3.x's are left-open
  ``(t - r, t]``. Sample timestamps carry 1-999 ms of jitter and are never a whole second,
  while every evaluation time, range, offset and ``@`` is a whole second, so no sample ever
  sits on a window's left edge.
* Subquery steps are aligned to multiples of the step since the epoch, so a subquery's left
  edge *can* coincide with an inner step; evaluation times are therefore offset by 17 s from
  every subquery step used (all are whole minutes).
* Functions 2.42 lacks or named differently are not generated: ``holt_winters`` (2.x) is
  ``double_exponential_smoothing`` (3.x, experimental); ``mad_over_time``,
  ``sort_by_label``, ``limitk``/``limit_ratio``, ``info`` and the native-histogram functions
  do not exist in 2.42.
* 2.42 clamps a counter's extrapolation towards zero *before* it caps the extrapolation to
  the start at half a scrape interval; 3.x does it after, so results differ (by ~0.04 % here)
  when a window starts well before a counter's first sample. All counters start at ``T0`` and
  the range query starts more than an hour later, so no ``rate``/``increase`` window does.
* ``vector atan2 vector`` keeps the metric name in 2.42 and drops it in 3.x like every other
  arithmetic operator; only the scalar form is generated.
* Classic-histogram ``le`` labels are written already normalised (``1.0``, not ``1``),
  since 3.x normalises them at ingestion and 2.42 does not.
* ``topk``/``bottomk`` are only applied to values without ties (which series wins a tie is
  unspecified), and result order is not compared (``sort`` is checked in the engine tests).
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest

from tests.support.prometheus import (
    Prometheus,
    create_blocks,
    require_prometheus,
    running_prometheus,
)
from vigil.model.labels import Labels
from vigil.promql.engine import Engine
from vigil.promql.value import Matrix, Scalar, String, Vector
from vigil.tsdb import DB

T0 = 1_699_999_200_000  # an hour boundary, ms
SCRAPE_MS = 15_000
HOURS = 3
STEPS = HOURS * 3600_000 // SCRAPE_MS
# Evaluation times: whole seconds, 17 s off every whole minute (see the module docstring).
INSTANT_TIMES = [T0 + 3600_000 + 7 * 60_000 + 17_000, T0 + 2 * 3600_000 + 41 * 60_000 + 17_000,
                 T0 + HOURS * 3600_000 + 3 * 60_000 + 17_000]  # the last is after the data ends
RANGE = (T0 + 61 * 60_000 + 17_000, T0 + HOURS * 3600_000 + 8 * 60_000 + 17_000, 120_000)
REL_TOL = 1e-6

Series = tuple[str, dict[str, str], list[tuple[int, float]]]


def _jittered(rng: np.random.Generator, first: int = 0, last: int = STEPS) -> list[int]:
    """Scrape times between step ``first`` and ``last``, each off its whole second."""
    return [T0 + i * SCRAPE_MS + int(rng.integers(1, 1000)) for i in range(first, last)]


def generate() -> list[Series]:
    """Counters (one with a reset), gauges (one starting late, one ending early), 0/1 ``up``,
    a classic histogram and large values. Seeded, so the data is the same on every run."""
    rng = np.random.default_rng(42)
    out: list[Series] = []
    for job, inst, code in itertools.product(("api", "web"), ("a", "b", "c"), ("200", "500")):
        ts = _jittered(rng)
        incs = rng.integers(0, 50 if code == "200" else 5, len(ts)).astype(float)
        vals = np.cumsum(incs) + rng.random(len(ts)).round(3)
        if (job, inst, code) == ("api", "b", "200"):
            vals[300:] -= vals[300] - 3.0  # a counter reset
        out.append(("http_requests_total", {"job": job, "instance": inst, "code": code},
                    list(zip(ts, vals.tolist(), strict=True))))
    for job, inst in itertools.product(("api", "web"), ("a", "b", "c")):
        first, last = (0, STEPS)
        if (job, inst) == ("web", "b"):
            first = 120  # starts 30 minutes in
        if (job, inst) == ("web", "c"):
            last = 500  # stops after about 2 h; the lookback then runs out
        ts = _jittered(rng, first, last)
        phase = rng.random() * 6
        temp = [20 + 8 * math.sin(phase + k / 40) + float(rng.normal(0, 0.5))
                for k in range(len(ts))]
        out.append(("temp", {"job": job, "instance": inst}, list(zip(ts, temp, strict=True))))
        up = [0.0 if 200 <= k < 230 and inst == "a" else 1.0 for k in range(len(ts))]
        out.append(("up", {"job": job, "instance": inst}, list(zip(ts, up, strict=True))))
    for inst in ("a", "b"):
        ts = _jittered(rng)
        mem = 8e9 + np.cumsum(rng.normal(0, 2e6, len(ts)))
        out.append(("mem_bytes", {"instance": inst}, list(zip(ts, mem.tolist(), strict=True))))
    for job in ("api", "web"):
        ts = _jittered(rng)  # all buckets of a histogram share scrape times
        obs = rng.exponential(0.3, (len(ts), 40))
        total = np.zeros(len(ts))
        for le in ("0.1", "0.25", "0.5", "1.0", "2.5", "+Inf"):
            per_scrape = (obs <= float(le)).sum(axis=1)
            counts = np.cumsum(per_scrape).astype(float)
            out.append(("lat_bucket", {"job": job, "le": le},
                        list(zip(ts, counts.tolist(), strict=True))))
            total = counts
        sums = np.cumsum(obs.sum(axis=1))
        out.append(("lat_count", {"job": job}, list(zip(ts, total.tolist(), strict=True))))
        out.append(("lat_sum", {"job": job}, list(zip(ts, sums.tolist(), strict=True))))
    return out


# ---- queries ----------------------------------------------------------------------------

C = "http_requests_total"
G = "temp"
COUNTER_SELECTORS = [C, f'{C}{{code="500"}}', f'{C}{{job=~"a.*",instance!="c"}}']
GAUGE_SELECTORS = [G, f'{G}{{instance!="a"}}', "mem_bytes"]
RANGES = ["1m", "5m", "17m", "1h"]


def generate_queries() -> list[str]:
    q: list[str] = []
    q += [C, G, "up", "lat_bucket", '{__name__=~"temp|up"}', f'{C}{{code!~"2.."}}',
          f"{G} offset 10m", f"{G} offset -5m", f"{C} @ {T0 // 1000 + 5400}", "nonexistent"]
    for fn, sel, r in itertools.product(
            ("rate", "irate", "increase", "resets", "changes"), COUNTER_SELECTORS, RANGES):
        q.append(f"{fn}({sel}[{r}])")
    for fn, sel, r in itertools.product(
            ("avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
             "count_over_time", "last_over_time", "stddev_over_time", "stdvar_over_time",
             "present_over_time", "delta", "idelta", "deriv", "changes"),
            GAUGE_SELECTORS, RANGES[:3]):
        q.append(f"{fn}({sel}[{r}])")
    for sel in GAUGE_SELECTORS:
        q += [f"quantile_over_time(0.3, {sel}[10m])", f"quantile_over_time(0.99, {sel}[1h])",
              f"predict_linear({sel}[10m], 600)", f"absent_over_time({sel}[5m])",
              f"predict_linear({sel}[30m], -300)"]
    for fn in ("abs", "ceil", "floor", "round", "sqrt", "ln", "log2", "log10", "exp", "sgn",
               "timestamp", "sin", "cos", "tan", "atan", "sinh", "tanh", "asinh", "deg", "rad",
               "minute", "hour", "day_of_week", "day_of_month", "days_in_month", "month",
               "year"):
        arg = f"({G} / 10)" if fn in ("exp", "sinh") else G
        q.append(f"{fn}({arg})")
    q += [f"round({G}, 0.5)", f"clamp({G}, 15, 25)", f"clamp_min({G}, 21)",
          f"clamp_max({G}, 19)", f"asin({G} / 40)", f"acos({G} / 40)", f"atanh({G} / 40)",
          f"acosh({G})", f"-{G}", "pi()", "vector(1)", "time()", "scalar(sum(up))",
          f"scalar({G})", "vector(time()) - 5", f"absent({G}{{instance=\"zzz\"}})",
          f"absent({G})", "absent(nonexistent{job=\"x\"})", f"sort({G})", f"sort_desc({G})",
          f'label_replace({G}, "host", "h-$1", "instance", "(.*)")',
          f'label_replace({C}, "code_class", "${{1}}xx", "code", "([0-9]).*")',
          f'label_join({G}, "id", "/", "job", "instance")',
          f"{G} offset 1h", f"rate({C}[5m] offset 30m)", f"rate({C}[5m] @ end())",
          f"{G} @ start()", f"max_over_time({G}[10m] @ {T0 // 1000 + 3600})",
          f"timestamp({G} offset 2m)"]
    inner_exprs = [f"rate({C}[5m])", G, "up", f"increase({C}[10m])"]
    for agg, inner, grouping in itertools.product(
            ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"), inner_exprs,
            ("", "by (job)", "without (instance)", "by (instance, job)")):
        q.append(f"{agg} {grouping} ({inner})")
    for inner, grouping in itertools.product((f"rate({C}[5m])", G), ("", "by (job)")):
        q += [f"topk(2, {inner}) ", f"bottomk(3, {inner})", f"topk by (job) (1, {inner})"
              if grouping else f"topk(1, {inner})",
              f"quantile {grouping} (0.9, {inner})", f"quantile {grouping} (0.25, {inner})"]
    q += ['count_values("v", up)', 'count_values by (job) ("t", round(temp))',
          "sum(up) by (job)", f"sum without (code, instance) (rate({C}[5m]))",
          f"avg by (job) (avg_over_time({G}[5m]))"]
    # Binary operators, vector matching.
    q += [f"{G} + 1", f"{G} * {G}", f"{G} - {G} offset 5m", f"{G} / 0", f"{G} % 3",
          f"2 ^ {G} / 1e6", "10 atan2 20", f"{G} > 20", f"{G} > bool 20", f"20 < {G}",
          f"{G} <= 19", f"{G} == bool {G}", "up == 1", "up != 0", "1 + 2 * 3", "2 ^ 3 ^ 2",
          "-1 % 3", "1 > bool 2",
          f"{C} / on(job, instance) group_left sum by (job, instance) ({C})",
          f"rate({C}[5m]) / ignoring(code) group_left sum without(code) (rate({C}[5m]))",
          f"sum by (job, instance) (rate({C}[5m])) / on(job, instance) {G}",
          f"{G} * on(job, instance) group_right up",
          f"up * on(job, instance) group_left {G}",
          f'{C} * on(job, instance) group_left(x) label_replace(up, "x", "y", "", "")',
          f"{C} and on(instance) up == 1", f"{G} and {G} > 21", f"{G} or up",
          f"{G} or vector(0)", f"{C} unless on(job) {G}", f"{G} unless {G} > 22",
          f"up and on() (sum({G}) > 0)", f"sum({G}) / count({G})",
          f"{G} > on(job, instance) group_left avg by (job) ({G}) - 1",
          f"rate({C}[5m]) > bool ignoring(code) group_left avg without(code) (rate({C}[5m]))"]
    # Histograms.
    for qv, grouping in itertools.product(("0.5", "0.9", "0.99", "1", "-0.1"),
                                          ("le", "job, le")):
        q.append(f"histogram_quantile({qv}, sum by ({grouping}) (rate(lat_bucket[5m])))")
    q += ["rate(lat_sum[5m]) / rate(lat_count[5m])", "histogram_quantile(0.9, lat_bucket)"]
    # Subqueries (all steps whole minutes; evaluation times are 17 s off those).
    q += [f"max_over_time(rate({C}[5m])[30m:1m])", f"avg_over_time({G}[10m:])",
          f"min_over_time({G}[1h:5m] offset 10m)", f"rate(sum({C})[20m:2m])",
          "sum_over_time(up[15m:1m])", f"deriv(avg({G})[30m:3m])",
          f"max_over_time(sum by (job) (rate({C}[1m]))[10m:1m] @ {T0 // 1000 + 7200})",
          f"quantile_over_time(0.5, {G}[30m:1m])", f"last_over_time(({G} > 21)[20m:1m])",
          f"count_over_time(({G} > 21)[1h:1m])", f"changes(round({G})[30m:1m])"]
    return list(dict.fromkeys(q))  # some templates meet twice


QUERIES = generate_queries()

# ---- comparison -------------------------------------------------------------------------


def _norm_prom(body: dict) -> tuple[str, dict]:
    assert body["status"] == "success", body
    data = body["data"]
    kind, result = data["resultType"], data["result"]
    if kind == "scalar":
        return "scalar", {(): [(round(result[0] * 1000), float(result[1]))]}
    if kind == "vector":
        return "vector", {tuple(sorted(s["metric"].items())):
                          [(round(s["value"][0] * 1000), float(s["value"][1]))] for s in result}
    if kind == "matrix":
        return "matrix", {tuple(sorted(s["metric"].items())):
                          [(round(t * 1000), float(v)) for t, v in s["values"]] for s in result}
    return kind, {}


def _norm_vigil(value: object) -> tuple[str, dict]:
    if isinstance(value, Scalar):
        return "scalar", {(): [(value.ts_ms, value.value)]}
    if isinstance(value, Vector):
        return "vector", {tuple(s.labels.to_dict().items()): [(s.ts_ms, s.value)]
                          for s in value.samples}
    if isinstance(value, Matrix):
        return "matrix", {tuple(s.labels.to_dict().items()):
                          list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
                          for s in value.series}
    assert isinstance(value, String)
    return "string", {}


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def assert_same(ours: tuple[str, dict], theirs: tuple[str, dict]) -> None:
    """Same result type, same label sets, and per series the same timestamps and values."""
    assert ours[0] == theirs[0], f"result type: vigil {ours[0]}, prometheus {theirs[0]}"
    a, b = ours[1], theirs[1]
    only_ours, only_theirs = set(a) - set(b), set(b) - set(a)
    assert not only_ours and not only_theirs, (
        f"series only in vigil: {sorted(only_ours)[:3]}; only in prometheus: "
        f"{sorted(only_theirs)[:3]}")
    for key, points in a.items():
        other = b[key]
        assert [t for t, _ in points] == [t for t, _ in other], f"{key}: timestamps differ"
        bad = [(t, v, w) for (t, v), (_, w) in zip(points, other, strict=True)
               if not _close(v, w)]
        assert not bad, f"{dict(key)}: (ts, vigil, prometheus) {bad[:3]}"


# ---- fixtures and tests -----------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> list[Series]:
    return generate()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, data: list[Series]) -> Prometheus:
    require_prometheus()
    root = tmp_path_factory.mktemp("prom")
    create_blocks(data, root / "data")
    with running_prometheus(root / "data") as prom:
        yield prom


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, data: list[Series]) -> Engine:
    db = DB.open(tmp_path_factory.mktemp("vigil"), wal_fsync="off",
                 block_range_ms=3600_000, compact_interval_s=3600)
    app = db.appender()
    for name, labels, samples in data:
        ls = Labels({"__name__": name, **labels})
        for ts, v in samples:
            app.append(ls, ts, v)
    app.commit()
    db.compact()  # the older part goes into a block, the rest stays in the head
    yield Engine(db)
    db.close()


def test_prometheus_holds_the_generated_samples(prometheus: Prometheus, data: list[Series]):
    """promtool read our OpenMetrics timestamps to the millisecond, so both sides hold the
    same samples (guards the test itself)."""
    end = T0 + HOURS * 3600_000
    body = prometheus.query(f'{{__name__=~".+"}}[{HOURS * 3600 + 60}s]', end + 30_000)
    got = _norm_prom(body)[1]
    want = {tuple(sorted({"__name__": n, **ls}.items())): [(t, float(v)) for t, v in s]
            for n, ls, s in data}
    assert got == want


def test_vigil_stores_blocks_and_head(engine: Engine):
    stats = engine.storage.stats()
    assert stats["blocks"] >= 1 and stats["head_samples"] > 0


def test_as_many_queries_as_the_docs_say():
    """docs/conformance.md states how many generated queries agree; it must be this run's."""
    doc = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text(encoding="utf-8")
    claimed = re.search(r"(\d+) generated queries", doc)
    assert claimed, "docs/conformance.md no longer says how many generated queries run"
    assert len(QUERIES) == int(claimed.group(1)), "update docs/conformance.md with the count"


@pytest.mark.parametrize("query", QUERIES)
def test_same_results(prometheus: Prometheus, engine: Engine, query: str):
    for ts in INSTANT_TIMES:
        ours = _norm_vigil(engine.instant_query(query, ts).value)
        assert_same(ours, _norm_prom(prometheus.query(query, ts)))
    start, end, step = RANGE
    try:
        ours = _norm_vigil(engine.range_query(query, start, end, step).value)
    except Exception as e:  # only where Prometheus refuses too (e.g. a range vector)
        body = prometheus.query_range(query, start, end, step)
        assert body["status"] == "error", f"vigil failed ({e}), prometheus did not"
        return
    assert_same(ours, _norm_prom(prometheus.query_range(query, start, end, step)))
