"""query.max_samples: a query that would load more samples than the limit fails as it does
on a real Prometheus 2.42 started with ``--query.max-samples`` set to the same limit (the
same HTTP status, errorType and error text), for instant and range queries; one under the
limit answers in both.

Both servers hold the same ten series; Vigil is the real app (:class:`vigil.app.App`) with
``query: {max_samples: ...}`` in its config file, so the setting is read from the file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.support.prometheus import Prometheus
from tests.support.side_by_side import QUIET_CONFIG, vigil_and_prometheus

MAX_SAMPLES = 100
SERIES = [("x", {"i": str(i)}, [(t * 15_000, float(t * (i + 1))) for t in range(241)])
          for i in range(10)]  # 10 series, a sample every 15 s from 0 to 3600 s

# (path, parameters, fails). Prometheus counts the samples a range function holds one
# series at a time, Vigil all series' at once (it loads them together), so the cases are
# far from the limit either way: both count more, or both fewer, than MAX_SAMPLES.
CASES = [
    ("query", {"query": "x", "time": "300"}, False),  # 10 samples
    ("query", {"query": "count(rate(x[1m]))", "time": "300"}, False),  # 4 a series, 40 in all
    ("query", {"query": "x[5m]", "time": "300"}, True),  # 200
    ("query", {"query": "sum(rate(x[30m]))", "time": "3600"}, True),  # 120 a series
    ("query", {"query": "max_over_time(x[10m:15s])", "time": "600"}, True),  # 400 points
    ("query_range", {"query": "x", "start": "0", "end": "600", "step": "120"}, False),  # 60
    ("query_range", {"query": "x", "start": "0", "end": "600", "step": "30"}, True),  # 210
    ("query_range", {"query": "sum(x)", "start": "0", "end": "600", "step": "30"}, True),
    ("query_range", {"query": "rate(x[30m])", "start": "1800", "end": "3600",
                     "step": "1800"}, True),  # 120 a series at each step
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[tuple[Prometheus, TestClient]]:
    config = QUIET_CONFIG + f"query:\n  max_samples: {MAX_SAMPLES}\n"
    with vigil_and_prometheus(tmp_path_factory.mktemp("limits"), SERIES, vigil_config=config,
                              prometheus_args=[f"--query.max-samples={MAX_SAMPLES}"]) as servers:
        yield servers


@pytest.mark.parametrize(("path", "params", "fails"), CASES,
                         ids=[f"{p}:{q['query']}:{q.get('step', '')}" for p, q, _ in CASES])
def test_max_samples_answers_as_prometheus(servers, path: str, params: dict,
                                           fails: bool) -> None:
    prometheus, vigil = servers
    theirs = prometheus.http.get(f"/api/v1/{path}", params=params)
    ours = vigil.get(f"/api/v1/{path}", params=params)
    if fails:
        assert theirs.status_code == 422, theirs.text  # the case is over the limit
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())
        assert theirs.json()["error"] == ("query processing would load too many samples into "
                                          "memory in query execution")
    else:
        assert (ours.status_code, theirs.status_code) == (200, 200), (ours.text, theirs.text)
        assert ours.json()["data"] == theirs.json()["data"]
