"""A real HTTP target for scrape tests: a threaded http.server whose page tests change."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.tsdb_store import TempTSDB


@dataclass
class Page:
    body: bytes = b"# TYPE up_metric gauge\nup_metric 1\n"
    content_type: str = "text/plain; version=0.0.4"
    status: int = 200
    delay_s: float = 0.0


@dataclass
class TargetServer:
    address: str
    page: Page
    requests: list[dict[str, str]] = field(default_factory=list)

    def set(self, body: str | bytes, **kw: object) -> None:
        self.page.body = body.encode() if isinstance(body, str) else body
        for k, v in kw.items():
            setattr(self.page, k, v)


@pytest.fixture
def target_server() -> Iterator[TargetServer]:
    page = Page()
    state = TargetServer("", page)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            if page.delay_s:
                time.sleep(page.delay_s)
            try:
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the scraper gave up (timeout tests)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.address = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def store(tsdb_store: TempTSDB) -> TempTSDB:
    """The store scrapes write to: a real TSDB in a temp dir (``tests/support/tsdb_store.py``)."""
    return tsdb_store
