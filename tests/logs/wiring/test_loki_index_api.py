"""Loki's index endpoints (``index/stats``, ``index/volume``, ``index/volume_range``) and the
ruler's read paths through the real app over a real log store and a real rule manager, in
the wire formats Loki's HTTP API reference documents and Grafana's Loki data source reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from tests.logs.wiring.test_loki_api import NOW, T0, S, push_json, runtime  # noqa: F401
from tests.support.tsdb_store import TempTSDB
from tests.web.fakes import make_deps
from vigil.logs.logql import LogQLEngine
from vigil.logs.model import LogEntry
from vigil.logs.rules import LOGQL, logql_query_func, parse_rule_expr
from vigil.logs.store import LogStore
from vigil.model.labels import Labels
from vigil.promql.engine import Engine
from vigil.rules import Manager, engine_query_func, load_rule_text
from vigil.selfmetrics import SelfMetrics
from vigil.web import create_app

WEB = [f"GET /api/{i} status={500 if i % 3 == 0 else 200}" for i in range(10)]  # 21 bytes each
DB = "slow query duration=2s"  # 22 bytes


@pytest.fixture
def client(runtime, monkeypatch):  # noqa: F811
    monkeypatch.setattr("vigil.web.logs_api._now_ns", lambda: NOW)
    deps = dataclasses.replace(make_deps(), logs=runtime)
    with TestClient(create_app(deps)) as c:
        assert push_json(c, [{"stream": {"app": "web", "host": "a"},
                              "values": [[str(T0 + i * S), line] for i, line in enumerate(WEB)]},
                             {"stream": {"app": "db", "host": "b"},
                              "values": [[str(T0 + 5 * S), DB]]}]).status_code == 204
        yield c


def test_index_stats_counts_streams_entries_and_bytes(client):
    r = client.get("/loki/api/v1/index/stats", params={"query": '{app=~".+"}'})
    assert r.status_code == 200
    # the bare object, no status envelope; the default window is the last hour
    assert r.json() == {"streams": 2, "chunks": 2, "entries": 11, "bytes": 10 * 21 + 22}
    r = client.post("/loki/api/v1/index/stats", data={
        "query": '{app="web"}', "start": str(T0 // S + 5), "end": str(T0 + 60 * S)})
    assert r.json() == {"streams": 1, "chunks": 1, "entries": 5, "bytes": 5 * 21}
    r = client.get("/loki/api/v1/index/stats", params={"query": '{app="none"}'})
    assert r.json() == {"streams": 0, "chunks": 0, "entries": 0, "bytes": 0}


def _volume(client, path: str = "/loki/api/v1/index/volume", **params: str) -> dict:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["status"] == "success"
    return doc["data"]


def test_volume_aggregates_into_the_labels_the_selector_names(client):
    data = _volume(client, query='{app=~".+"}')
    assert data["resultType"] == "vector"
    # largest first; each point at the end of the window
    assert data["result"] == [{"metric": {"app": "web"}, "value": [NOW // S, "210"]},
                              {"metric": {"app": "db"}, "value": [NOW // S, "22"]}]
    data = _volume(client, query='{app=~".+"}', targetLabels="host")
    assert [(s["metric"], s["value"][1]) for s in data["result"]] == [
        ({"host": "a"}, "210"), ({"host": "b"}, "22")]
    # {} selects every stream, each with all of its labels
    data = _volume(client, query="{}", limit="1")
    assert [(s["metric"], s["value"][1]) for s in data["result"]] == [
        ({"app": "web", "cluster": "eu", "host": "a"}, "210")]


def test_volume_by_labels_names_each_label_with_an_empty_value(client):
    data = _volume(client, query='{host=~"a|b"}', aggregateBy="labels")
    assert [(s["metric"], s["value"][1]) for s in data["result"]] == [
        ({"app": ""}, "232"), ({"cluster": ""}, "232"), ({"host": ""}, "232")]
    data = _volume(client, query='{host=~"a|b"}', aggregateBy="labels", targetLabels="app")
    assert [s["metric"] for s in data["result"]] == [{"app": ""}]


def test_a_target_label_the_stream_lacks_leaves_the_stream_out(client):
    assert push_json(client, [{"stream": {"app": "cron"}, "values": [[str(T0), "tick"]]}]
                     ).status_code == 204
    data = _volume(client, query='{app=~".+"}', targetLabels="host")
    assert [s["metric"] for s in data["result"]] == [{"host": "a"}, {"host": "b"}]


def test_volume_range_is_a_matrix_of_buckets_aligned_to_the_step(client):
    data = _volume(client, "/loki/api/v1/index/volume_range", query='{app=~".+"}',
                   start=str(T0), end=str(T0 + 10 * S), step="5s")
    assert data["resultType"] == "matrix"
    # [T0, T0+5s) holds lines 0-4 of web; [T0+5s, T0+10s) lines 5-9 and db's line
    assert data["result"] == [
        {"metric": {"app": "web"}, "values": [[T0 // S + 5, "105"], [T0 // S + 10, "105"]]},
        {"metric": {"app": "db"}, "values": [[T0 // S + 10, "22"]]}]


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/loki/api/v1/index/stats", {"query": '{app="web"} |= "GET"'},
     "only label matchers are supported"),
    ("/loki/api/v1/index/stats", {"query": "{}"}, "parse error : queries require at least one"),
    ("/loki/api/v1/index/volume", {"query": 'sum(rate({app="web"}[1m]))'},
     "only label matchers are supported"),
    ("/loki/api/v1/index/volume", {"query": '{app="web"}', "aggregateBy": "streams"},
     "invalid aggregation option"),
    ("/loki/api/v1/index/volume", {"query": '{app="web"}', "limit": "-2"},
     "limit must be a positive value"),
    ("/loki/api/v1/index/volume_range", {"query": '{app="web"}', "step": "-1"},
     "zero or negative query resolution step"),
    ("/loki/api/v1/query_range", {"query": 'approx_topk(1, count_over_time({app="web"}[1m]))',
                                  "start": str(T0), "end": str(T0)},
     "count min sketches are only supported on instant queries"),
])
def test_bad_requests_are_400_with_lokis_words(client, path, params, message):
    r = client.get(path, params=params)
    assert r.status_code == 400
    assert r.json()["status"] == "error" and message in r.json()["message"]


def test_approx_topk_answers_an_instant_query(client):
    r = client.get("/loki/api/v1/query", params={
        "query": 'approx_topk(1, sum by (host) (count_over_time({app=~".+"}[1m])))',
        "time": str(T0 + 30 * S)})
    assert r.json()["data"]["result"] == [{"metric": {"host": "a"},
                                           "value": [T0 // S + 30, "10"]}]


# ------------------------------------------------------------------ the ruler's read paths

MS = 1_000_000
EVAL = 1_700_000_040_000  # ms
LOG_RULES = """
groups:
  - name: web-errors
    interval: 1m
    rules:
      - record: app:log_errors:count5m
        expr: sum by (app) (count_over_time({app="web"} |= "status=500" [5m]))
      - alert: WebErrors
        expr: sum by (app) (count_over_time({app="web"} |= "status=500" [5m])) > 2
        for: 1m
        labels: {severity: page}
        annotations: {summary: '{{ $value }} errors'}
