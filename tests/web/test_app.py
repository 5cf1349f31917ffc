"""Self-metrics, lifecycle endpoints and the package surface."""

from starlette.testclient import TestClient

import vigil.web
from tests.web.fakes import make_deps
from vigil.errors import ConfigError
from vigil.web import create_app


def test_metrics_exposition(client, deps):
    deps.metrics.head_series.set(42)
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "vigil_tsdb_head_series 42.0" in resp.text


def test_healthy_and_ready(client):
    assert client.get("/-/healthy").text == "Vigil is Healthy.\n"
    assert client.get("/-/ready").text == "Vigil is Ready.\n"


def test_not_ready():
    with TestClient(create_app(make_deps(ready=False))) as c:
        resp = c.get("/-/ready")
        assert resp.status_code == 503 and resp.text == "Service Unavailable"
        assert c.get("/-/healthy").status_code == 200


def test_reload_disabled_without_callback(client):
    resp = client.post("/-/reload")
    assert resp.status_code == 403


def test_reload_calls_deps_and_reports_errors():
    calls = []

    async def reload() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ConfigError("unknown field", file="vigil.yml", line=3, column=5,
                              path="scrape_configs[0].foo")

    with TestClient(create_app(make_deps(reload=reload))) as c:
        assert c.post("/-/reload").status_code == 200
        resp = c.post("/-/reload")
        assert resp.status_code == 500
        assert resp.text == ("failed to reload config: vigil.yml:3:5: scrape_configs[0].foo: "
                             "unknown field")
        assert c.get("/-/reload").status_code == 405
    assert len(calls) == 2


def test_two_apps_in_one_process_do_not_share_state():
    a, b = make_deps(), make_deps()
    a.metrics.head_series.set(1)
    with TestClient(create_app(a)) as ca, TestClient(create_app(b)) as cb:
        assert "vigil_tsdb_head_series 1.0" in ca.get("/metrics").text
        assert "vigil_tsdb_head_series 0.0" in cb.get("/metrics").text


def test_exported_members():
    assert sorted(vigil.web.__all__) == sorted(
        ["QueryEngine", "RulesRetriever", "SeriesReader", "TargetRetriever", "WebDeps",
         "create_app"])
    for name in vigil.web.__all__:
        assert hasattr(vigil.web, name)


def test_query_latency_is_on_own_metrics(client):
    client.get("/api/v1/query", params={"query": "up"})
    client.get("/api/v1/query_range", params={"query": "up", "start": 0, "end": 60, "step": 15})
    text = client.get("/metrics").text
    assert 'vigil_engine_query_duration_seconds_count{kind="instant"} 1.0' in text
    assert 'vigil_engine_query_duration_seconds_count{kind="range"} 1.0' in text
