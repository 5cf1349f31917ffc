"""The remote query engine and series reader against a real VictoriaMetrics 1.79 and a real
Prometheus 2.42: answers equal the store's own, syntax errors are Vigil's (Prometheus's)
message and never reach the store, the store's errors are mapped, an unreachable or slow
store is named in the error."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.prometheus import remote_write
from tests.support.victoriametrics import (
    Store,
    running_prometheus_store,
    running_victoria_metrics,
)
from tests.support.vigil_proc import eventually
from vigil.errors import ParseError, QueryError
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType
from vigil.promql.value import Matrix, Scalar, String, Vector
from vigil.remote.codec import encode_labels
from vigil.remote.query import RemoteEngine, RemoteSeriesReader

NOW_MS = int(time.time()) // 60 * 60_000
STEP_MS = 15_000
SERIES = [("req_total", {"job": "api", "instance": "a:1"}, 1.0),
          ("req_total", {"job": "api", "instance": "b:1"}, 2.0),
          ("req_total", {"job": "web", "instance": "c:1"}, 5.0),
          ("other_total", {"job": "api", "instance": "a:1"}, 1.0)]
QUERIES = ["req_total", "sum by (job) (rate(req_total[1m]))", "req_total[1m]",
           'req_total{job="api"} > 100', "scalar(sum(req_total))", "1/0", "-1/0",
           "count(req_total) / 0 - count(req_total) / 0", "topk(1, req_total)"]
RANGE_QUERIES = ["rate(req_total[1m])", "sum(req_total)", "scalar(sum(req_total))",
                 "req_total / 0"]


def _load(store: Store) -> None:
    samples = []
    for name, labels, rate in SERIES:
        lb = encode_labels(Labels({"__name__": name, **labels}))
        samples += [(lb, t, rate * (t - NOW_MS + 600_000) / 1000)
                    for t in range(NOW_MS - 600_000, NOW_MS + 1, STEP_MS)]
    remote_write(store.write_url, [samples])
    # VictoriaMetrics makes fresh samples searchable about a second after it took them.
    eventually(lambda: len(store.query('{__name__=~".+_total"}', NOW_MS)) == len(SERIES),
               what="the loaded series in the store")


@pytest.fixture(scope="module", params=["victoria-metrics", "prometheus"])
def store(request, tmp_path_factory) -> Iterator[Store]:
    start = running_victoria_metrics if request.param == "victoria-metrics" else running_prometheus_store
    with start(tmp_path_factory.mktemp(request.param) / "data") as s:
        _load(s)
        yield s


@pytest.fixture(scope="module")
def engine(store: Store) -> Iterator[RemoteEngine]:
    with httpx.Client(timeout=30) as client:
        yield RemoteEngine(store.query_url, client)


def _as_json(value) -> tuple[str, object]:
    """A value as the store spells it (labels as dicts, times in seconds, values as text)."""
    def num(v: float) -> float:
        return v if v == v else "NaN"  # NaN != NaN; compare its spelling

    if isinstance(value, Vector):
        return "vector", sorted((sorted(s.labels.to_dict().items()), s.ts_ms, num(s.value))
                                for s in value.samples)
    if isinstance(value, Matrix):
        return "matrix", sorted((sorted(s.labels.to_dict().items()), s.timestamps.tolist(),
                                 [num(v) for v in s.values.tolist()]) for s in value.series)
    if isinstance(value, Scalar):
        return "scalar", (value.ts_ms, num(value.value))
    assert isinstance(value, String)
    return "string", (value.ts_ms, value.value)


def _store_json(data: dict) -> tuple[str, object]:
    kind, result = data["resultType"], data["result"]

    def num(text: str) -> float:
        v = float(text)
        return v if v == v else "NaN"

    if kind == "vector":
        return kind, sorted((sorted(s["metric"].items()), round(s["value"][0] * 1000), num(s["value"][1]))
                            for s in result)
    if kind == "matrix":
        return kind, sorted((sorted(s["metric"].items()), [round(t * 1000) for t, _ in s["values"]],
                             [num(v) for _, v in s["values"]]) for s in result)
    if kind == "scalar":
        return kind, (round(result[0] * 1000), num(result[1]))
    return kind, (round(result[0] * 1000), result[1])


@pytest.mark.parametrize("query", QUERIES)
def test_instant_queries_answer_what_the_store_answers(store, engine, query):
    direct = store.api("query", query=query, time=f"{NOW_MS / 1000:.3f}")
    assert direct["status"] == "success", direct
    result = engine.instant_query(query, NOW_MS)
    assert _as_json(result.value) == _store_json(direct["data"])
    if query == "req_total":
        assert len(result.value.samples) == 3


@pytest.mark.parametrize("query", RANGE_QUERIES)
def test_range_queries_answer_what_the_store_answers(store, engine, query):
    start, end = NOW_MS - 300_000, NOW_MS
    direct = store.api("query_range", query=query, start=start / 1000, end=end / 1000, step=30)
    assert direct["status"] == "success", direct
    result = engine.range_query(query, start, end, 30_000)
    assert isinstance(result.value, Matrix) and result.value.series
    assert _as_json(result.value) == _store_json(direct["data"])


def test_syntax_errors_are_prometheus_messages_and_stay_local(store, engine):
    with pytest.raises(ParseError) as info:
        engine.instant_query("sum(req_total", NOW_MS)
    assert str(info.value) == "1:14: parse error: unclosed left parenthesis"
    if store.kind == "prometheus":  # the very message Prometheus gives
        direct = store.api("query", query="sum(req_total")
        assert direct["error"] == f'invalid parameter "query": {info.value}'
    with pytest.raises(ParseError, match='invalid expression type "range vector" for range query'):
        engine.range_query("req_total[1m]", NOW_MS - 60_000, NOW_MS, 15_000)


def test_execution_errors_of_the_store_are_query_errors(store, engine):
    # Both metrics lose their name in rate(): two series with one label set.
    query = 'rate({__name__=~"req_total|other_total", instance="a:1"}[1m])'
    if store.kind == "victoria-metrics":
        # MetricsQL keeps both series; but VictoriaMetrics 1.79 lacks some PromQL functions,
        # and says so at execution (422).
        with pytest.raises(QueryError, match='unknown func "histogram_count"'):
            engine.instant_query("histogram_count(req_total)", NOW_MS)
        return
    with pytest.raises(QueryError, match="vector cannot contain metrics with the same labelset"):
        engine.instant_query(query, NOW_MS)


def test_series_labels_and_values_come_from_the_store(store):
    with httpx.Client(timeout=30) as client:
        reader = RemoteSeriesReader(store.query_url, client)
        q = reader.querier(NOW_MS - 3_600_000, NOW_MS + 60_000)
        found = q.select([Matcher.equal("__name__", "req_total"), Matcher(MatchType.REGEX, "job", "a.*")])
        assert found.labels == [Labels({"__name__": "req_total", "instance": f"{i}:1", "job": "api"})
                                for i in "ab"]
        assert len(found.timestamps) == 0 and found.offsets.tolist() == [0, 0, 0]
        assert {"__name__", "instance", "job"} <= set(q.label_names())
        assert q.label_names([Matcher.equal("__name__", "other_total")]) == ["__name__", "instance", "job"]
        assert q.label_values("job", [Matcher.equal("__name__", "req_total")]) == ["api", "web"]
        assert q.label_values("instance", [Matcher.equal("job", "web")]) == ["c:1"]
        # The API's "no bounds" defaults are left to the store.
        unbounded = reader.querier(-(2**62), 2**62)
        assert unbounded.label_values("job", [Matcher.equal("__name__", "other_total")]) == ["api"]


def test_an_unreachable_store_is_named():
    with httpx.Client(timeout=5) as client:
        engine = RemoteEngine("http://127.0.0.1:9", client)
        with pytest.raises(QueryError, match=r"metrics store at http://127.0.0.1:9 unreachable: ConnectError"):
            engine.instant_query("up", NOW_MS)


class _Answers:
    """A real HTTP server standing in for a store where the real ones cannot be made to do
    it on demand: answer slowly, or with warnings."""

    def __init__(self, body: dict, delay_s: float = 0.0) -> None:
        payload = json.dumps(body).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay_s)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_warnings_pass_through_and_a_slow_store_times_out():
    answer = {"status": "success", "warnings": ["partial response"], "infos": ["note"],
              "data": {"resultType": "vector", "result": [
                  {"metric": {"a": "b"}, "value": [1.5, "+Inf"]}]}}
    fast, slow = _Answers(answer), _Answers(answer, delay_s=2.0)
    try:
        with httpx.Client(timeout=0.5) as client:
            result = RemoteEngine(fast.url, client).instant_query("up", 1500)
            assert result.warnings == ("partial response",) and result.infos == ("note",)
            assert result.value == Vector(result.value.samples)
            assert [(s.labels, s.ts_ms, s.value) for s in result.value.samples] == [
                (Labels({"a": "b"}), 1500, float("inf"))]
            with pytest.raises(QueryError) as info:
                RemoteEngine(slow.url, client).instant_query("up", 1500)
            assert str(info.value).startswith("query timed out")  # the API's 503 wording
            assert slow.url in str(info.value)
    finally:
        fast.close()
        slow.close()
