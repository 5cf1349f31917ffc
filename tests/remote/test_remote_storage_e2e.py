"""``vigil up`` with storage.remote against a real VictoriaMetrics 1.79 and a real Prometheus
2.42: a scraped target's samples arrive in the store; Vigil's query API answers what the
store answers; a recording rule and an alerting rule (on the recorded series) evaluate
against the store; a syntax error is Prometheus's 400; the store down is a clear 422 while
Vigil keeps running, and what was collected meanwhile arrives once the store is back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.metrics_server import MetricsServer
from tests.support.victoriametrics import Store, running_prometheus_store, running_victoria_metrics
from tests.support.vigil_proc import VigilProcess, eventually

STORES = {"victoria-metrics": running_victoria_metrics, "prometheus": running_prometheus_store}
RULES = {"groups": [{"name": "app", "interval": "1s", "rules": [
    {"record": "job:app_requests:sum", "expr": "sum by (job) (app_requests_total)"},
    {"alert": "AppBusy", "expr": "job:app_requests:sum > 5", "labels": {"severity": "page"}},
]}]}


@pytest.fixture(params=sorted(STORES))
def store(request, tmp_path):
    with STORES[request.param](tmp_path / "store") as s:
        yield s


def _config(tmp_path: Path, store: Store, target: str) -> Path:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(RULES))
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "default_rules": False,
        "rule_files": ["rules.yml"],
        "collectors": {"host": {"enabled": False}},
        "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": [target]}]}],
        "storage": {"remote": {
            "write_url": store.write_url, "query_url": store.query_url, "query_timeout": "5s",
            # Small, so that an outage of a few seconds overflows it: the buffer must catch up.
            "queue_config": {"capacity": 300, "max_samples_per_send": 200,
                             "batch_send_deadline": "100ms", "min_backoff": "100ms",
                             "max_backoff": "500ms"}}},
    }
    path = tmp_path / "vigil.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _api(vigil: VigilProcess, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{vigil.url}/api/v1/{path}", params=params, timeout=30)


def test_vigil_on_a_metrics_store(store, tmp_path):
    with MetricsServer('app_requests_total{path="/a"} 7\napp_requests_total{path="/b"} 3\n') as target:
        vigil = VigilProcess(_config(tmp_path, store, target.address), tmp_path / "data").start()
        try:
            _check_queries_and_rules(vigil, store)
            _check_outage(vigil, store, target)
        finally:
            vigil.stop()
    # The buffer is a small local TSDB; the history is in the store.
    assert (tmp_path / "data" / "tsdb").is_dir()


def _check_queries_and_rules(vigil: VigilProcess, store: Store) -> None:
    # The scraped samples are in the store (asked directly).
    eventually(lambda: len(store.query('app_requests_total{job="app"}')) == 2, 30,
               what="scraped samples in the store")
    # The recording rule's result was written to the store, and the alerting rule, which
    # reads that recorded series back from the store, fires.
    recorded = eventually(lambda: store.query('job:app_requests:sum{job="app"}'), 30,
                          what="the recorded series in the store")
    assert float(recorded[0]["value"][1]) == 10.0
    alerts = eventually(lambda: [a for a in _api(vigil, "alerts").json()["data"]["alerts"]
                                 if a["labels"]["alertname"] == "AppBusy" and a["state"] == "firing"],
                        30, what="AppBusy firing")
    assert alerts[0]["labels"] == {"alertname": "AppBusy", "job": "app", "severity": "page"}
    eventually(lambda: store.query('ALERTS{alertname="AppBusy",alertstate="firing"}'), 30,
               what="ALERTS in the store")
    groups = _api(vigil, "rules").json()["data"]["groups"]
    assert [r["health"] for r in groups[0]["rules"]] == ["ok", "ok"]

    # Vigil's query API answers what the store answers, for the same instant and range
    # (once the store has a few scrapes to answer from).
    eventually(lambda: len(store.query('up{job="app"}[1m]')[0]["values"]) >= 4, 30,
               what="four scrapes in the store")
    at = round(time.time() - 1, 3)  # milliseconds, as Vigil reads API times
    for query in ('app_requests_total{job="app"}', "sum by (path) (app_requests_total)",
                  'up{job="app"}', "count(up)"):
        ours = _api(vigil, "query", query=query, time=f"{at:.3f}").json()
        theirs = store.api("query", query=query, time=f"{at:.3f}")
        assert ours["status"] == "success" and ours["data"] == theirs["data"], query
        ours = _api(vigil, "query_range", query=query, start=f"{at - 20:.3f}", end=f"{at:.3f}",
                    step=2).json()
        theirs = store.api("query_range", query=query, start=f"{at - 20:.3f}", end=f"{at:.3f}", step=2)
        assert ours["data"] == theirs["data"], query
        assert ours["data"]["result"], query
    # Metadata endpoints read the store.
    assert "app" in _api(vigil, "label/job/values", start=at - 60).json()["data"]
    series = _api(vigil, "series", **{"match[]": "app_requests_total", "start": at - 60}).json()["data"]
    assert sorted(s["path"] for s in series) == ["/a", "/b"]

    # A syntax error is answered by Vigil as Prometheus answers it.
    bad = _api(vigil, "query", query="sum(app_requests_total")
    assert bad.status_code == 400
    assert bad.json() == {"status": "error", "errorType": "bad_data",
                          "error": 'invalid parameter "query": 1:23: parse error: unclosed left parenthesis'}
    if store.kind == "prometheus":
        direct = store.http.get("/api/v1/query", params={"query": "sum(app_requests_total"})
        assert (direct.status_code, direct.json()) == (400, bad.json())


def _check_outage(vigil: VigilProcess, store: Store, target: MetricsServer) -> None:
    store.stop()
    down_from = time.time()
    failed = _api(vigil, "query", query="up")
    assert failed.status_code == 422
    assert failed.json()["errorType"] == "execution"
    assert f"metrics store at {store.query_url} unreachable" in failed.json()["error"]
    scrapes = target.scrapes
    eventually(lambda: target.scrapes >= scrapes + 3, 20, what="scrapes during the outage")
    assert httpx.get(f"{vigil.url}/-/ready", timeout=5).status_code == 200  # still running
    down_to = time.time()
    store.start()
    # Every scrape made while the store was down arrives: `up` has a sample about every
    # second through the outage, none missing. (Samples taken after the store came back are
    # sent only after the skipped span, so one of those means the catch-up is done.)
    def samples_through_outage() -> list[float]:
        found = store.query(f'up{{job="app"}}[{int(time.time() - down_from) + 30}s]')
        stamps = [float(t) for t, _ in found[0]["values"]] if found else []
        return stamps if stamps and stamps[-1] > down_to + 1 else []

    stamps = eventually(samples_through_outage, 60, what="samples after the outage in the store")
    around = [t for t in stamps if down_from - 2 <= t <= down_to + 1]
    gaps = [b - a for a, b in zip(around, around[1:], strict=False)]
    assert around[0] <= down_from and around[-1] >= down_to and max(gaps) < 1.6, (around, down_from, down_to)
    assert _api(vigil, "query", query="up").status_code == 200
    # More was collected than the queue holds: it came from the buffer.
    assert "samples from the local buffer" in vigil.log.read_text()
