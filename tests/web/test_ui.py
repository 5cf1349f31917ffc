"""The server-rendered pages, checked as HTML (the browser test checks them rendered)."""

import re

from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.rules.status import GroupStatus
from vigil.web import create_app


def test_alerts_page_lists_firing_and_pending(client):
    for path in ("/alerts",):
        html = client.get(path).text
        assert "1 firing" in html and "1 pending" in html
        assert "Instance host-1:9100 down" in html
        assert "has been down for more than 5 minutes." in html
        assert "2023-11-14T22:01:20Z (12m 0s ago)" in html
        assert 'href="https://runbooks.example/instance-down"' in html
        assert 'class="panel alert-group sev-critical"' in html
        assert 'href="/graph?g0.expr=node_load1%20%3E%204&amp;g0.range_input=1h"' in html
        # firing group comes before the pending one
        assert html.index("InstanceDown") < html.index("HighLoad")


def test_alerts_page_escapes_label_values():
    deps = make_deps()
    group = deps.rules.group_list[0]
    alert = group.rules[0].alerts[0]
    evil = type(alert)(**{**alert.__dict__,
                          "labels": alert.labels.with_(instance="<script>x</script>")})
    rule = type(group.rules[0])(**{**group.rules[0].__dict__, "alerts": (evil,)})
    deps.rules.group_list = [GroupStatus(**{**group.__dict__, "rules": (rule,)})]
    with TestClient(create_app(deps)) as c:
        html = c.get("/alerts").text
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_empty_alerts_page():
    deps = make_deps()
    deps.rules.group_list = []
    with TestClient(create_app(deps)) as c:
        assert "No alerts are firing or pending." in c.get("/alerts").text


def test_targets_page_groups_by_job_and_shows_errors(client):
    html = client.get("/targets").text
    assert html.index('id="job-api"') < html.index('id="job-node"')
    assert "1/2 up" in html and "1/1 up" in html
    assert "connect: connection refused" in html
    assert html.count("health-down") >= 2  # badge of the down target and of its pool
    assert "7.2s ago" in html and "12ms" in html
    node = html[html.index('id="job-node"'):]
    assert "1 dropped by relabelling" in node[:node.index("</h2>")]


def test_rules_page(client):
    html = client.get("/rules").text
    assert "/etc/vigil/rules/node.yml" in html
    assert "vector contains metrics with the same labelset" in html
    assert 'href="/graph?g0.expr=up%20%3D%3D%200&amp;g0.range_input=1h"' in html
    assert re.search(r'badge health-err">ERR<', html)


def test_graph_page_without_query_shows_form(client):
    html = client.get("/graph").text
    assert 'name="g0.expr"' in html and 'id="graph"' not in html


def test_graph_page_hands_the_range_to_the_browser_and_renders_the_table(client, deps):
    html = client.get("/graph", params={"g0.expr": "node_load1", "g0.range_input": "1h"}).text
    assert "<svg" not in html and "/static/graph.js" not in html  # drawn by the uPlot bundle
    assert '<script type="module" src="/static/dist/graph.js">' in html
    assert 'data-expr="node_load1"' in html
    assert deps.engine.calls == [("instant", "node_load1", deps.engine.calls[0][2])]
    end = deps.engine.calls[0][2]  # the table's time is the graph's end
    assert f'data-start-ms="{end - 3_600_000}" data-end-ms="{end}" data-step-s=""' in html
    assert html.count("<tr><td class=\"mono\">node_load1{") == 3
    assert 'node_load1{instance=&#34;host-2:9100&#34;, job=&#34;node&#34;}' in html
    assert '<option value="1h" selected>' in html


def test_graph_page_keeps_end_and_step_from_the_url(client, deps):
    html = client.get("/graph", params={"g0.expr": "up", "g0.range_input": "30m",
                                        "g0.end_input": "1700000000", "g0.step_input": "15s"}).text
    assert 'data-start-ms="1699998200000" data-end-ms="1700000000000" data-step-s="15.0"' in html
    assert 'name="g0.step_input" value="15s"' in html and 'name="g0.end_input" value="1700000000"' in html
    bad = client.get("/graph", params={"g0.expr": "up", "g0.step_input": "often"}).text
    assert 'invalid step &#34;often&#34;' in bad and 'id="graph"' not in bad


def test_graph_page_parse_error(client):
    html = client.get("/graph", params={"g0.expr": "rate(x"}).text
    assert 'class="error-box"' in html
    assert "1:5: parse error: unexpected character: &#39;(&#39;" in html
    assert 'id="graph"' not in html


def test_graph_page_bad_range(client):
    html = client.get("/graph", params={"g0.expr": "up", "g0.range_input": "soon"}).text
    assert 'invalid range &#34;soon&#34;' in html


def test_static_css_served(client):
    resp = client.get("/static/vigil.css")
    assert resp.status_code == 200 and ".error-box" in resp.text
    resp = client.get("/static/graph.css")
    assert resp.status_code == 200 and ".chart-tooltip" in resp.text
