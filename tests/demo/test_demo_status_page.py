"""``vigil up --demo`` gets a live status page: the demo adds its components (the web shop's
``up``, the milk meters) to the ``status_page`` section without overriding configured ones,
their queries parse, and the assembled app's recorder shows one meter offline as Degraded
performance on ``/status/api.json``."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from vigil.app import App, check
from vigil.config.status_page import StatusComponentConfig, StatusPageConfig, check_status_page
from vigil.demo import STATUS_COMPONENTS, Demo
from vigil.model import Labels
from vigil.promql import parse_expr


def test_demo_components_join_the_configured_page(tmp_path):
    demo = Demo(str(tmp_path / "demo"))
    own = demo.status_page(StatusPageConfig())
    assert [c.name for c in own.components] == ["demo-shop", "demo-milk-meters"]
    assert (own.title, own.check_interval, own.active) == ("Vigil demo status", 10.0, True)
    assert check_status_page(own, set(), parse_expr) is None  # the queries are valid PromQL

    shop = StatusComponentConfig(name="demo-shop", description="mine", query='up{job="shop"}')
    mine = StatusPageConfig(title="Farm", components=[shop], check_interval=60.0)
    merged = demo.status_page(mine)
    assert [(c.name, c.description) for c in merged.components] == [("demo-shop", "mine"),
                                                                     ("demo-milk-meters", "Demo milk meters (MQTT)")]
    assert (merged.title, merged.check_interval) == ("Farm", 60.0)  # the configured page keeps its settings
    off = StatusPageConfig(enabled=False)
    assert demo.status_page(off) is off and not demo.status_page(off).active
    assert [c.group for c in STATUS_COMPONENTS] == ["Demo", "Demo"]


def test_demo_app_serves_the_components_with_their_status(tmp_path):
    path = tmp_path / "vigil.yml"
    path.write_text("default_rules: false\ncollectors: {host: {enabled: false}}\n")
    app = App(check(str(path)), data_dir=str(tmp_path / "data"), listen="127.0.0.1:0", demo=True)
    try:
        assert [c.name for c in app.config.status_page.components] == ["demo-shop", "demo-milk-meters"]
        appender = app.db.appender()
        now_ms = int(time.time() * 1000)
        appender.append(Labels({"__name__": "up", "job": "demo-webapp", "instance": "shop.demo:8080",
                                "demo": "true"}), now_ms, 1.0)
        for n in range(1, 9):
            appender.append(Labels({"__name__": "milkmeter_device_online", "device": f"meter-{n:02d}",
                                    "demo": "true"}), now_ms, 0.0 if n == 7 else 1.0)
        appender.commit()
        app.status_recorder.check_once()
        with TestClient(app.web) as client:
            data = client.get("/status/api.json").json()
        assert data["page"]["title"] == "Vigil demo status"
        assert {c["name"]: (c["status"], c["source"]) for c in data["components"]} == {
            "demo-shop": ("operational", "query"), "demo-milk-meters": ("degraded_performance", "query")}
    finally:
        app.close()
