"""Where the HTTP API runs PromQL queries: a thread pool of its own, at most
``query.max_concurrency`` queries at once (Prometheus's ``--query.max-concurrency``); more
wait in line for a free thread, as Prometheus's queries wait at its active query tracker.

Queries never run on the event loop, so the server keeps answering other requests
(health checks, UI, ingest) while a heavy query runs. The compiled kernels release the GIL,
so two queries on two threads use two cores for that part of their work.

A query's time budget (``query.timeout``, or the request's ``timeout`` if shorter) counts
from when it arrives, waiting included, as in Prometheus; one that runs out while it is
still waiting fails with Prometheus's "query timed out in query queue" and never runs.

Self-metrics, with Prometheus's names under Vigil's prefix: ``vigil_engine_queries`` (queries
running or waiting, as ``prometheus_engine_queries``) and
``vigil_engine_queries_concurrent_max`` (the limit, as
``prometheus_engine_queries_concurrent_max``).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from prometheus_client import CollectorRegistry, Gauge

from vigil.errors import QueryError

__all__ = ["DEFAULT_MAX_CONCURRENCY", "DEFAULT_TIMEOUT_S", "QueryGate", "QueuedTooLong"]

DEFAULT_MAX_CONCURRENCY = 20  # Prometheus's --query.max-concurrency
DEFAULT_TIMEOUT_S = 120.0  # Prometheus's --query.timeout

T = TypeVar("T")


class QueuedTooLong(QueryError):
    """The query's time ran out before a thread was free; it never ran."""

    def __init__(self) -> None:
        super().__init__("query timed out in query queue")


class QueryGate:
    """Runs calls on ``max_concurrency`` threads of its own; ``registry``: where its two
    gauges go (None: no metrics). Thread-safe; one per app."""

    def __init__(self, max_concurrency: int = DEFAULT_MAX_CONCURRENCY, *,
                 timeout_s: float = DEFAULT_TIMEOUT_S,
                 registry: CollectorRegistry | None = None) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        # Threads start on first use and end when the gate is garbage collected.
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="vigil-query")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._queries: Gauge | None = None
        if registry is not None:
            self._queries = Gauge("vigil_engine_queries",
                                  "The current number of queries being executed or waiting.",
                                  registry=registry)
            Gauge("vigil_engine_queries_concurrent_max", "The max number of concurrent queries.",
                  registry=registry).set(max_concurrency)

    @property
    def in_flight(self) -> int:
        """Queries running or waiting now."""
        return self._in_flight

    def _count(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta
        if self._queries is not None:
            self._queries.inc(delta)

    async def query(self, call: Callable[[], T], timeout_s: float | None = None) -> T:
        """``call()``'s result, run on one of the gate's threads once one is free.

        The budget is the gate's timeout, or ``timeout_s`` if shorter; when it runs out the
        await raises :class:`QueuedTooLong` if the call had not started (it then never
        runs), else ``TimeoutError`` (the thread finishes the call on its own; the engine
        has its own deadline)."""
        budget = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        context = contextvars.copy_context()
        self._count(1)
        future: Future[T] = self._pool.submit(context.run, call)
        future.add_done_callback(lambda _: self._count(-1))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), max(budget, 0.0))
        except TimeoutError:
            # Cancelling succeeds only for a call no thread has taken yet.
            if future.cancelled():
                raise QueuedTooLong() from None
            raise
