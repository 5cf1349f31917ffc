"""A webhook receiver the tests run: records every POST body, answers with scripted codes."""

from __future__ import annotations

import json
import threading
import time
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    # Several replicas deliver at once; the default backlog of 5 drops connection attempts
    # past it and the senders stall a second before retrying.
    request_queue_size = 128


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrived_at: list[float] = []  # time.monotonic() of each body in ``received``
        self.request_headers: list[HTTPMessage] = []  # the headers each body in ``received`` came with
        self.attempts = 0
        # Each POST pops the next (status, headers) if any, else answers 200.
        self.responses: list[tuple[int, dict[str, str]]] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._cond:
                    receiver.attempts += 1
                    status, headers = receiver.responses.pop(0) if receiver.responses else (200, {})
                    if status < 300:
                        receiver.received.append(json.loads(body))
                        receiver.arrived_at.append(time.monotonic())
                        receiver.request_headers.append(self.headers)
                    receiver._cond.notify_all()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def first_arrival(self, alertname: str) -> float | None:
        """When the first notification for group ``alertname`` arrived (monotonic), if yet."""
        with self._cond:
            for body, at in zip(self.received, self.arrived_at, strict=True):
                if body.get("groupLabels", {}).get("alertname") == alertname:
                    return at
        return None

    def wait_for(self, predicate, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Block until ``predicate(received)`` holds; fail the test after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"webhook condition not met; received: {self.received}")
                self._cond.wait(left)
            return list(self.received)
