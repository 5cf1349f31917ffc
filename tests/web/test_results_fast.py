"""Range results written by the vectorised encoder (vigil.web.matrix_json) are byte for byte
what formatting each point on its own (Prometheus's spelling) writes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vigil.gocompat.floats import format_sample_value
from vigil.model.labels import Labels
from vigil.promql.value import Matrix, QueryResult, RangeSeries
from vigil.web import matrix_json
from vigil.web.formatting import format_timestamp
from vigil.web.results import labels_json, query_data

EDGE_VALUES = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-6, 9.99e-7, 1e-4, 9.99e-5, 1e16,
               9999999999999998.0, 1e21, 123.0, -5.0, 2.5e-7, 0.1, 1 / 3, 5e-324,
               1.7976931348623157e308, 1e15, -1e15 - 0.5, 100.0, 0.00010000000000000002]


def one_by_one(timestamps: np.ndarray, values: np.ndarray) -> str:
    return ",".join(f'[{format_timestamp(t)},"{format_sample_value(v)}"]'
                    for t, v in zip(timestamps.tolist(), values.tolist(), strict=True))


def random_values(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random(n) * 10.0 ** rng.integers(-12, 25, n) * rng.choice([-1, 1], n)


def test_every_value_is_spelled_as_one_by_one():
    values = np.concatenate([random_values(200_000, 0), np.round(random_values(20_000, 1)),
                             EDGE_VALUES, EDGE_VALUES[::-1]])
    ts = np.arange(len(values), dtype=np.int64) * 1_500 + 1_700_000_000_000
    [got] = matrix_json.series_points_text([ts], [values])
    assert got == one_by_one(ts, values)


@pytest.mark.parametrize("batch_points", [1, 7, 1 << 18])
def test_series_of_several_grids_empty_ones_and_batches(monkeypatch, batch_points):
    """Series on the shared grid, on their own timestamps (negative, whole seconds), empty,
    and all odd values, with batches that split between and around series."""
    monkeypatch.setattr(matrix_json, "BATCH_POINTS", batch_points)
    grid = np.arange(40, dtype=np.int64) * 15_000 + 1_700_000_000_123
    own = np.array([-2_500, -1_000, 0, 999, 1_000, 86_400_000], np.int64)
    whole = np.array([0, 1, 10, 999, 1_000, 1_001, 1_010, 1_100, 60_000, 86_400_000,
                      10**13 + 7, 2**62], np.int64)
    empty = np.zeros(0, np.int64)
    series = [(grid, random_values(40, 2)), (grid, random_values(40, 3)),
              (empty, np.zeros(0)), (own, np.array(EDGE_VALUES[:6])), (grid[5:], random_values(35, 4)),
              (grid, np.full(40, math.nan)), (empty, np.zeros(0))]
    alone = [(whole, random_values(len(whole), 5))]  # no negative time: the numpy prefixes
    for case in (series, alone):
        got = matrix_json.series_points_text([t for t, _ in case], [v for _, v in case])
        assert got == [one_by_one(t, v) for t, v in case]


def test_matrix_json_is_unchanged_by_the_fast_path():
    ts = np.arange(50, dtype=np.int64) * 15_500 + 1_700_000_000_123
    series = [RangeSeries(Labels({"__name__": "x", "i": str(i)}), ts[i:],
                          np.linspace(-1e-5, 1e17, 50 - i)) for i in range(3)]
    series.append(RangeSeries(Labels({"__name__": "x", "i": "ü<"}), ts[:0], np.zeros(0)))
    got = str(query_data(QueryResult(Matrix(series))))

    def series_json(s: RangeSeries) -> str:
        if not len(s.timestamps):
            return f'{{"metric":{labels_json(s.labels)}}}'
        points = one_by_one(s.timestamps, s.values)
        return f'{{"metric":{labels_json(s.labels)},"values":[{points}]}}'

    want = ",".join(series_json(s) for s in series)
    assert got == '{"resultType":"matrix","result":[' + want + "]}"
