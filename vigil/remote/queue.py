"""Remote write out (S2): send committed samples to a remote-write 1.0 endpoint.

One :class:`QueueManager` per ``remote_write`` entry. ``vigil/app.py`` subscribes its
:meth:`QueueManager.append` to the TSDB's commits (``DB.subscribe``), so only samples that
are in the WAL are sent. Then:

* ``append`` (in the committing thread) relabels (``write_relabel_configs``) and queues the
  samples; it never blocks a commit. When ``queue_config.capacity`` samples are waiting the
  new ones are dropped and counted in :attr:`QueueManager.dropped` (Prometheus instead
  re-reads its WAL; a queue this full means the endpoint has been down a while).
* One sender thread takes up to ``max_samples_per_send`` samples once that many wait or the
  oldest has waited ``batch_send_deadline``, encodes one WriteRequest (snappy) and POSTs it.
* 2xx: sent. 5xx, 429 and connection errors: retried with exponential backoff from
  ``min_backoff`` to ``max_backoff`` (``Retry-After`` on 429 is honoured up to
  ``max_backoff``), for as long as the queue runs. Other 4xx: the batch is dropped (a retry
  would fail again), counted in :attr:`failed`.

``stop`` makes one last attempt to send what is queued, bounded by ``remote_timeout``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

import httpx

from vigil.config.model import RemoteWriteConfig
from vigil.model.labels import Labels
from vigil.model.relabel import Relabeller
from vigil.remote.codec import (
    CONTENT_ENCODING,
    CONTENT_TYPE,
    PROTOCOL_VERSION,
    compress,
    encode_labels,
    encode_series,
)

__all__ = ["QueueManager"]

log = logging.getLogger(__name__)

Batch = list[tuple[Labels, list[int], list[float]]]


class QueueManager:
    """Queues committed samples and sends them to one endpoint from its own thread.

    ``transport`` replaces httpx's network transport (tests). Counters (samples):
    :attr:`sent`, :attr:`failed` (dropped after a 4xx), :attr:`dropped` (queue full),
    :attr:`retries` (requests retried)."""

    def __init__(self, config: RemoteWriteConfig, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.name = config.name or config.url
        q = config.queue_config
        self._capacity = q.capacity
        self._max_send = q.max_samples_per_send
        self._deadline_s = q.batch_send_deadline
        self._relabel = Relabeller(config.write_relabel_configs, cache_size=100_000)
        self._queue: collections.deque[tuple[Labels, int, float]] = collections.deque()
        self._oldest = 0.0  # monotonic time the oldest queued sample arrived
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._label_bytes: dict[Labels, bytes] = {}
        self._client = httpx.Client(transport=transport, timeout=config.remote_timeout,
                                    headers={"Content-Encoding": CONTENT_ENCODING,
                                             "Content-Type": CONTENT_TYPE,
                                             "X-Prometheus-Remote-Write-Version": PROTOCOL_VERSION,
                                             "User-Agent": "vigil-remote-write",
                                             **config.headers})
        self.sent = self.failed = self.dropped = self.retries = 0

    # ---- input (committing threads) ------------------------------------------------------

    def append(self, batch: Batch) -> None:
        """The ``DB.subscribe`` listener: queue a committed batch. Never blocks for long."""
        relabel = self._relabel
        rows: list[tuple[Labels, int, float]] = []
        for labels, tss, vals in batch:
            if relabel:
                out = relabel.process(labels)
                if out is None:
                    continue
                labels = out
            rows.extend((labels, t, v) for t, v in zip(tss, vals, strict=True))
        if not rows:
            return
        with self._cond:
            room = self._capacity - len(self._queue)
            if room < len(rows):
                self.dropped += len(rows) - max(room, 0)
                rows = rows[:max(room, 0)]
            if not self._queue:
                self._oldest = time.monotonic()
            self._queue.extend(rows)
            if len(self._queue) >= self._max_send:
                self._cond.notify()

    # ---- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"vigil-remote-write {self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the sender after one last attempt to flush; idempotent."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._client.close()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    # ---- sender thread ------------------------------------------------------------------

    def _take(self) -> list[tuple[Labels, int, float]] | None:
        """Wait for a full batch or the deadline; None when stopping and empty."""
        with self._cond:
            while True:
                if self._queue and (len(self._queue) >= self._max_send or self._stopping
                                    or time.monotonic() - self._oldest >= self._deadline_s):
                    n = min(self._max_send, len(self._queue))
                    rows = [self._queue.popleft() for _ in range(n)]
                    self._oldest = time.monotonic()
                    return rows
                if self._stopping:
                    return None
                wait = self._deadline_s - (time.monotonic() - self._oldest) if self._queue \
                    else self._deadline_s
                self._cond.wait(max(0.001, wait))

    def _run(self) -> None:
        while True:
            rows = self._take()
            if rows is None:
                return
            self._send(self._encode(rows), len(rows))

    def _encode(self, rows: list[tuple[Labels, int, float]]) -> bytes:
        series: dict[Labels, tuple[list[int], list[float]]] = {}
        for labels, t, v in rows:
            s = series.get(labels)
            if s is None:
                series[labels] = ([t], [v])
            else:
                s[0].append(t)
                s[1].append(v)
        cache = self._label_bytes
        if len(cache) > 200_000:
            cache.clear()
        parts = []
        for labels, (tss, vals) in series.items():
            lb = cache.get(labels)
            if lb is None:
                lb = cache[labels] = encode_labels(labels)
            parts.append(encode_series(lb, tss, vals))
        return compress(b"".join(parts))

    def _send(self, body: bytes, n: int) -> None:
        q = self.config.queue_config
        backoff = q.min_backoff
        while True:
            try:
                r = self._client.post(self.config.url, content=body)
                status, retry_after = r.status_code, r.headers.get("Retry-After")
                reason = r.text[:200].strip()
            except httpx.HTTPError as e:
                status, retry_after, reason = 0, None, f"{type(e).__name__}: {e}"
            if 200 <= status < 300:
                self.sent += n
                return
            if status and status < 500 and status != 429:
                log.error("remote write %s: dropping %d samples: HTTP %d: %s", self.name, n,
                          status, reason)
                self.failed += n
                return
            if self._stopping:
                log.warning("remote write %s: giving up on %d samples at shutdown: %s",
                            self.name, n, reason or status)
                self.failed += n
                return
            delay = backoff
            if status == 429 and retry_after and retry_after.isdigit():
                delay = min(float(retry_after), q.max_backoff)
            log.warning("remote write %s: HTTP %s (%s); retrying in %.2fs", self.name,
                        status or "error", reason, delay)
            self.retries += 1
            with self._cond:
                self._cond.wait(delay)
            backoff = min(backoff * 2, q.max_backoff)
