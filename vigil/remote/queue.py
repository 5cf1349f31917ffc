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

**With a buffer** (``storage.remote``: the local TSDB is only a buffer in front of the
store), a full queue loses nothing that the buffer still holds: instead of dropping, the
queue stops taking samples and remembers the time span it did not take (the *gap*). Once
the store has taken everything queued, the sender reads the gap back from the buffer (in
windows of ``catch_up_window_ms``) and sends it, then the queue takes samples again. Samples
go out per series in time order: a sample not newer than the last one sent for its series
is not sent again (catch-up and live samples overlap at the edges, and Prometheus refuses
an older sample with 400). Limits: what the buffer no longer holds (older than its
retention) is lost. With a ``state_file``, a clean stop during an outage saves the gap
(and what could not be sent at shutdown) with each series' newest sent timestamp in it, and
the next start sends it from the buffer (its WAL has been replayed by then); without one, or
after a crash, the gap is lost (samples replayed from the WAL are not delivered to
subscribers).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time

import httpx

from vigil.config.model import RemoteWriteConfig
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType
from vigil.model.relabel import Relabeller
from vigil.remote.codec import (
    CONTENT_ENCODING,
    CONTENT_TYPE,
    PROTOCOL_VERSION,
    compress,
    encode_labels,
    encode_series,
)
from vigil.storage import Storage

__all__ = ["QueueManager"]

log = logging.getLogger(__name__)

Batch = list[tuple[Labels, list[int], list[float]]]


