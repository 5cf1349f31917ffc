"""Syslog listeners run on an asyncio loop in a thread, so tests can drive them from plain
code and real shippers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from vigil.logs.ingest.common import LineError
from vigil.logs.ingest.listeners import SyslogListener
from vigil.logs.model import LogAppender
from vigil.model.labels import Labels

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class RunningListener:
    """A listener with a TCP and a UDP port; ``errors`` collects what ``on_error`` got."""

    def __init__(self, loop: LoopThread, appender: LogAppender, labels: Labels) -> None:
        self.loop = loop
        self.errors: list[tuple[str, LineError]] = []

        async def start() -> tuple[SyslogListener, int, int]:
            listener = SyslogListener(appender, labels=labels,
                                      on_error=lambda peer, e: self.errors.append((peer, e)))
            return listener, await listener.start_tcp(), await listener.start_udp()

        self.listener, self.tcp_port, self.udp_port = loop.run(start())

    def flush(self) -> None:
        self.loop.run(self.listener.flush())

    def close(self) -> None:
        self.loop.run(self.listener.close())


@contextmanager
def listeners(appender: LogAppender, *labels: Labels) -> Iterator[list[RunningListener]]:
    loop = LoopThread()
    running = [RunningListener(loop, appender, one) for one in labels]
    try:
        yield running
    finally:
        for listener in running:
            listener.close()
        loop.stop()
