"""``rate_counter`` and ``approx_topk``: parsed, printed and refused with Loki's words, and
evaluated. The counter figures are worked out by hand below from Loki's documented rule
(PromQL's ``rate``: resets added back, extrapolation towards the query window's edges)."""

from __future__ import annotations

import math

import pytest

from tests.logs.logql.memreader import MemoryReader
from vigil.logs.logql import LogQLEngine, ParseError, QueryError, ast, parse_expr
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels
from vigil.promql.value import Vector

S = 1_000_000_000
X = Labels.of(app="x")
Y = Labels.of(app="y")


@pytest.mark.parametrize(("query", "printed"), [
    ('rate_counter({app="x"} | logfmt | unwrap c [5m])',
     'rate_counter({app="x"} | logfmt | unwrap c[5m])'),
    ('sum(rate_counter({app="x"} | logfmt | unwrap bytes(c) | __error__="" [1m] offset 5m))',
     'sum(rate_counter({app="x"} | logfmt | unwrap bytes(c) | __error__=""[1m] offset 5m0s))'),
    ('approx_topk(3, sum by (path) (count_over_time({app="x"} | logfmt [1h])))',
     'approx_topk(3,sum by (path)(count_over_time({app="x"} | logfmt[1h])))'),
])
def test_printed_form_and_round_trip(query: str, printed: str) -> None:
    expr = parse_expr(query)
    assert str(expr) == printed
    assert parse_expr(printed) == expr


def test_the_words_are_labels_without_a_parenthesis() -> None:
    expr = parse_expr('{app="x"} | logfmt | rate_counter > 1 | approx_topk="a"')
    assert isinstance(expr, ast.LogSelector)
    assert [str(s) for s in expr.stages[1:]] == ["| rate_counter>1", '| approx_topk="a"']


