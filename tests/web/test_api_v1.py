"""The Prometheus HTTP API against fakes of the engine, targets, rules and storage."""

import json

import pytest

from tests.web.fakes import NOW_S, make_deps
from vigil.web import create_app

T = 1_700_000_000  # unix seconds used by most requests


def ok(resp):
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["status"] == "success"
    return body


def error(resp, status, error_type, message):
    assert resp.status_code == status, resp.text
    assert resp.json() == {"status": "error", "errorType": error_type, "error": message}


def test_instant_query_vector_shape(client, deps):
    body = ok(client.get("/api/v1/query", params={"query": "node_load1", "time": T}))
    data = body["data"]
    assert data["resultType"] == "vector"
    assert len(data["result"]) == 3
    first = data["result"][0]
    assert set(first) == {"metric", "value"}
    assert first["metric"] == {"__name__": "node_load1", "instance": "host-0:9100", "job": "node"}
    ts, value = first["value"]
    assert ts == T and isinstance(value, str) and float(value) > 0
    assert deps.engine.calls[-1] == ("instant", "node_load1", T * 1000)


def test_instant_query_defaults_time_to_now(client, deps):
    ok(client.get("/api/v1/query", params={"query": "node_load1"}))
    assert deps.engine.calls[-1] == ("instant", "node_load1", int(NOW_S * 1000))


def test_query_accepts_rfc3339_time(client, deps):
    ok(client.get("/api/v1/query", params={"query": "up", "time": "2023-11-14T22:13:20.5Z"}))
    assert deps.engine.calls[-1][2] == 1_700_000_000_500


def test_query_by_post_form(client, deps):
    body = ok(client.post("/api/v1/query", data={"query": "node_load1", "time": str(T)}))
    assert len(body["data"]["result"]) == 3
    assert deps.engine.calls[-1] == ("instant", "node_load1", T * 1000)


def test_special_values_and_warnings_are_spelled_like_prometheus(client):
    resp = client.get("/api/v1/query", params={"query": "special", "time": "1.5"})
    ok(resp)
    # Byte-level check: timestamps with three fraction digits, values as Go formats them.
    assert ('[{"metric":{"i":"0"},"value":[1.500,"+Inf"]},'
            '{"metric":{"i":"1"},"value":[1.500,"-Inf"]},'
            '{"metric":{"i":"2"},"value":[1.500,"NaN"]},'
            '{"metric":{"i":"3"},"value":[1.500,"1e-07"]},'
            '{"metric":{"i":"4"},"value":[1.500,"1e+21"]},'
            '{"metric":{"i":"5"},"value":[1.500,"100"]},'
            '{"metric":{"i":"6"},"value":[1.500,"0.1"]},'
            '{"metric":{"i":"7"},"value":[1.500,"-0"]},'
            '{"metric":{"i":"8"},"value":[1.500,"123456789.125"]}]') in resp.text
    assert resp.text.endswith(',"warnings":["careful"]}')


def test_scalar_and_string_results(client):
    body = ok(client.get("/api/v1/query", params={"query": "scalar", "time": "1.5"}))
    assert body["data"] == {"resultType": "scalar", "result": [1.5, "1.5"]}
    resp = client.get("/api/v1/query", params={"query": "string", "time": "2"})
    assert resp.json()["data"] == {"resultType": "string", "result": [2, "hello <world>"]}
    assert "\\u003cworld\\u003e" in resp.text  # Go escapes HTML characters


def test_query_limit_truncates_with_warning(client):
    body = ok(client.get("/api/v1/query", params={"query": "node_load1", "limit": "2"}))
    assert len(body["data"]["result"]) == 2
    assert body["warnings"] == ["results truncated due to limit"]


