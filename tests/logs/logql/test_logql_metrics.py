"""Metric queries over a reader: range aggregations (with and without unwrap), vector
aggregations, binary operations, offset and absent_over_time, as instant and range queries
returning PromQL's value types. Ten lines, one a second; every expected figure below is worked
out by hand from them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.logs.logql.memreader import MemoryReader
from vigil.logs.logql import LogQLEngine, QueryError
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels
from vigil.promql.value import Matrix, Scalar, Vector

S = 1_000_000_000
API = Labels.of(app="api")


def _line(i: int) -> str:
    # status 500 at i = 3, 6, 9; path p1 for odd i, p0 for even; latency i*100ms; size i KB
    return (f"status={500 if i % 3 == 0 else 200} latency={i * 100}ms size={i}KB "
            f"path=/p{i % 2}")


@pytest.fixture
def engine() -> LogQLEngine:
    return LogQLEngine(MemoryReader([LogEntry(i * S, API, _line(i)) for i in range(1, 11)]))


def at10(engine: LogQLEngine, query: str) -> dict[str, float]:
    """The instant result at t=10s as {labels: value}."""
    result = engine.instant(query, 10 * S)
    assert isinstance(result, Vector)
    assert all(s.ts_ms == 10_000 for s in result.samples)
    return {str(s.labels): s.value for s in result.samples}


def test_counting_rate_and_bytes(engine: LogQLEngine) -> None:
    assert at10(engine, 'count_over_time({app="api"}[5s])') == {'{app="api"}': 5.0}
    assert at10(engine, 'rate({app="api"}[5s])') == {'{app="api"}': 1.0}
    window = [len(_line(i)) for i in range(6, 11)]
    assert at10(engine, 'bytes_over_time({app="api"}[5s])') == {'{app="api"}': sum(window)}
    assert at10(engine, 'bytes_rate({app="api"}[5s])') == {'{app="api"}': sum(window) / 5}
    assert at10(engine, 'sum(rate({app="api"} |= "status=500" [10s]))') == {"{}": 0.3}


def test_series_are_the_labels_after_the_pipeline(engine: LogQLEngine) -> None:
    per_line = at10(engine, 'count_over_time({app="api"} | logfmt [10s])')
    assert len(per_line) == 10 and set(per_line.values()) == {1.0}
    assert at10(engine, 'sum by (path) (count_over_time({app="api"} | logfmt [10s]))') == {
        '{path="/p0"}': 5.0, '{path="/p1"}': 5.0}
    assert at10(engine, 'count_over_time({app="api"} | logfmt | keep path [10s])') == {
        '{path="/p0"}': 5.0, '{path="/p1"}': 5.0}


def test_unwrap_with_conversions(engine: LogQLEngine) -> None:
    assert at10(engine, 'quantile_over_time(0.5, {app="api"} | logfmt '
                        '| unwrap duration(latency) [10s]) by (path)') == {
        '{path="/p0"}': pytest.approx(0.6), '{path="/p1"}': pytest.approx(0.5)}
    assert at10(engine, 'sum by (path) (sum_over_time({app="api"} | logfmt | keep path, size '
                        '| unwrap bytes(size) [10s]))') == {
        '{path="/p0"}': 30_000.0, '{path="/p1"}': 25_000.0}
    assert at10(engine, 'max_over_time({app="api"} | logfmt | unwrap duration_seconds(latency)'
                        ' [10s]) by (path)') == {'{path="/p0"}': 1.0,
                                                  '{path="/p1"}': pytest.approx(0.9)}
    assert at10(engine, 'avg_over_time({app="api"} | regexp "size=(?P<kb>[0-9]+)KB" '
                        '| unwrap kb [4s]) by (app)') == {'{app="api"}': 8.5}
    assert at10(engine, 'first_over_time({app="api"} | logfmt | unwrap bytes(size) [3s]) '
                        'by (app)') == {'{app="api"}': 8000.0}
    assert at10(engine, 'last_over_time({app="api"} | logfmt | unwrap bytes(size) [3s]) '
                        'by (app)') == {'{app="api"}': 10_000.0}
    assert at10(engine, 'stddev_over_time({app="api"} | regexp "size=(?P<kb>[0-9]+)KB" '
                        '| unwrap kb [2s]) by (app)') == {'{app="api"}': 0.5}
    # rate of an unwrapped value: the sum per second of range
    assert at10(engine, 'sum(rate({app="api"} | regexp "size=(?P<kb>[0-9]+)KB" '
                        '| unwrap kb [2s]))') == {"{}": 9.5}


def test_a_line_without_the_unwrapped_label_is_skipped(engine: LogQLEngine) -> None:
    assert at10(engine, 'sum(sum_over_time({app="api"} | regexp "status=(?P<code>500)" '
                        '| unwrap code [10s]))') == {"{}": 1500.0}


def test_an_unwrapped_value_that_is_not_a_number_is_a_pipeline_error(
        engine: LogQLEngine) -> None:
    with pytest.raises(QueryError) as caught:
        engine.instant('max_over_time({app="api"} | logfmt | unwrap latency [10s])', 10 * S)
    assert str(caught.value).startswith("pipeline error: 'SampleExtractionErr' for series: ")
    assert "__error__=\"\"" in str(caught.value)
    assert at10(engine, 'max_over_time({app="api"} | logfmt | unwrap latency '
                        '| __error__="" [10s])') == {}


def test_vector_aggregations(engine: LogQLEngine) -> None:
    inner = 'count_over_time({app="api"} |= "status=500" | logfmt | keep path [10s])'
    assert at10(engine, inner) == {'{path="/p0"}': 1.0, '{path="/p1"}': 2.0}
    assert at10(engine, f"sum({inner})") == {"{}": 3.0}
    assert at10(engine, f"avg({inner})") == {"{}": 1.5}
    assert at10(engine, f"min({inner})") == {"{}": 1.0}
    assert at10(engine, f"max({inner})") == {"{}": 2.0}
    assert at10(engine, f"count({inner})") == {"{}": 2.0}
    assert at10(engine, f"stddev({inner})") == {"{}": 0.5}
    assert at10(engine, f"stdvar({inner})") == {"{}": 0.25}
    assert at10(engine, f"sum without (path) ({inner})") == {"{}": 3.0}
    top = engine.instant(f"topk(1, {inner})", 10 * S)
    assert isinstance(top, Vector)
    assert [(str(s.labels), s.value) for s in top.samples] == [('{path="/p1"}', 2.0)]
    bottom = engine.instant(f"bottomk(1, {inner})", 10 * S)
    assert [(str(s.labels), s.value) for s in bottom.samples] == [('{path="/p0"}', 1.0)]


def test_binary_operations(engine: LogQLEngine) -> None:
    errors = 'count_over_time({app="api"} |= "status=500" | logfmt | keep path [10s])'
    total = 'count_over_time({app="api"} | logfmt | keep path [10s])'
    assert at10(engine, f'sum({total}) * 2') == {"{}": 20.0}
    assert at10(engine, f'2 - sum({total})') == {"{}": -8.0}
    assert at10(engine, f"{total} / on (path) {errors}") == {
        '{path="/p0"}': 5.0, '{path="/p1"}': 2.5}
    assert at10(engine, f"{errors} / {total}") == {'{path="/p0"}': 0.2, '{path="/p1"}': 0.4}
    assert at10(engine, f"{errors} > 1") == {'{path="/p1"}': 2.0}
    assert at10(engine, f"{errors} > bool 1") == {'{path="/p0"}': 0.0, '{path="/p1"}': 1.0}
    assert at10(engine, f"1 < {errors}") == {'{path="/p1"}': 2.0}
    assert at10(engine, f"{total} and ({errors} > 1)") == {'{path="/p1"}': 5.0}
    assert at10(engine, f"{total} unless ({errors} > 1)") == {'{path="/p0"}': 5.0}
    assert at10(engine, f"({errors} > 1) or {total}") == {'{path="/p0"}': 5.0,
                                                          '{path="/p1"}': 2.0}
    assert at10(engine, f"sum({errors}) / vector(0)") == {"{}": pytest.approx(math.nan,
                                                                               nan_ok=True)}
    assert at10(engine, 'sum(count_over_time({app="none"}[10s])) or vector(0)') == {"{}": 0.0}
    assert engine.instant("1 + 1", 10 * S) == Scalar(10_000, 2.0)


def test_group_left_keeps_the_many_side_labels(engine: LogQLEngine) -> None:
    per_status = ('sum by (path, status) (count_over_time({app="api"} | logfmt '
                  '| keep path, status [10s]))')
    per_path = 'sum by (path) (count_over_time({app="api"} | logfmt | keep path [10s]))'
    shares = at10(engine, f"{per_status} / on (path) group_left {per_path}")
    assert shares == {'{path="/p0", status="200"}': 0.8, '{path="/p0", status="500"}': 0.2,
                      '{path="/p1", status="200"}': 0.6, '{path="/p1", status="500"}': 0.4}
    with pytest.raises(QueryError, match="many-to-one matching must be explicit"):
        engine.instant(f"{per_status} / on (path) {per_path}", 10 * S)


def test_label_replace(engine: LogQLEngine) -> None:
    inner = 'count_over_time({app="api"} | logfmt | keep path [10s])'
    assert at10(engine, f'label_replace({inner}, "bucket", "b-$1", "path", "/p(.*)")') == {
        '{bucket="b-0", path="/p0"}': 5.0, '{bucket="b-1", path="/p1"}': 5.0}
    with pytest.raises(QueryError, match="same labelset"):
        engine.instant(f'label_replace({inner}, "path", "", "path", ".*")', 10 * S)
    unchanged = at10(engine, f'label_replace({inner}, "x", "y", "path", "nomatch")')
    assert unchanged == {'{path="/p0"}': 5.0, '{path="/p1"}': 5.0}


def test_offset_and_absent(engine: LogQLEngine) -> None:
    assert at10(engine, 'count_over_time({app="api"}[3s] offset 5s)') == {'{app="api"}': 3.0}
    assert at10(engine, 'absent_over_time({app="none", env=~"p.*"}[5s])') == {
        '{app="none"}': 1.0}
    assert at10(engine, 'absent_over_time({app="api"}[5s])') == {}


def test_range_query_returns_a_matrix(engine: LogQLEngine) -> None:
    result = engine.range('count_over_time({app="api"}[2s])', 2 * S, 10 * S, 4 * S)
    assert isinstance(result, Matrix)
    [series] = result.series
    assert series.labels == API
    assert series.timestamps.tolist() == [2000, 6000, 10000]
    assert series.values.tolist() == [2.0, 2.0, 2.0]
    gaps = engine.range('count_over_time({app="api"} |= "status=500" [1s])', S, 10 * S, S)
    [series] = gaps.series
    assert series.timestamps.tolist() == [3000, 6000, 9000]
    assert np.all(series.values == 1.0)
    top = engine.range('topk(1, sum by (path) (count_over_time({app="api"} | logfmt [1s])))',
                       S, 4 * S, S)
    assert [(str(s.labels), s.timestamps.tolist()) for s in top.series] == [
        ('{path="/p0"}', [2000, 4000]), ('{path="/p1"}', [1000, 3000])]


def test_log_queries_are_not_instant_queries(engine: LogQLEngine) -> None:
    with pytest.raises(QueryError, match="log queries are not supported as an instant query"):
        engine.instant('{app="api"}', 10 * S)


def test_ignoring_group_right_and_sorting(engine: LogQLEngine) -> None:
    per_status = ('sum by (path, status) (count_over_time({app="api"} | logfmt '
                  '| keep path, status [10s]))')
    per_path = 'sum by (path) (count_over_time({app="api"} | logfmt | keep path [10s]))'
    assert at10(engine, f"{per_path} / ignoring (status) group_right {per_status}") == {
        '{path="/p0", status="200"}': 1.25, '{path="/p0", status="500"}': 5.0,
        '{path="/p1", status="200"}': 5 / 3, '{path="/p1", status="500"}': 2.5}
    assert at10(engine, f"sum({per_path}) - on () sum({per_status})") == {"{}": 0.0}
    ordered = engine.instant(f"sort_desc({per_status})", 10 * S)
    assert isinstance(ordered, Vector)
    assert [s.value for s in ordered.samples] == [4.0, 3.0, 2.0, 1.0]
    ascending = engine.instant(f"sort({per_status})", 10 * S)
    assert [s.value for s in ascending.samples] == [1.0, 2.0, 3.0, 4.0]


def test_the_entry_level_and_fields_split_series_as_structured_metadata_does() -> None:
    entries = [LogEntry(S, API, "a", level="error"), LogEntry(2 * S, API, "b", level="info"),
               LogEntry(3 * S, API, "c", fields=(("trace", "t1"),))]
    engine = LogQLEngine(MemoryReader(entries))
    assert at10(engine, 'count_over_time({app="api"}[10s])') == {
        '{app="api", detected_level="error"}': 1.0, '{app="api", detected_level="info"}': 1.0,
        '{app="api", trace="t1"}': 1.0}
    assert at10(engine, 'sum(count_over_time({app="api"}[10s]))') == {"{}": 3.0}


def test_group_left_copies_labels_from_the_one_side(engine: LogQLEngine) -> None:
    per_status = ('sum by (path, status) (count_over_time({app="api"} | logfmt '
                  '| keep path, status [10s]))')
    kinds = ('label_replace(sum by (path) (count_over_time({app="api"} | logfmt | keep path '
             '[10s])), "kind", "k$1", "path", "/p(.*)")')
    assert at10(engine, f"{per_status} > on (path) group_left (kind) {kinds} * 0") == {
        '{kind="k0", path="/p0", status="200"}': 4.0,
        '{kind="k0", path="/p0", status="500"}': 1.0,
        '{kind="k1", path="/p1", status="200"}': 3.0,
        '{kind="k1", path="/p1", status="500"}': 2.0}
