"""Loki's HTTP API and the log ingest endpoints through the real app (access gate, body
limit) over a real log store: requests and answers in the documented wire formats, as
Grafana's Loki data source, logcli, Promtail/Alloy, Elasticsearch and OTLP shippers send them."""

from __future__ import annotations

import dataclasses
import gzip
import json

import cramjam
import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.config.logs import LogsConfig
from vigil.logs.runtime import LogsRuntime
from vigil.web import create_app

S = 1_000_000_000
T0 = 1_700_000_000 * S  # the entries' times
NOW = T0 + 600 * S  # the API's "now"


@pytest.fixture
def runtime(tmp_path):
    config = LogsConfig.model_validate({"labels": {"jsonl": {"job": "jsonl", "env": "test"},
                                                   "loki": {"cluster": "eu"}}})
    rt = LogsRuntime(config, store_path=str(tmp_path / "logs"), state_dir=str(tmp_path / "tail"))
    yield rt
    rt.close()


@pytest.fixture
def client(runtime, monkeypatch):
    monkeypatch.setattr("vigil.web.logs_api._now_ns", lambda: NOW)
    deps = dataclasses.replace(make_deps(), logs=runtime)
    with TestClient(create_app(deps)) as c:
        yield c


def push_json(client, streams) -> object:
    return client.post("/loki/api/v1/push", json={"streams": streams})


def seed(client) -> None:
    lines = [[str(T0 + i * S), f"GET /api/{i} status={500 if i % 3 == 0 else 200}"]
             for i in range(10)]
    assert push_json(client, [{"stream": {"app": "web", "host": "a"}, "values": lines}]
                     ).status_code == 204
    assert push_json(client, [{"stream": {"app": "db", "host": "b"},
                               "values": [[str(T0 + 5 * S), "slow query duration=2s"]]}]
                     ).status_code == 204