def test_range_query_matrix_shape(client, deps):
    body = ok(client.get("/api/v1/query_range", params={
        "query": "node_load1", "start": T - 300, "end": T, "step": "60s"}))
    data = body["data"]
    assert data["resultType"] == "matrix"
    assert [s["metric"]["instance"] for s in data["result"]] == [
        "host-0:9100", "host-1:9100", "host-2:9100"]
    values = data["result"][0]["values"]
    assert [p[0] for p in values] == [T - 300 + 60 * i for i in range(6)]
    assert all(isinstance(p[1], str) for p in values)
    assert deps.engine.calls[-1] == ("range", "node_load1", (T - 300) * 1000, T * 1000, 60_000)


def test_range_query_post_with_float_step_and_rfc3339(client, deps):
    ok(client.post("/api/v1/query_range", data={
        "query": "node_load1", "start": "2023-11-14T22:08:20Z", "end": "2023-11-14T22:13:20Z",
        "step": "15.5"}))
    assert deps.engine.calls[-1] == ("range", "node_load1", (T - 300) * 1000, T * 1000, 15_500)


def test_scalar_range_result_is_unlabelled_series(client):
    body = ok(client.get("/api/v1/query_range", params={
        "query": "scalar", "start": T, "end": T + 30, "step": 15}))
    assert body["data"]["result"] == [
        {"metric": {}, "values": [[T, "1.5"], [T + 15, "1.5"], [T + 30, "1.5"]]}]


@pytest.mark.parametrize("params, message", [
    ({"start": "x", "end": T, "step": 15}, 'invalid parameter "start": cannot parse "x" to a valid timestamp'),
    ({"start": T, "step": 15}, 'invalid parameter "end": cannot parse "" to a valid timestamp'),
    ({"start": T, "end": T - 1, "step": 15},
     'invalid parameter "end": end timestamp must not be before start time'),
    ({"start": T, "end": T + 60, "step": "abc"},
     'invalid parameter "step": cannot parse "abc" to a valid duration'),
    ({"start": T, "end": T + 60, "step": 0},
     'invalid parameter "step": zero or negative query resolution step widths are not '
     "accepted. Try a positive integer"),
    ({"start": T, "end": T + 60, "step": "-5s"},
     'invalid parameter "step": cannot parse "-5s" to a valid duration'),
    ({"start": T, "end": T + 11001, "step": 1},
     "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
     "resolution (?step=XX)"),
    ({"start": T, "end": T + 60, "step": 15, "timeout": "soon"},
     'invalid parameter "timeout": cannot parse "soon" to a valid duration'),
])
def test_range_query_parameter_errors(client, params, message):
    error(client.get("/api/v1/query_range", params={"query": "up", **params}), 400, "bad_data",
          message)


def test_exactly_11000_points_is_allowed(client):
    ok(client.get("/api/v1/query_range", params={
        "query": "scalar", "start": T, "end": T + 11000, "step": 1}))


def test_parse_error_is_bad_data(client):
    error(client.get("/api/v1/query", params={"query": "rate(x"}), 400, "bad_data",
          "invalid parameter \"query\": 1:5: parse error: unexpected character: '('")
    error(client.post("/api/v1/query_range", data={
        "query": "", "start": T, "end": T, "step": 1}), 400, "bad_data",
        'invalid parameter "query": 1:1: parse error: no expression found in input')


def test_bad_time_param(client):
    error(client.get("/api/v1/query", params={"query": "up", "time": "noon"}), 400, "bad_data",
          "invalid parameter \"time\": invalid time value for 'time': "
          'cannot parse "noon" to a valid timestamp')


def test_execution_error_is_422(client):
    error(client.get("/api/v1/query", params={"query": "fail"}), 422, "execution",
          "found duplicate series for the match group")


def test_engine_timeout_is_503(client):
    error(client.get("/api/v1/query", params={"query": "timeout"}), 503, "timeout",
          "query timed out in expression evaluation")


def test_timeout_parameter_bounds_the_wait(client):
    error(client.get("/api/v1/query", params={"query": "slow", "timeout": "50ms"}), 503,
          "timeout", "query timed out in expression evaluation")


