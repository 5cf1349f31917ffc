"""The vectorised sample formatting of range results spells every value as the per-value
formatter (Prometheus's spelling) does."""

from __future__ import annotations

import math

import numpy as np

from vigil.gocompat.floats import format_sample_value
from vigil.model.labels import Labels
from vigil.promql.value import Matrix, QueryResult, RangeSeries
from vigil.web.formatting import format_timestamp
from vigil.web.results import labels_json, query_data, sample_values_text


def test_sample_values_text_matches_format_sample_value():
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.random(2000) * 10.0 ** rng.integers(-12, 25, 2000) * rng.choice([-1, 1], 2000),
        [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-6, 9.99e-7, 1e-4, 9.99e-5, 1e16,
         9999999999999998.0, 1e21, 123.0, -5.0, 2.5e-7, 0.1, 1 / 3]])
    assert sample_values_text(values) == [format_sample_value(v) for v in values.tolist()]


def test_matrix_json_is_unchanged_by_the_fast_path():
    ts = np.arange(50, dtype=np.int64) * 15_500 + 1_700_000_000_123
    series = [RangeSeries(Labels({"__name__": "x", "i": str(i)}), ts[i:],
                          np.linspace(-1e-5, 1e17, 50 - i)) for i in range(3)]
    got = str(query_data(QueryResult(Matrix(series))))
    def series_json(s: RangeSeries) -> str:
        points = ",".join(f'[{format_timestamp(t)},"{format_sample_value(v)}"]'
                          for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
        return f'{{"metric":{labels_json(s.labels)},"values":[{points}]}}'

    want = ",".join(series_json(s) for s in series)
    assert got == '{"resultType":"matrix","result":[' + want + "]}"
