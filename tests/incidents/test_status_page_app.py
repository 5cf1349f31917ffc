"""The status page in the assembled app: ``vigil check`` refuses a component query that does
not parse and a maintenance window naming no time interval, at their line in the file; the
app's recorder evaluates the queries with the app's own engine over its TSDB and the page
serves the result."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from vigil.app import App, check
from vigil.errors import ConfigError
from vigil.model import Labels

CONFIG = """\
default_rules: false
collectors: {host: {enabled: false}}
alerting:
  time_intervals:
    - name: sunday-night
      time_intervals: [{weekdays: [sunday], times: [{start_time: "02:00", end_time: "04:00"}]}]
status_page:
  title: Smart Dairy
  components:
    - name: shop
      query: 'probe_success{instance="https://shop"}'
    - name: milk-api
      query: %s
  maintenance: [%s]
"""


def write(tmp_path, query: str = "'up{job=\"milk-api\"}'", interval: str = "sunday-night") -> str:
    path = tmp_path / "vigil.yml"
    path.write_text(CONFIG % (query, interval))
    return str(path)


def test_check_locates_bad_queries_and_unknown_intervals(tmp_path):
    with pytest.raises(ConfigError) as err:
        check(write(tmp_path, query="'up{job=\"milk-api\"'"))
    assert str(err.value).startswith(f"{tmp_path / 'vigil.yml'}:13:")
    assert "status_page.components[1].query: invalid PromQL" in str(err.value)
    with pytest.raises(ConfigError, match=r":14:\d+: status_page.maintenance\[0\].time_interval: "
                                          r"undefined time interval 'weekends'"):
        check(write(tmp_path, interval="weekends"))
    assert check(write(tmp_path)).config.status_page.active


def test_app_records_component_statuses_from_its_engine(tmp_path):
    app = App(check(write(tmp_path)), data_dir=str(tmp_path / "data"), listen="127.0.0.1:0")
    try:
        appender = app.db.appender()
        now_ms = int(time.time() * 1000)
        appender.append(Labels({"__name__": "probe_success", "instance": "https://shop"}), now_ms, 1.0)
        appender.append(Labels({"__name__": "up", "job": "milk-api", "instance": "a"}), now_ms, 1.0)
        appender.append(Labels({"__name__": "up", "job": "milk-api", "instance": "b"}), now_ms, 0.0)
        appender.commit()
        changes = app.status_recorder.check_once()
        assert {(t.component, t.status) for t in changes} == {("shop", "operational"),
                                                              ("milk-api", "partial_outage")}
        with TestClient(app.web) as client:
            data = client.get("/status/api.json").json()
        assert {c["name"]: c["status"] for c in data["components"]} == {
            "shop": "operational", "milk-api": "partial_outage"}
        assert data["page"]["title"] == "Smart Dairy"
        assert [w["name"] for w in data["maintenance"]][:1] == ["sunday-night"]
    finally:
        app.close()
