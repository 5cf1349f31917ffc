"""Loki's live tail (``/loki/api/v1/tail`` over WebSocket) through the real app and gate over
a real log store; the subscription's bound (a slow client drops, ingest never waits); every
append path (HTTP, tailed files) feeding the tail; what shippers ask first (Elasticsearch's
``/``, Loki's build info)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse

from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.config.logs import LogsConfig
from vigil.logs.live import PublishingAppender, TailHub
from vigil.logs.model import LogEntry
from vigil.logs.runtime import LogsRuntime
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

S = 1_000_000_000


@pytest.fixture
def runtime(tmp_path):
    config = LogsConfig.model_validate({"files": [{"path": str(tmp_path / "app.log"),
                                                   "labels": {"job": "file"}}]})
    rt = LogsRuntime(config, store_path=str(tmp_path / "logs"), state_dir=str(tmp_path / "tail"))
    yield rt
    rt.close()


@pytest.fixture
def client(runtime):
    deps = dataclasses.replace(make_deps(), logs=runtime)
    with TestClient(create_app(deps)) as c:
        yield c


def push(client, labels: dict[str, str], lines: list[str], ts_ns: int | None = None) -> None:
    ts = ts_ns or time.time_ns()
    values = [[str(ts + i), line] for i, line in enumerate(lines)]
    r = client.post("/loki/api/v1/push", json={"streams": [{"stream": labels, "values": values}]})
    assert r.status_code == 204, r.text


def lines_of(message: dict) -> list[str]:
    rows = [(int(ts), line) for s in message["streams"] for ts, line in s["values"]]
    return [line for _, line in sorted(rows)]


def test_tail_sends_the_history_then_new_lines_through_the_pipeline(client):
    now = time.time_ns()
    push(client, {"app": "web"}, [f"GET /{i} status={500 if i % 2 else 200}" for i in range(6)],
         now - 60 * S)
    push(client, {"app": "db"}, ["status=500 in another stream"], now - 30 * S)
    query = '{app="web"} | logfmt | status >= 500'
    with client.websocket_connect(f"/loki/api/v1/tail?query={query}&limit=2") as ws:
        first = json.loads(ws.receive_text())
        # The last `limit` matching entries, oldest first; labels after the pipeline.
        assert lines_of(first) == ["GET /3 status=500", "GET /5 status=500"]
        assert first["streams"][0]["stream"] == {"app": "web", "status": "500"}
        assert first["dropped_entries"] is None
        push(client, {"app": "web"}, ["GET /new status=200", "GET /new status=503"])
        push(client, {"app": "db"}, ["status=500 still another stream"])
        push(client, {"app": "web"}, ["GET /later status=502"])
        got: list[str] = []
        while len(got) < 2:
            message = json.loads(ws.receive_text())
            got += lines_of(message)
        assert got == ["GET /new status=503", "GET /later status=502"]


def test_a_bad_tail_request_is_refused_with_lokis_words(client):
    for query, words in (("{app=", "parse error"),
                         ('sum(count_over_time({app="web"}[1m]))', "log query"),
                         ('{app="web"}&delay_for=6', "delay_for can't be greater than 5"),
                         ('{app="web"}&limit=0', "limit")):
        with pytest.raises(WebSocketDenialResponse) as refused, \
                client.websocket_connect(f"/loki/api/v1/tail?query={query}"):
            pass
        assert refused.value.status_code == 400
        assert words in refused.value.json()["message"], query


@pytest.fixture
def service(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    service = AccessService(store.access)
    service.add_user("root", Role.ADMIN, actor="test", password="root-pw")
    yield service
    store.close()


def test_tail_checks_credentials_as_the_gate_does(runtime, service):
    viewer = service.create_token("viewer", Role.VIEWER, actor="test")
    deps = dataclasses.replace(make_deps(), logs=runtime, access=AccessPolicy(service))
    with TestClient(create_app(deps)) as client:
        url = '/loki/api/v1/tail?query={app="web"}'
        with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect(url):
            pass
        assert refused.value.status_code == 401
        with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect(
                url, headers={"Authorization": "Bearer not-a-token"}):
            pass
        assert refused.value.status_code == 401
        with client.websocket_connect(url, headers={"Authorization": f"Bearer {viewer}"}) as ws:
            client.post("/loki/api/v1/push", headers={"Authorization": "Basic cm9vdDpyb290LXB3"},
                        json={"streams": [{"stream": {"app": "web"},
                                           "values": [[str(time.time_ns()), "seen by a viewer"]]}]})
            assert lines_of(json.loads(ws.receive_text())) == ["seen by a viewer"]


def test_another_sites_page_cannot_tail_through_the_implicit_admin(client):
    # Open access (nobody configured, loopback): a browser on another origin must not read.
    url = '/loki/api/v1/tail?query={app="web"}'
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect(
            url, headers={"Origin": "http://evil.example"}):
        pass
    assert refused.value.status_code == 403
    with client.websocket_connect(url, headers={"Origin": "http://testserver"}):
        pass


def entry(i: int, app: str = "web") -> LogEntry:
    return LogEntry(1_000 + i, Labels({"app": app}), f"line {i}")


def test_a_slow_subscriber_drops_and_never_blocks_the_appender():
    class Memory:
        def __init__(self) -> None:
            self.entries: list[LogEntry] = []

        def append(self, entries):
            self.entries.extend(entries)
            return len(entries)

    async def scenario() -> None:
        hub = TailHub()
        sub = hub.subscribe([Matcher.equal("app", "web")], capacity=3)
        memory = Memory()
        appender = PublishingAppender(memory, hub)
        # From another thread, as the file tailers and HTTP handlers append: returns at once
        # although nobody reads the subscription.
        worker = threading.Thread(target=lambda: [appender.append([entry(i), entry(i, "db")])
                                                  for i in range(10)])
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert len(memory.entries) == 20  # everything stored
        await asyncio.wait_for(sub.wait(), 10)
        taken, dropped, total = sub.take()
        assert [e.line for e in taken] == ["line 0", "line 1", "line 2"]
        assert total == 7 and [ts for _, ts in dropped] == [1_003 + k for k in range(7)]
        assert all(labels == Labels({"app": "web"}) for labels, _ in dropped)
        appender.append([entry(20)])  # room again
        taken, dropped, total = sub.take()
        assert [e.line for e in taken] == ["line 20"] and dropped == [] and total == 0
        hub.unsubscribe(sub)
        appender.append([entry(21)])
        assert sub.take()[0] == []

    asyncio.run(scenario())


def test_lines_of_a_tailed_file_reach_the_tail(runtime, tmp_path):
    async def scenario() -> None:
        sub = runtime.tail_hub.subscribe([Matcher.equal("job", "file")])
        (tmp_path / "app.log").write_text("first line of the file\n")
        runtime.tailers[0].poll()
        await asyncio.wait_for(sub.wait(), 10)
        assert [e.line for e in sub.take()[0]] == ["first line of the file"]

    asyncio.run(scenario())


def test_filebeat_and_fluentd_see_an_elasticsearch_8_node(client):
    # Filebeat's output connects with GET / (Accept: application/json) and reads
    # version.number; elasticsearch-ruby also checks the product header and tagline.
    r = client.get("/", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["x-elastic-product"] == "Elasticsearch"
    body = r.json()
    assert body["version"]["number"].startswith("8.") and body["tagline"] == "You Know, for Search"
    assert body["version"]["build_flavor"] == "default"
    assert client.get("/", headers={"Content-Type": "application/json"}).json()["tagline"]
    # A browser, or a plain request, still gets the overview page.
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*"})
    assert "<h1>Overview</h1>" in page.text
    assert "<h1>Overview</h1>" in client.get("/").text
    info = client.get("/loki/api/v1/status/buildinfo").json()
    assert info["version"].startswith("3.") and "vigilVersion" in info


def test_over_a_real_server_the_tail_refuses_with_401_and_serves_a_websocket_client(
        runtime, service):
    # uvicorn with the websockets library, as `vigil up` serves; a plain WebSocket client.
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from tests.support.browser import serve_app

    viewer = service.create_token("viewer-real", Role.VIEWER, actor="test")
    deps = dataclasses.replace(make_deps(), logs=runtime, access=AccessPolicy(service))
    with serve_app(lambda _: create_app(deps)) as base:
        url = base.replace("http://", "ws://") + '/loki/api/v1/tail?query={app="real"}'
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=10)
        assert refused.value.response.status_code == 401
        with connect(url, additional_headers={"Authorization": f"Bearer {viewer}"},
                     open_timeout=10) as ws:
            runtime.append("loki", [LogEntry(time.time_ns(), Labels({"app": "real"}), "over uvicorn")])
            message = json.loads(ws.recv(timeout=10))
        assert lines_of(message) == ["over uvicorn"] and message["dropped_entries"] is None
