"""Drive the real Dispatcher + OutboxWorker + state Store with a fake clock, and run fake
third-party services (HTTP) that speak their documented format and status codes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.notify import OutboxWorker
from vigil.config import load_config_text
from vigil.model import Alert, Labels
from vigil.selfmetrics import SelfMetrics
from vigil.state import Store

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
EXTERNAL_URL = "http://vigil.example:9494"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def alert(name: str, instance: str, start: datetime, end: datetime | None = None, *,
          severity: str = "warning", **annotations: str) -> Alert:
    annotations.setdefault("summary", f"{name} on {instance}")
    return Alert(Labels({"alertname": name, "instance": instance, "severity": severity}),
                 Labels(annotations), start, end, "http://vigil/graph?g0.expr=up", updated_at=start)


class Harness:
    """``receiver_yaml`` is the body of one receiver named ``r`` (indented by 6 spaces);
    the route groups by alertname with 30s/5m/4h timers."""

    def __init__(self, tmp_path, receiver_yaml: str) -> None:
        self.clock = Clock()
        self.store = Store.open_in(str(tmp_path))
        self.cfg = load_config_text(f"""
alerting:
  receivers:
    - name: r
{receiver_yaml}
  route:
    receiver: r
    group_by: [alertname]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 4h
""").alerting
        self.restart()

    def restart(self) -> None:
        """A new process: dispatcher and outbox worker rebuilt from the same state store."""
        self.dispatcher = Dispatcher(self.cfg, self.store, external_url=EXTERNAL_URL,
                                     clock=self.clock)
        self.dispatcher.restore()
        self.worker = OutboxWorker(self.store, self.dispatcher.integrations(), SelfMetrics(),
                                   clock=self.clock)

    def tick(self) -> None:
        """Flush due groups, then attempt due deliveries, at the current fake time."""
        for group in self.dispatcher.groups():
            if group.due(self.clock.now):
                self.dispatcher.flush(group, self.clock.now)

        async def deliver() -> None:
            async with httpx.AsyncClient() as client:
                await self.worker.deliver_due(client)

        asyncio.run(deliver())

    def fire_and_flush(self, alerts: list[Alert]) -> None:
        self.dispatcher.put(alerts)
        self.clock.advance(31)
        self.tick()


def webhook_harness(tmp_path, url: str, send_resolved: bool = True) -> Harness:
    return Harness(tmp_path, f'      webhook_configs: [{{url: "{url}", send_resolved: {str(send_resolved).lower()}}}]')


# A validator returns None for a valid body, else (status, response body) to answer with.
Validator = Callable[[Any], "tuple[int, str] | None"]


class FakeService:
    """An HTTP service on a loopback port. Every POST body is parsed as JSON and checked by
    ``validate``; a valid one is recorded in ``received`` unless a scripted response
    (popped from ``responses``) says otherwise. ``attempts`` counts every POST."""

    def __init__(self, validate: Validator, ok: tuple[int, str, str]) -> None:
        self.received: list[Any] = []
        self.rejected: list[tuple[int, str]] = []
        self.attempts = 0
        self.responses: list[tuple[int, dict[str, str], str]] = []
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with service._lock:
                    service.attempts += 1
                    headers: dict[str, str] = {}
                    try:
                        body = json.loads(raw)
                        problem = validate(body)
                    except ValueError:
                        body, problem = None, (400, "invalid_payload")
                    if problem is not None:
                        status, text = problem
                        service.rejected.append(problem)
                    elif service.responses:
                        status, headers, text = service.responses.pop(0)
                    else:
                        status, text = ok[0], ok[1]
                        service.received.append(body)
                content_type = ok[2]
                data = text.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> FakeService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
