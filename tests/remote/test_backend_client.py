"""storage.remote's HTTP client: TLS and basic auth against a real Prometheus 2.42 behind its
own web configuration file, for writes and queries alike; secret files re-read at every
request; the config's headers and bearer token on every request."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.support.tls import TestCA, bcrypt_hash
from tests.support.victoriametrics import running_prometheus_store
from tests.support.vigil_proc import eventually
from vigil.config import load_config_text
from vigil.errors import QueryError
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.remote import open_remote_store
from vigil.tsdb import DB


def _config(tmp_path: Path, remote: dict) -> object:
    path = tmp_path / "vigil.yml"
    text = yaml.safe_dump({"storage": {"remote": {
        "queue_config": {"batch_send_deadline": "50ms", "min_backoff": "50ms", "max_backoff": "200ms"},
        **remote}}})
    path.write_text(text)
    return load_config_text(text, str(path))


def test_tls_and_basic_auth_against_a_real_prometheus(tmp_path):
    ca = TestCA(tmp_path / "ca")
    server = ca.issue("store", server=True)
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({
        "tls_server_config": {"cert_file": str(server.cert), "key_file": str(server.key)},
        "basic_auth_users": {"vigil": bcrypt_hash("s3cret")}}))
    (tmp_path / "password").write_text("s3cret\n")
    with running_prometheus_store(tmp_path / "prom", web_config=web, verify=ca.client_context(),
                                  auth=("vigil", "s3cret")) as store:
        config = _config(tmp_path, {
            "write_url": store.write_url, "query_url": store.query_url,
            "basic_auth": {"username": "vigil", "password_file": "password"},  # relative to vigil.yml
            "tls_config": {"ca_file": str(ca.cert_file)}})
        db = DB.open(str(tmp_path / "buffer"), wal_fsync="off")
        remote = open_remote_store(config, db)
        unsubscribe = db.subscribe(remote.writer.append)
        remote.writer.start()
        try:
            now = int(time.time() * 1000)
            app = db.appender()
            app.append(Labels({"__name__": "tls_test", "job": "x"}), now, 42.0)
            app.commit()
            result = eventually(lambda: remote.engine.instant_query("tls_test", now).value.samples,
                                30, what="the sample written and read over TLS")
            assert [(s.labels, s.value) for s in result] == [(Labels({"__name__": "tls_test", "job": "x"}), 42.0)]
            q = remote.series.querier(now - 60_000, now + 60_000)
            assert q.label_values("job", [Matcher.equal("__name__", "tls_test")]) == ["x"]

            # The password file is read at every request: a wrong one is refused at once.
            (tmp_path / "password").write_text("wrong\n")
            with pytest.raises(QueryError, match=f"metrics store at {store.query_url} answered HTTP 401"):
                remote.engine.instant_query("tls_test", now)
        finally:
            unsubscribe()
            remote.writer.stop()
            remote.close()
            db.close()

        # Without the CA the store's certificate is not trusted.
        untrusted = _config(tmp_path, {"write_url": store.write_url, "query_url": store.query_url})
        db = DB.open(str(tmp_path / "buffer2"), wal_fsync="off")
        remote = open_remote_store(untrusted, db)
        try:
            with pytest.raises(QueryError, match="CERTIFICATE_VERIFY_FAILED"):
                remote.engine.instant_query("tls_test", now)
        finally:
            remote.close()
            db.close()


class _Recorder:
    """A real HTTP server that records each request's path and headers and answers as a
    store would (204 to writes, an empty vector to queries): it checks what Vigil sends."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                if self.path == "/api/v1/write":
                    self.send_response(204)
                    self.end_headers()
                    return
                body = json.dumps({"status": "success",
                                   "data": {"resultType": "vector", "result": []}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_headers_and_a_bearer_token_file_on_writes_and_queries(tmp_path):
    recorder = _Recorder()
    (tmp_path / "token").write_text("first\n")
    config = _config(tmp_path, {
        "write_url": recorder.url + "/api/v1/write", "query_url": recorder.url + "/",
        "headers": {"X-Scope-OrgID": "team-a"},
        "authorization": {"credentials_file": str(tmp_path / "token")}})
    db = DB.open(str(tmp_path / "buffer"), wal_fsync="off")
    remote = open_remote_store(config, db)
    unsubscribe = db.subscribe(remote.writer.append)
    remote.writer.start()
    try:
        app = db.appender()
        app.append(Labels({"__name__": "m"}), int(time.time() * 1000), 1.0)
        app.commit()
        eventually(lambda: remote.writer.sent == 1, 10, what="the write")
        remote.engine.instant_query("m", 1000)
        (tmp_path / "token").write_text("second\n")
        remote.engine.instant_query("m", 1000)
    finally:
        unsubscribe()
        remote.writer.stop()
        remote.close()
        db.close()
        recorder.server.shutdown()
        recorder.server.server_close()
    (write_path, write), (query_path, query), (_, query_again) = recorder.requests
    assert (write_path, query_path) == ("/api/v1/write", "/api/v1/query")
    for headers in (write, query):
        assert headers["authorization"] == "Bearer first"
        assert headers["x-scope-orgid"] == "team-a"
    assert query_again["authorization"] == "Bearer second"
    assert write["content-encoding"] == "snappy"
    assert write["x-prometheus-remote-write-version"] == "0.1.0"
    assert write["user-agent"] == "vigil-remote-write"