def test_series(client, deps):
    body = ok(client.get("/api/v1/series", params=[("match[]", 'up{job="node"}'),
                                                   ("match[]", "http_requests_total")]))
    assert body["data"] == [
        {"__name__": "http_requests_total", "code": "200", "instance": "api-0:8080",
         "job": "api"},
        {"__name__": "up", "instance": "host-0:9100", "job": "node"},
        {"__name__": "up", "instance": "host-1:9100", "job": "node"},
    ]
    assert deps.storage.opened[-1] == (-9223309901257974000, 9223309901257974999)
    assert deps.storage.closed == len(deps.storage.opened)


def test_series_time_range_and_post(client, deps):
    body = ok(client.post("/api/v1/series", data={"match[]": "up", "start": T + 1, "end": T + 2}))
    assert body["data"] == []
    assert deps.storage.opened[-1] == ((T + 1) * 1000, (T + 2) * 1000)


def test_series_errors(client):
    error(client.get("/api/v1/series"), 400, "bad_data", "no match[] parameter provided")
    error(client.get("/api/v1/series", params={"match[]": '{job=~".*"}'}), 400, "bad_data",
          'invalid parameter "match[]": match[] must contain at least one non-empty matcher')
    resp = client.get("/api/v1/series", params={"match[]": "up{job=}"})
    assert resp.status_code == 400
    assert resp.json()["error"].startswith('invalid parameter "match[]": 1:')


def test_labels_and_label_values(client):
    assert ok(client.get("/api/v1/labels"))["data"] == [
        "__name__", "code", "instance", "job"]
    assert ok(client.post("/api/v1/labels", data={"match[]": "up"}))["data"] == [
        "__name__", "instance", "job"]
    assert ok(client.get("/api/v1/label/job/values"))["data"] == ["api", "node"]
    assert ok(client.get("/api/v1/label/__name__/values",
                         params={"match[]": '{job="api"}'}))["data"] == [
        "http_requests_total", "up"]
    assert ok(client.get("/api/v1/label/nope/values"))["data"] == []
    resp = client.get("/api/v1/labels", params={"match[]": "up{"})
    assert resp.status_code == 400 and resp.json()["errorType"] == "bad_data"


def test_targets(client):
    data = ok(client.get("/api/v1/targets"))["data"]
    assert [t["scrapePool"] for t in data["activeTargets"]] == ["api", "node", "node"]
    down = data["activeTargets"][2]
    assert down == {
        "discoveredLabels": {"__address__": "host-1:9100", "__metrics_path__": "/metrics",
                             "__scheme__": "http", "job": "node"},
        "labels": {"env": "prod", "instance": "host-1:9100", "job": "node"},
        "scrapePool": "node",
        "scrapeUrl": "http://host-1:9100/metrics",
        "globalUrl": "http://host-1:9100/metrics",
        "lastError": 'Get "http://host-1:9100/metrics": dial tcp 10.0.0.2:9100: connect: '
                     "connection refused",
        "lastScrape": "2023-11-14T22:13:12.75Z",
        "lastScrapeDuration": 0.0123,
        "health": "down",
        "scrapeInterval": "15s",
        "scrapeTimeout": "10s",
    }
    assert data["droppedTargets"] == [{"discoveredLabels": {
        "__address__": "host-9:9100", "__meta_filepath": "/etc/sd/n.json", "job": "node"}}]
    assert data["droppedTargetCounts"] == {"api": 0, "node": 1}
    only = ok(client.get("/api/v1/targets", params={"scrapePool": "api", "state": "active"}))
    assert [t["labels"]["instance"] for t in only["data"]["activeTargets"]] == ["api-0:8080"]
    assert only["data"]["droppedTargets"] == [] and only["data"]["droppedTargetCounts"] is None
    api_pool = ok(client.get("/api/v1/targets", params={"scrapePool": "api"}))["data"]
    assert api_pool["droppedTargets"] == []


