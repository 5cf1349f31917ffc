"""Failing queries answer as a real Prometheus 2.42 does: the same HTTP status and errorType,
and the same error text where Prometheus 3.14 (Vigil's reference) words it as 2.42 does.

Both servers hold the same few series; each request goes to Prometheus over HTTP and to the
real Vigil app (:class:`vigil.app.App` over a real TSDB).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.support.prometheus import Prometheus
from tests.support.side_by_side import vigil_and_prometheus

SERIES = [
    ("testmetric", {"src": "a", "dst": "x"}, [(t * 15_000, float(t)) for t in range(40)]),
    ("testmetric", {"src": "b", "dst": "y"}, [(t * 15_000, 2.0 * t) for t in range(40)]),
    ("other_total", {"src": "a", "dst": "x"}, [(t * 15_000, 3.0 * t) for t in range(40)]),
]

# (path, parameters, the error text is Prometheus 3.14's as well as 2.42's)
CASES = [
    ("query", {"query": 'label_replace(testmetric, "\\xff", "", "src", "(.*)")'}, True),
    ("query", {"query": 'label_replace(testmetric, "dst", "", "src", "(")'}, True),
    ("query", {"query": 'count_values("a\\xc5z", testmetric)'}, True),
    ("query", {"query": 'rate({__name__=~"testmetric|other_total"}[1m])'}, True),
    ("query", {"query": 'label_replace(testmetric, "src", "", "", "")'}, True),
    ("query", {"query": "testmetric + on() testmetric"}, True),
    ("query", {"query": "testmetric + ignoring(src, dst) other_total"}, True),
    ("query", {"query": "other_total + on() group_left testmetric"}, True),
    ("query", {"query": "testmetric + on() group_right other_total"}, True),
    ("query", {"query": "sum("}, True),
    ("query", {"query": "1e309"}, True),
    ("query", {"query": "x @ 1e3082"}, True),
    ("query", {"query": "!"}, True),
    ("query", {"query": "x{a!"}, True),
    ("query", {"query": 'quantile_over_time(2, testmetric[5m])'}, True),
    ("query", {"query": "topk(-1, testmetric)"}, True),
    ("query", {"query": "topk(NaN, testmetric)"}, False),  # 2.42: "overflows int64"
    ("query", {"query": "topk(9223372036854775807, testmetric)"}, True),
    ("query", {"query": "bottomk(2^63, testmetric)"}, True),
    ("query", {"query": 'sum(rate({__name__=~"testmetric|other_total"}[1m]))'}, True),
    ("query", {"query": 'histogram_quantile(0.5, testmetric)'}, True),
    # 3.14 says "unknown position" for an empty query, 2.42 "1:1".
    ("query", {"query": ""}, False),
    ("query", {"query": "testmetric", "time": "abc"}, False),  # 2.42 capitalises "Invalid"
    ("query", {"query": "testmetric", "timeout": "abc"}, True),
    # 3.14 prefixes 'invalid parameter "query": ', 2.42 does not.
    ("query_range", {"query": "testmetric[5m]"}, False),
    ("query_range", {"query": '"str"'}, False),
    ("query_range", {"query": "testmetric", "start": "600", "end": "0"}, True),
    ("query_range", {"query": "testmetric", "step": "0"}, True),
    ("query_range", {"query": "testmetric", "end": "6000000", "step": "1"}, True),
    ("query_range", {"query": "testmetric", "start": "abc"}, True),
    ("query_range", {"query": "testmetric", "start": ""}, True),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[tuple[Prometheus, TestClient]]:
    with vigil_and_prometheus(tmp_path_factory.mktemp("errors"), SERIES) as servers:
        yield servers


@pytest.mark.parametrize(("path", "params", "same_text"), CASES,
                         ids=[f"{p}:{q.get('query', '')}:{sorted(q)}" for p, q, _ in CASES])
def test_error_answers_match_prometheus(servers, path: str, params: dict, same_text: bool) -> None:
    prometheus, vigil = servers
    if path == "query":
        params = {"time": "300", **params}
    else:
        params = {"start": "0", "end": "600", "step": "15", **params}
    theirs = prometheus.http.get(f"/api/v1/{path}", params=params)
    ours = vigil.get(f"/api/v1/{path}", params=params)
    expected, got = theirs.json(), ours.json()
    assert (ours.status_code, got.get("errorType")) == (theirs.status_code,
                                                        expected.get("errorType"))
    if same_text:
        assert got.get("error") == expected.get("error")