"""
PROM_RULES = """
groups:
  - name: prom
    rules:
      - alert: Up
        expr: vector(1)
"""


@pytest.fixture
def ruler_client(tmp_path: Path, tsdb_store: TempTSDB):
    store = LogStore.open(str(tmp_path / "logs"))
    start = (EVAL - 30_000) * MS
    store.append([LogEntry(start + i * S, Labels.of(app="web"), line)
                  for i, line in enumerate(WEB)])
    manager = Manager(query=engine_query_func(Engine(tsdb_store)), notify=lambda alerts: None,
                      storage=tsdb_store, state_store=None, metrics=SelfMetrics(),
                      clock=lambda: EVAL / 1000,
                      languages={LOGQL: logql_query_func(LogQLEngine(store))})
    (prom,) = load_rule_text(PROM_RULES, "/etc/vigil/prom.yml")
    (logs,) = load_rule_text(LOG_RULES, "/etc/vigil/logs.yml", language=LOGQL,
                             parse=parse_rule_expr)
    manager.update([prom, logs])
    for ts in (EVAL, EVAL + 60_000):
        manager.evaluate_group(prom, ts)
        manager.evaluate_group(logs, ts)
    deps = dataclasses.replace(make_deps(), rules=manager)
    with TestClient(create_app(deps)) as c:
        yield c
    store.close()


def test_loki_rules_list_the_log_rule_groups_as_yaml(ruler_client):
    r = ruler_client.get("/loki/api/v1/rules")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(r.text) == {"/etc/vigil/logs.yml": [{
        "name": "web-errors", "interval": "1m", "rules": [
            {"record": "app:log_errors:count5m",
             "expr": 'sum by (app)(count_over_time({app="web"} |= "status=500"[5m]))'},
            {"alert": "WebErrors",
             "expr": '(sum by (app)(count_over_time({app="web"} |= "status=500"[5m])) > 2)',
             "for": "1m", "labels": {"severity": "page"},
             "annotations": {"summary": "{{ $value }} errors"}}]}]}
    assert ruler_client.get("/api/prom/rules").text == r.text


def test_no_log_rules_is_404_as_lokis_ruler(client):
    r = client.get("/loki/api/v1/rules")  # make_deps' only group is PromQL
    assert r.status_code == 404 and r.text == "no rule groups found\n"


def test_prometheus_rules_and_alerts_hold_only_log_rules(ruler_client):
    doc = ruler_client.get("/prometheus/api/v1/rules").json()
    assert doc["status"] == "success"
    [group] = doc["data"]["groups"]
    assert (group["name"], group["file"], group["interval"]) == (
        "web-errors", "/etc/vigil/logs.yml", 60.0)
    record, alert = group["rules"]
    assert (record["type"], record["health"]) == ("recording", "ok")
    assert (alert["type"], alert["state"], alert["duration"]) == ("alerting", "firing", 60.0)
    # lines 0, 3, 6, 9 are errors, all in the 5 minutes before each evaluation
    assert alert["alerts"][0]["labels"] == {"alertname": "WebErrors", "app": "web",
                                            "severity": "page"}
    assert alert["alerts"][0]["value"] == "4e+00"
    only = ruler_client.get("/prometheus/api/v1/rules", params={"type": "record"}).json()
    assert [r["name"] for r in only["data"]["groups"][0]["rules"]] == ["app:log_errors:count5m"]
    none = ruler_client.get("/prometheus/api/v1/rules", params={"rule_group[]": "x"}).json()
    assert none["data"]["groups"] == []
    bad = ruler_client.get("/prometheus/api/v1/rules", params={"type": "both"})
    assert bad.status_code == 400 and bad.json() == {
        "status": "error", "data": None, "errorType": "bad_data",
        "error": 'not supported value "both"'}
    alerts = ruler_client.get("/prometheus/api/v1/alerts").json()["data"]["alerts"]
    assert [(a["labels"]["alertname"], a["state"]) for a in alerts] == [("WebErrors", "firing")]
    # Vigil's own API still has both languages
    names = {g["name"] for g in ruler_client.get("/api/v1/rules").json()["data"]["groups"]}
    assert names == {"prom", "web-errors"}


def test_the_ruler_api_is_read_only(ruler_client):
    r = ruler_client.post("/loki/api/v1/rules", content="name: x\nrules: []\n",
                          headers={"Content-Type": "application/yaml"})
    assert r.status_code == 405