def test_rules(client):
    data = ok(client.get("/api/v1/rules"))["data"]
    (group,) = data["groups"]
    assert list(group) == ["name", "file", "rules", "interval", "limit", "evaluationTime",
                           "lastEvaluation"]
    assert group["interval"] == 15 and group["lastEvaluation"] == "2023-11-14T22:13:10Z"
    down, _, record = group["rules"]
    assert down["type"] == "alerting" and down["state"] == "firing"
    assert down["duration"] == 300 and down["keepFiringFor"] == 0
    assert down["labels"] == {"severity": "critical"}
    assert "lastError" not in down
    assert down["alerts"][0]["value"] == "0e+00"
    assert down["alerts"][0]["activeAt"] == "2023-11-14T22:01:20Z"
    assert list(record) == ["name", "query", "labels", "health", "lastError", "evaluationTime",
                            "lastEvaluation", "type"]
    assert record["health"] == "err" and record["labels"] == {}


def test_rules_filters(client):
    data = ok(client.get("/api/v1/rules", params={"type": "record"}))["data"]
    assert [r["name"] for r in data["groups"][0]["rules"]] == ["job:up:sum"]
    data = ok(client.get("/api/v1/rules", params={"rule_name[]": "HighLoad",
                                                  "exclude_alerts": "true"}))["data"]
    assert [r["name"] for r in data["groups"][0]["rules"]] == ["HighLoad"]
    assert data["groups"][0]["rules"][0]["alerts"] is None
    assert ok(client.get("/api/v1/rules", params={"rule_group[]": "x"}))["data"] == {
        "groups": []}
    error(client.get("/api/v1/rules", params={"type": "bogus"}), 400, "bad_data",
          'invalid parameter "type": not supported value "bogus"')


def test_alerts(client):
    alerts = ok(client.get("/api/v1/alerts"))["data"]["alerts"]
    assert alerts[1] == {
        "labels": {"alertname": "HighLoad", "instance": "host-2:9100", "job": "node",
                   "severity": "warning"},
        "annotations": {"summary": "Load is high on host-2:9100"},
        "state": "pending",
        "activeAt": "2023-11-14T22:11:20Z",
        "value": "4.25e+00",
    }


def test_status_and_misc_endpoints(client):
    build = ok(client.get("/api/v1/status/buildinfo"))["data"]
    assert build["version"] == "0.1.0"
    assert set(build) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    assert ok(client.get("/api/v1/status/config"))["data"] == {
        "yaml": "global:\n  scrape_interval: 15s\n"}
    assert ok(client.get("/api/v1/metadata"))["data"] == {}
    assert ok(client.get("/api/v1/query_exemplars", params={"query": "up"}))["data"] == []


def test_not_ready_api_is_503():
    from starlette.testclient import TestClient

    with TestClient(create_app(make_deps(ready=False))) as c:
        resp = c.get("/api/v1/query", params={"query": "up"})
        assert resp.status_code == 503 and resp.text == "Service Unavailable"


def test_response_is_compact_json(client):
    resp = client.get("/api/v1/status/config")
    assert resp.text == json.dumps(resp.json(), separators=(",", ":"))


def test_query_by_multipart_post(client, deps):
    ok(client.post("/api/v1/query", files={"query": (None, "node_load1"), "time": (None, "5")}))
    assert deps.engine.calls[-1] == ("instant", "node_load1", 5000)


def test_post_body_takes_precedence_over_url(client, deps):
    ok(client.post("/api/v1/query?query=up&time=7", data={"time": "9"}))
    assert deps.engine.calls[-1] == ("instant", "up", 9000)


class _BrokenStorage:
    def querier(self, mint_ms, maxt_ms):
        raise OSError("disk on fire")


def test_unexpected_failure_is_internal_error_json():
    from starlette.testclient import TestClient

    deps = make_deps()
    deps.storage = _BrokenStorage()
    with TestClient(create_app(deps)) as c:
        error(c.get("/api/v1/labels"), 500, "internal", "disk on fire")


def test_cors_for_browser_clients(client):
    resp = client.get("/api/v1/status/buildinfo", headers={"Origin": "http://grafana:3000"})
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in client.get("/api/v1/metadata").headers
    pre = client.options("/api/v1/query", headers={"Origin": "http://grafana:3000"})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
