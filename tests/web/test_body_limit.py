"""One request-body limit for the whole web app (web.max_request_body_size): a declared
Content-Length or a streamed body over it is answered 413 on every endpoint that reads a
body, and the endpoint does not act on it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.config import load_config_text
from vigil.errors import ConfigError
from vigil.web import create_app
from vigil.web.body_limit import RequestBodyLimit

LIMIT = 1000


class Recorder:
    """Remote-write receiver and push gateway that remember what reached them."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def write(self, body: bytes) -> int:
        self.calls.append("write")
        return 0

    def push(self, grouping, body, content_type, *, replace):
        self.calls.append("push")

    def delete(self, grouping) -> bool:
        self.calls.append("delete")
        return True


@pytest.fixture()
def app(tmp_path):
    recorder = Recorder()
    reloads: list[int] = []

    async def reload() -> None:
        reloads.append(1)

    deps = make_deps(reload=reload)
    deps.remote_write = recorder
    deps.pushgateway = recorder
    deps.alerting = real_alerting(tmp_path)
    deps.max_request_body_bytes = LIMIT
    with TestClient(create_app(deps)) as client:
        yield client, recorder, deps.alerting, reloads


def _alerts_json(size: int) -> bytes:
    return json.dumps([{"labels": {"alertname": "Big", "pad": "x" * size}}]).encode()


def _chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
    # A generator body goes out chunked, with no Content-Length: the limit must count bytes.
    for i in range(0, len(data), size):
        yield data[i:i + size]


ENDPOINTS = [
    ("POST", "/api/v1/write"),
    ("PUT", "/metrics/job/big"),
    ("POST", "/api/v2/alerts"),
    ("POST", "/api/v2/silences"),
    ("POST", "/api/v1/query"),
    ("POST", "/-/reload"),
    ("POST", "/silences"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_declared_length_over_the_limit_is_413(app, method, path):
    client, recorder, alerting, reloads = app
    resp = client.request(method, path, content=b"x" * (LIMIT + 1))
    assert resp.status_code == 413, resp.text
    assert f"the limit is {LIMIT} bytes (web.max_request_body_size)" in resp.text
    assert recorder.calls == [] and reloads == [] and alerting.alerts() == []


FORM = {"content-type": "application/x-www-form-urlencoded"}
# Endpoints that read a body, each with a body of the kind it reads. (An endpoint that reads
# no body, like /-/reload, never pulls a streamed one in; its declared length is checked.)
STREAMED = [
    ("POST", "/api/v1/write", {}, b"x" * (LIMIT * 3)),
    ("PUT", "/metrics/job/big", {}, b"m 1\n" * LIMIT),
    ("POST", "/api/v2/alerts", {}, _alerts_json(LIMIT)),
    ("POST", "/api/v2/silences", {}, json.dumps({"comment": "x" * LIMIT}).encode()),
    ("POST", "/api/v1/query", FORM, b"query=" + b"1%2B" * LIMIT),
    ("POST", "/silences", FORM, b"comment=" + b"x" * LIMIT),
]


@pytest.mark.parametrize("method, path, headers, body", STREAMED)
def test_streamed_body_over_the_limit_is_413(app, method, path, headers, body):
    client, recorder, alerting, reloads = app
    resp = client.request(method, path, content=_chunks(body), headers=headers)
    assert "content-length" not in resp.request.headers
    assert resp.status_code == 413, resp.text
    assert "request body too large" in resp.text
    assert recorder.calls == [] and alerting.alerts() == []


def test_bodies_within_the_limit_go_through(app):
    client, recorder, alerting, reloads = app
    assert client.put("/metrics/job/small", content=b"m 1\n").status_code == 200
    assert client.post("/api/v1/write", content=b"y" * LIMIT).status_code == 204
    small = _alerts_json(LIMIT // 2)
    assert len(small) <= LIMIT
    assert client.post("/api/v2/alerts", content=_chunks(small)).status_code == 200
    assert client.post("/-/reload", content=b"").status_code == 200
    assert recorder.calls == ["push", "write"] and reloads == [1]
    assert [v.alert.labels.get("alertname") for v in alerting.alerts()] == ["Big"]


def test_the_limit_is_configurable_and_positive():
    cfg = load_config_text("web:\n  max_request_body_size: 5MB\n")
    assert cfg.web.max_request_body_size == 5 << 20
    assert load_config_text("").web.max_request_body_size == 32 << 20
    with pytest.raises(ConfigError, match="web.max_request_body_size"):
        load_config_text("web:\n  max_request_body_size: 0\n")
    with pytest.raises(ValueError):
        RequestBodyLimit(lambda *a: None, 0)