@pytest.mark.parametrize(("query", "message"), [
    ('rate_counter({app="x"}[5m])',
     "parse error : invalid aggregation rate_counter without unwrap"),
    ('rate_counter({app="x"} | logfmt | unwrap c [5m]) by (host)',
     "parse error : grouping not allowed for rate_counter aggregation"),
    ('rate_counter(2, {app="x"} | logfmt | unwrap c [5m])',
     "parse error : parameter 2 not supported for operation rate_counter"),
    ('approx_topk(rate({app="x"}[1m]))',
     "parse error : parameter required for operation approx_topk"),
    ('approx_topk(0, rate({app="x"}[1m]))',
     "parse error : invalid parameter (must be greater than 0) approx_topk(0"),
    ('approx_topk(1.5, rate({app="x"}[1m]))', "parse error : invalid parameter approx_topk(1.5,"),
    ('approx_topk(2, rate({app="x"}[1m])) by (app)',
     "parse error : grouping not allowed for approx_topk aggregation"),
    ('approx_topk by (app) (2, rate({app="x"}[1m]))',
     "parse error : grouping not allowed for approx_topk aggregation"),
    ('approx_topk(2, {app="x"})',
     "parse error : unexpected type for vector aggregation approx_topk: *syntax.MatchersExpr"),
])
def test_errors_are_lokis(query: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_expr(query)
    assert str(err.value) == message


# A counter logged every second from t=1s: 10, 20, 30, then a reset to 5, then 15.
COUNTER = [(1, 10), (2, 20), (3, 30), (4, 5), (5, 15)]


@pytest.fixture
def engine() -> LogQLEngine:
    entries = [LogEntry(t * S, X, f"c={v} host=a") for t, v in COUNTER]
    entries.append(LogEntry(3 * S, Y, "c=7 host=b"))  # one sample only
    return LogQLEngine(MemoryReader(entries))


def _instant(engine: LogQLEngine, query: str, at_s: int) -> dict[str, float]:
    result = engine.instant(query, at_s * S)
    assert isinstance(result, Vector)
    return {str(s.labels): s.value for s in result.samples}


def test_rate_counter_adds_resets_back_and_extrapolates_to_the_window(engine: LogQLEngine) -> None:
    # Window (0s, 5s]: increase 15 - 10 = 5, plus 30 lost at the reset = 35. Samples span 4s,
    # 1s apart on average; the first is 1s from the window's start (< 1.1 × 1s: extrapolate
    # the whole second; the zero point, 4s × 10/35 away, is further) and the last is at its
    # end: 35 × (4 + 1 + 0) / 4 = 43.75 over 5s = 8.75 per second.
    got = _instant(engine, 'rate_counter({app="x"} | logfmt | unwrap c [5s])', 5)
    assert got == {'{app="x", host="a"}': 8.75}
    # Window (0s, 10s]: the last sample is 5s before the end (>= 1.1s), so only half the
    # average interval is added there: 35 × (4 + 1 + 0.5) / 4 = 48.125 over 10s.
    got = _instant(engine, 'rate_counter({app="x"} | logfmt | unwrap c [10s])', 10)
    assert got == {'{app="x", host="a"}': 4.8125}


def test_rate_counter_of_one_sample_is_zero_and_not_rate(engine: LogQLEngine) -> None:
    got = _instant(engine, 'rate_counter({app=~"x|y"} | logfmt | unwrap c [2s])', 3)
    # x: 20 and 30 at 2s and 3s in (1s, 3s]: 10 × (1 + 1 + 0) / 1 over 2s = 10; y: one sample.
    assert got == {'{app="x", host="a"}': 10.0, '{app="y", host="b"}': 0.0}
    # rate over unwrapped values is the sum per second, not an increase: (20 + 30) / 2.
    assert _instant(engine, 'rate({app="x"} | logfmt | unwrap c [2s])', 3) == {
        '{app="x", host="a"}': 25.0}


def test_rate_counter_over_a_range_query(engine: LogQLEngine) -> None:
    matrix = engine.range('sum(rate_counter({app="x"} | logfmt | unwrap c [10s]))',
                          5 * S, 10 * S, 5 * S)
    [series] = matrix.series
    # At 5s the window (-5s, 5s] starts 6s before the first sample: half an interval is
    # added there, 35 × (4 + 0.5 + 0) / 4 over 10s; at 10s as in the instant test above.
    assert list(series.timestamps) == [5000, 10000]
    assert list(series.values) == [3.9375, 4.8125]


def test_rate_counter_of_samples_at_one_instant_is_nan() -> None:
    engine = LogQLEngine(MemoryReader([LogEntry(S, X, "c=1"), LogEntry(S, X, "c=3")]))
    [value] = _instant(engine, 'rate_counter({app="x"} | logfmt | unwrap c [5s])', 2).values()
    assert math.isnan(value)


def test_approx_topk_is_exact_in_an_instant_query() -> None:
    entries = [LogEntry(i * S, X, f"path=/p{i % 3}") for i in range(1, 10)]
    entries += [LogEntry(i * S, X, "path=/p0") for i in range(1, 4)]
    engine = LogQLEngine(MemoryReader(entries))
    query = 'approx_topk(2, sum by (path) (count_over_time({app="x"} | logfmt [10s])))'
    # /p0: i = 3, 6, 9 and three more = 6; /p1 and /p2: 3 each (a tie: one of them).
    result = engine.instant(query, 10 * S)
    assert isinstance(result, Vector)
    assert [s.value for s in result.samples] == [6.0, 3.0]  # largest first, as topk
    got = _instant(engine, query, 10)
    assert len(got) == 2 and got['{path="/p0"}'] == 6.0
    assert set(got) - {'{path="/p0"}'} <= {'{path="/p1"}', '{path="/p2"}'}
    assert _instant(engine, query.replace("approx_topk(2", "approx_topk(1"), 10) == {
        '{path="/p0"}': 6.0}


def test_approx_topk_is_refused_in_a_range_query() -> None:
    engine = LogQLEngine(MemoryReader([LogEntry(S, X, "path=/a")]))
    with pytest.raises(QueryError, match="^count min sketches are only supported on instant "
                                         "queries$"):
        engine.range('approx_topk(1, count_over_time({app="x"}[5s]))', S, 10 * S, S)
