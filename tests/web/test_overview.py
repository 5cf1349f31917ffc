"""The overview page computes each host's figures with the real engine over a real TSDB."""

from __future__ import annotations

import dataclasses

from starlette.testclient import TestClient

from tests.web.fakes import NOW_S, make_deps
from vigil.model import Labels
from vigil.promql import Engine
from vigil.tsdb import DB
from vigil.web import create_app
from vigil.web.overview import format_value, sparkline


def load_hosts(db: DB, now_ms: int) -> None:
    """Two hosts, 40 minutes at 15 s: db-1 busy (idle 0.1 cpu-s/s of 1), web-1 quiet."""
    app = db.appender()
    for step in range(161):
        ts = now_ms - (160 - step) * 15_000
        for instance, idle_rate, avail in (("db-1", 0.1, 0.05), ("web-1", 0.9, 0.6)):
            base = {"job": "node", "instance": instance}
            app.append(Labels({**base, "__name__": "node_cpu_seconds_total", "cpu": "0", "mode": "idle"}),
                       ts, step * 15 * idle_rate)
            app.append(Labels({**base, "__name__": "node_memory_MemTotal_bytes"}), ts, 8e9)
            app.append(Labels({**base, "__name__": "node_memory_MemAvailable_bytes"}), ts, 8e9 * avail)
            app.append(Labels({**base, "__name__": "node_load1"}), ts, 1.5)
    app.commit()


def test_overview_shows_each_host_with_threshold_colours(tmp_path):
    now_ms = int(NOW_S * 1000)
    with DB.open(tmp_path / "tsdb") as db:
        load_hosts(db, now_ms)
        deps = dataclasses.replace(make_deps(), engine=Engine(db))
        html = TestClient(create_app(deps)).get("/overview").text
    db1 = html[html.index('id="host-db-1"'):html.index('id="host-web-1"')]
    web1 = html[html.index('id="host-web-1"'):]
    assert "90.0 %" in db1 and "level-crit" in db1          # CPU busy 90 % > 85 %
    assert "95.0 %" in db1                                   # memory used
    assert "10.0 %" in web1 and "40.0 %" in web1 and "level-crit" not in web1
    assert "1.50" in db1 and "<polyline" in db1
    assert "Root disk used" in db1 and "–" in db1            # no filesystem series: shown as missing


def test_overview_without_host_metrics_explains_why(tmp_path):
    with DB.open(tmp_path / "tsdb") as db:
        deps = dataclasses.replace(make_deps(), engine=Engine(db))
        html = TestClient(create_app(deps)).get("/overview").text
    assert "No host metrics yet" in html


def test_formatting_and_sparkline():
    assert format_value(12.345, "%") == "12.3 %"
    assert format_value(3 * 1024 * 1024, "bytes/s") == "3.0 MiB/s"
    assert format_value(90061, "s") == "1d 1h"
    assert format_value(None, "") == "–"
    assert sparkline([1.0, float("nan")]) == ""
    assert sparkline([0.0, 1.0, 2.0]).split() == ["0.0,34.0", "80.0,18.0", "160.0,2.0"]


def test_home_page_is_the_overview(tmp_path):
    with DB.open(tmp_path / "tsdb") as db:
        deps = dataclasses.replace(make_deps(), engine=Engine(db))
        html = TestClient(create_app(deps)).get("/").text
    assert "<h1>Overview</h1>" in html and 'class="active" aria-current="page">Overview' in html