# ---- hand-encoded protobuf, from pkg/push/push.proto's field numbers ----------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def push_request(labels: str, entries: list[tuple[int, str]]) -> bytes:
    """PushRequest{streams(1): {labels(1), entries(2): {timestamp(1): {seconds(1),
    nanos(2)}, line(2)}}}, snappy block-compressed as Promtail sends it."""
    body = _field(1, labels.encode())
    for ts, line in entries:
        stamp = b"\x08" + _varint(ts // S) + b"\x10" + _varint(ts % S)
        body += _field(2, _field(1, stamp) + _field(2, line.encode()))
    return bytes(cramjam.snappy.compress_raw(_field(1, body)))


def test_push_protobuf_snappy_then_query_range_streams_backward_and_forward(client):
    body = push_request('{app="proto"}', [(T0 + S, "first"), (T0 + 2 * S + 5, "second")])
    r = client.post("/loki/api/v1/push", content=body,
                    headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 204, r.text
    r = client.get("/loki/api/v1/query_range", params={
        "query": '{app="proto"}', "start": str(T0), "end": str(T0 + 10 * S), "limit": "10"})
    doc = r.json()
    assert r.status_code == 200 and doc["status"] == "success"
    assert doc["data"]["resultType"] == "streams"
    [stream] = doc["data"]["result"]
    # the source's configured label fills in; the pushed stream's own labels stay
    assert stream["stream"] == {"app": "proto", "cluster": "eu"}
    assert stream["values"] == [[str(T0 + 2 * S + 5), "second"], [str(T0 + S), "first"]]
    assert doc["data"]["stats"]["summary"]["totalEntriesReturned"] == 2
    r = client.get("/loki/api/v1/query_range", params={
        "query": '{app="proto"}', "start": str(T0), "end": str(T0 + 10 * S),
        "direction": "FORWARD", "limit": "1"})
    assert r.json()["data"]["result"][0]["values"] == [[str(T0 + S), "first"]]


def test_log_query_with_filters_parser_and_times_in_seconds_and_rfc3339(client):
    seed(client)
    r = client.get("/loki/api/v1/query_range", params={
        "query": '{app="web"} |= "GET" | logfmt | status >= 500',
        "start": str(T0 // S), "end": "2023-11-14T22:15:00Z", "limit": "100"})
    values = [v[1] for s in r.json()["data"]["result"] for v in s["values"]]
    assert values == [f"GET /api/{i} status=500" for i in (9, 6, 3, 0)]
    # Grafana's data source posts the same as a form
    r = client.post("/loki/api/v1/query_range", data={
        "query": '{host="b"}', "start": f"{T0 / S:.3f}", "end": str(T0 + 60 * S)})
    assert [v[1] for v in r.json()["data"]["result"][0]["values"]] == ["slow query duration=2s"]


def test_metric_query_range_is_a_matrix_and_instant_a_vector(client):
    seed(client)
    r = client.get("/loki/api/v1/query_range", params={
        "query": 'sum by (app) (count_over_time({host=~"a|b"}[10s]))',
        "start": str(T0 + 10 * S), "end": str(T0 + 20 * S), "step": "10s"})
    data = r.json()["data"]
    assert data["resultType"] == "matrix"
    by_app = {s["metric"]["app"]: s["values"] for s in data["result"]}
    # (T0, T0+10s]: the window is open on the left, as Loki's
    assert by_app["web"] == [[(T0 + 10 * S) // S, "9"]]
    assert by_app["db"][0] == [(T0 + 10 * S) // S, "1"]
    r = client.get("/loki/api/v1/query", params={
        "query": 'count_over_time({app="web"} |= "status=500" [1m])', "time": str(T0 + 30 * S)})
    data = r.json()["data"]
    assert data["resultType"] == "vector"
    assert data["result"] == [{"metric": {"app": "web", "cluster": "eu", "host": "a"},
                               "value": [(T0 + 30 * S) // S, "4"]}]
    assert "summary" in data["stats"]


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/loki/api/v1/query_range", {"query": '{app="web"'}, "parse error at line 1, col 11"),
    ("/loki/api/v1/query", {"query": '{app="web"}'}, "not supported as an instant query"),
    ("/loki/api/v1/query_range", {"query": '{a="b"}', "start": "yesterday"},
     'cannot parse "yesterday" to a valid timestamp'),
    ("/loki/api/v1/query_range", {"query": '{a="b"}', "limit": "-1"}, "limit must be"),
    ("/loki/api/v1/query_range", {"query": '{a="b"}', "limit": "5001"},
     "max entries limit per query exceeded"),
    ("/loki/api/v1/query_range", {"query": 'rate({a="b"}[1m])', "step": "1ms",
                                  "start": str(T0), "end": str(T0 + 3600 * S)},
     "exceeded maximum resolution of 11,000 points"),
    ("/loki/api/v1/query_range", {"query": '{a="b"}', "start": str(T0 + S), "end": str(T0)},
     "end timestamp must not be before"),
])
def test_bad_queries_answer_400_with_lokis_text(client, path, params, message):
    r = client.get(path, params=params)
    assert r.status_code == 400
    doc = r.json()
    assert doc["status"] == "error" and doc["code"] == 400 and message in doc["message"]


def test_labels_values_and_series_as_grafana_asks(client):
    seed(client)
    window = {"start": str(T0), "end": str(T0 + 60 * S)}
    r = client.get("/loki/api/v1/labels", params=window)
    assert r.json() == {"status": "success", "data": ["app", "cluster", "host"]}
    r = client.get("/loki/api/v1/label/app/values", params=window)
    assert r.json()["data"] == ["db", "web"]
    r = client.get("/loki/api/v1/label/host/values", params={**window, "query": '{app="db"}'})
    assert r.json()["data"] == ["b"]
    r = client.get("/loki/api/v1/series", params=[("match[]", '{app="web"}'),
                                                  ("match[]", '{host="b"}'), *window.items()])
    assert r.json()["data"] == [{"app": "db", "cluster": "eu", "host": "b"},
                                {"app": "web", "cluster": "eu", "host": "a"}]
    r = client.get("/loki/api/v1/labels", params={**window, "query": '{app="db"}'})
    assert r.json()["data"] == ["app", "cluster", "host"]
    r = client.get("/loki/api/v1/series", params=window)
    assert r.status_code == 400 and "match[]" in r.json()["message"]
    # since counts back from end, or from now when end is in the future
    r = client.get("/loki/api/v1/label/app/values", params={"since": "5m", "end": str(NOW)})
    assert r.json()["data"] == []
    r = client.get("/loki/api/v1/label/app/values", params={"since": "9m55s",
                                                            "end": str(NOW + 3600 * S)})
    assert r.json()["data"] == ["db", "web"]
    # outside the window nothing is found
    r = client.get("/loki/api/v1/labels", params={"start": str(T0 + 3600 * S),
                                                   "end": str(T0 + 7200 * S)})
    assert r.json()["data"] == []


def test_push_reports_bad_lines_and_keeps_the_good_ones(client):
    r = push_json(client, [{"stream": {"app": "mixed"},
                            "values": [[str(T0), "good"], ["not-a-time", "bad"],
                                       [str(T0 + S), "good too"]]}])
    assert r.status_code == 400
    assert "streams[0].values[1]" in r.text
    r = client.get("/loki/api/v1/query_range", params={
        "query": '{app="mixed"}', "start": str(T0), "end": str(T0 + 10 * S)})
    assert [v[1] for v in r.json()["data"]["result"][0]["values"]] == ["good too", "good"]
    r = client.post("/loki/api/v1/push", content=b"\x00garbage",
                    headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 400


def test_push_json_gzip(client):
    body = gzip.compress(json.dumps({"streams": [
        {"stream": {"app": "gz"}, "values": [[str(T0), "zipped"]]}]}).encode())
    r = client.post("/loki/api/v1/push", content=body, headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 204, r.text


def test_elasticsearch_bulk_answers_per_item(client):
    body = (b'{"index":{"_index":"app-logs"}}\n'
            b'{"@timestamp":"2023-11-14T22:13:21Z","message":"hello","log":{"level":"warn"}}\n'
            b'{"create":{}}\n'
            b'{"@timestamp":"2023-11-14T22:13:22Z","message":"via url index"}\n'
            b'{"index":{}}\n'
            b'not json\n')
    r = client.post("/filebeat/_bulk", content=body,
                    headers={"Content-Type": "application/x-ndjson"})
    doc = r.json()
    assert r.status_code == 200 and doc["errors"] is True
    statuses = [next(iter(item.values()))["status"] for item in doc["items"]]
    assert statuses == [201, 201, 400]
    assert next(iter(doc["items"][1].values()))["_index"] == "filebeat"
    r = client.get("/loki/api/v1/query_range", params={
        "query": '{job="elasticsearch"}', "start": str(T0), "end": str(T0 + 10 * S),
        "direction": "forward"})
    got = {s["stream"]["index"]: [v[1] for v in s["values"]] for s in r.json()["data"]["result"]}
    assert got == {"app-logs": ["hello"], "filebeat": ["via url index"]}
    r = client.post("/_bulk", content=gzip.compress(body)[:10],
                    headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "parse_exception"


def test_json_lines_with_labels_from_the_query_string(client):
    body = (b'{"time":"2023-11-14T22:13:21Z","msg":"one","level":"error"}\n'
            b'{broken\n'
            b'{"time":"2023-11-14T22:13:22Z","msg":"two"}\n')
    r = client.post("/api/vigil/v1/logs/jsonl?service=billing&env=staging", content=body)
    assert r.status_code == 400
    doc = r.json()
    assert doc["accepted"] == 2 and doc["rejected"] == 1
    assert doc["errors"][0]["line"] == 2 and doc["errors"][0]["offset"] == body.index(b"{broken")
    r = client.get("/loki/api/v1/query_range", params={
        "query": '{service="billing"}', "start": str(T0), "end": str(T0 + 10 * S)})
    streams = {v[1]: s["stream"] for s in r.json()["data"]["result"] for v in s["values"]}
    # the request's labels win over the source's configured ones (env: test)
    assert streams["two"] == {"env": "staging", "job": "jsonl", "service": "billing"}
    # the level and the fields are the entry's, shown as labels as Loki 3 shows them
    assert streams["one"] == {**streams["two"], "detected_level": "error", "level": "error"}
    r = client.post("/api/vigil/v1/logs/jsonl?bad-name=x", content=body)
    assert r.status_code == 400 and "bad-name" in r.json()["error"]


def test_otlp_json_and_protobuf_responses(client):
    doc = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeLogs": [{"logRecords": [
            {"timeUnixNano": str(T0), "severityText": "ERROR", "body": {"stringValue": "boom"}},
            {"timeUnixNano": "soon", "body": {"stringValue": "bad time"}}]}]}]}
    r = client.post("/v1/logs", json=doc)
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "1" and "timeUnixNano" in partial["errorMessage"]
    r = client.get("/loki/api/v1/query_range", params={
        "query": '{service_name="checkout"}', "start": str(T0), "end": str(T0 + 10 * S)})
    assert [v[1] for s in r.json()["data"]["result"] for v in s["values"]] == ["boom"]
    r = client.post("/v1/logs", content=b"", headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == "application/x-protobuf"


def test_disabled_logs_answer_404(tmp_path):
    with TestClient(create_app(make_deps())) as c:
        assert c.get("/loki/api/v1/labels").status_code == 404
        assert c.post("/loki/api/v1/push", json={"streams": []}).status_code == 404


def test_the_calls_grafanas_loki_data_source_makes(client):
    seed(client)
    # Save & test: an instant query of a constant
    r = client.get("/loki/api/v1/query", params={"query": "vector(1)+vector(1)",
                                                 "time": str(NOW), "limit": "100"})
    assert r.json()["data"]["result"] == [{"metric": {}, "value": [NOW // S, "2"]}]
    # Explore's logs: newest first, limit, a step it also sends for log queries
    r = client.get("/loki/api/v1/query_range", params={
        "query": '{app="web"}', "limit": "3", "start": str(T0), "end": str(NOW),
        "step": "1m0s", "direction": "backward"})
    assert [v[1] for v in r.json()["data"]["result"][0]["values"]] == [
        "GET /api/9 status=500", "GET /api/8 status=200", "GET /api/7 status=200"]
    # the logs volume histogram above them
    r = client.get("/loki/api/v1/query_range", params={
        "query": 'sum by (level, detected_level) (count_over_time({app="web"} | drop __error__'
                 '[1m]))', "start": str(T0), "end": str(T0 + 60 * S), "step": "60000ms"})
    # steps at T0 and T0+60s, each counting the minute up to it (open on the left)
    assert r.json()["data"]["result"] == [{"metric": {}, "values": [[T0 // S, "1"],
                                                                   [T0 // S + 60, "9"]]}]