class QueueManager:
    """Queues committed samples and sends them to one endpoint from its own thread.

    ``transport`` replaces httpx's network transport (tests). Counters (samples):
    :attr:`sent`, :attr:`failed` (dropped after a 4xx), :attr:`dropped` (queue full),
    :attr:`retries` (requests retried)."""

    def __init__(self, config: RemoteWriteConfig, *,
                 transport: httpx.BaseTransport | None = None,
                 client: httpx.Client | None = None, buffer: Storage | None = None,
                 buffer_retention_ms: int | None = None,
                 catch_up_window_ms: int = 5 * 60_000, state_file: str | None = None) -> None:
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
        self._client = client or httpx.Client(transport=transport, timeout=config.remote_timeout,
                                              headers={"User-Agent": "vigil-remote-write",
                                                       **config.headers})
        self._client.headers.update({"Content-Encoding": CONTENT_ENCODING,
                                     "Content-Type": CONTENT_TYPE,
                                     "X-Prometheus-Remote-Write-Version": PROTOCOL_VERSION})
        self.sent = self.failed = self.dropped = self.retries = 0
        # Buffer mode (see the module docstring).
        self._buffer = buffer
        self._buffer_retention_ms = buffer_retention_ms
        self._catch_up_window_ms = catch_up_window_ms
        self._state_file = state_file if buffer is not None else None
        self._gap: tuple[int, int] | None = None  # [oldest, newest] timestamp not taken
        self._newest_sent: dict[Labels, int] = {}  # per series; the sender thread's own
        self._pruned_at = time.monotonic()
        self.deferred = 0  # samples left to a catch-up from the buffer instead of queued
        self.caught_up = 0  # samples sent from the buffer after a gap

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
            if self._buffer is not None and (self._gap is not None or room < len(rows)):
                self._defer(rows)
                return
            if room < len(rows):
                self.dropped += len(rows) - max(room, 0)
                rows = rows[:max(room, 0)]
            if not self._queue:
                self._oldest = time.monotonic()
            self._queue.extend(rows)
            if len(self._queue) >= self._max_send:
                self._cond.notify()

    def _defer(self, rows: list[tuple[Labels, int, float]]) -> None:
        """Widen the gap by ``rows`` (in the buffer already). Caller holds the lock."""
        if self._gap is None:
            log.warning("remote write %s: %d samples waiting; taking later ones from the "
                        "local buffer once the endpoint has caught up", self.name, len(self._queue))
        self._widen_gap(min(t for _, t, _ in rows), max(t for _, t, _ in rows))
        self.deferred += len(rows)

    def _widen_gap(self, lo: int, hi: int) -> None:
        self._gap = (lo, hi) if self._gap is None else (min(self._gap[0], lo), max(self._gap[1], hi))

    # ---- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        if self._state_file is not None:
            self._load_state(self._state_file)
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
        if self._gap is not None and self._state_file is not None:
            self._save_state(self._state_file, *self._gap)
        elif self._gap is not None:
            log.warning("remote write %s: samples from %d to %d (ms) were not sent before "
                        "shutdown; they stay in the local buffer only", self.name, *self._gap)
        self._client.close()

    def _save_state(self, path: str, lo: int, hi: int) -> None:
        """The gap, and the newest sent timestamp of each series that may have samples in
        it (the next start must not send those again), written atomically."""
        newest = [[list(lb), t] for lb, t in self._newest_sent.items() if t >= lo]
        try:
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump({"from_ms": lo, "to_ms": hi, "newest_sent": newest}, f)
            os.replace(path + ".tmp", path)
        except OSError as e:
            log.error("remote write %s: cannot save the unsent span %d to %d (ms) to %s: %s",
                      self.name, lo, hi, path, e)
            return
        log.warning("remote write %s: samples from %d to %d (ms) not sent yet; they are sent "
                    "from the local buffer at the next start", self.name, lo, hi)

    def _load_state(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
            lo, hi = int(saved["from_ms"]), int(saved["to_ms"])
            newest = {Labels(tuple(p) for p in pairs): int(t) for pairs, t in saved["newest_sent"]}
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.error("remote write %s: ignoring unreadable %s: %s", self.name, path, e)
            return
        self._newest_sent.update(newest)
        with self._cond:
            self._widen_gap(lo, hi)
        os.remove(path)
        log.info("remote write %s: sending samples from %d to %d (ms), unsent at the last "
                 "stop, from the local buffer", self.name, lo, hi)

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    # ---- sender thread ------------------------------------------------------------------

    def _take(self) -> list[tuple[Labels, int, float]] | tuple[int, int] | None:
        """Wait for a full batch or the deadline; None when stopping and empty. With the
        queue sent and a gap pending: the gap (and the queue takes samples again)."""
        with self._cond:
            while True:
                if not self._queue and self._gap is not None and not self._stopping:
                    gap, self._gap = self._gap, None
                    return gap
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
            if isinstance(rows, tuple):
                self._catch_up(*rows)
            else:
                self._send_rows(rows)
            if time.monotonic() - self._pruned_at > 600:
                self._forget_old_series(int(time.time() * 1000))

    def _send_rows(self, rows: list[tuple[Labels, int, float]]) -> int:
        newest: dict[Labels, int] = {}
        if self._buffer is not None:
            rows, newest = self._newer_only(rows)
        if rows and self._send(self._encode(rows), len(rows),
                               (min(r[1] for r in rows), max(r[1] for r in rows))):
            self._newest_sent.update(newest)
        return len(rows)

    def _newer_only(self, rows: list[tuple[Labels, int, float]],
                    ) -> tuple[list[tuple[Labels, int, float]], dict[Labels, int]]:
        """Each series' samples newer than the last one sent, and the newest of each series
        among them (recorded once the endpoint has taken them)."""
        sent = self._newest_sent
        newest: dict[Labels, int] = {}
        out = []
        for row in rows:
            last = newest.get(row[0])
            if last is None:
                last = sent.get(row[0])
            if last is None or row[1] > last:
                newest[row[0]] = row[1]
                out.append(row)
        return out, newest

    def _catch_up(self, oldest_ms: int, newest_ms: int) -> None:
        """Send the buffer's samples in ``[oldest_ms, newest_ms]``, window by window (each
        series in time order), then forget series older than the buffer keeps."""
        assert self._buffer is not None
        everything = [Matcher(MatchType.REGEX, "__name__", ".+")]
        sent = 0
        start = oldest_ms
        while start <= newest_ms and not self._stopping:
            end = min(start + self._catch_up_window_ms - 1, newest_ms)
            q = self._buffer.querier(start, end)
            try:
                found = q.select(everything)
            finally:
                q.close()
            rows: list[tuple[Labels, int, float]] = []
            for series in found:
                labels = self._relabel.process(series.labels) if self._relabel else series.labels
                if labels is not None:
                    rows.extend(zip([labels] * len(series.timestamps), series.timestamps.tolist(),
                                    series.values.tolist(), strict=True))
                if len(rows) >= self._max_send:
                    sent += self._send_rows(rows)
                    rows = []
            if rows:
                sent += self._send_rows(rows)
            start = end + 1
        self.caught_up += sent
        log.info("remote write %s: sent %d samples from the local buffer (%d to %d ms)",
                 self.name, sent, oldest_ms, newest_ms)
        self._forget_old_series(newest_ms)

    def _forget_old_series(self, now_ms: int) -> None:
        """Series the buffer no longer holds need no "newest sent" (their samples cannot
        come back from it): keeps that map the size of the live series."""
        self._pruned_at = time.monotonic()
        if self._buffer_retention_ms is not None:
            horizon = now_ms - self._buffer_retention_ms
            self._newest_sent = {lb: t for lb, t in self._newest_sent.items() if t >= horizon}

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

    def _send(self, body: bytes, n: int, span: tuple[int, int] | None = None) -> bool:
        """POST one request, retrying as the module docstring says; False when it was left
        unsent at shutdown. ``span``: its oldest and newest timestamp, kept in the gap then
        if the gap is saved (``state_file``)."""
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
                return True
            if status and status < 500 and status != 429:
                log.error("remote write %s: dropping %d samples: HTTP %d: %s", self.name, n,
                          status, reason)
                self.failed += n
                return True
            if self._stopping:
                if self._state_file is not None and span is not None:
                    with self._cond:
                        self._widen_gap(*span)
                    self.deferred += n
                    return False
                log.warning("remote write %s: giving up on %d samples at shutdown: %s",
                            self.name, n, reason or status)
                self.failed += n
                return False
            delay = backoff
            if status == 429 and retry_after and retry_after.isdigit():
                delay = min(float(retry_after), q.max_backoff)
            log.warning("remote write %s: HTTP %s (%s); retrying in %.2fs", self.name,
                        status or "error", reason, delay)
            self.retries += 1
            with self._cond:
                self._cond.wait(delay)
            backoff = min(backoff * 2, q.max_backoff)
