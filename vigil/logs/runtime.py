"""Logs in a running Vigil: the log store opened from the ``logs:`` section, its timer (WAL
sync, retention), the syslog listeners and file tailers, and the LogQL engine the HTTP API
answers with, and the hub live tails subscribe to (every append path stores through
:class:`~vigil.logs.live.PublishingAppender`). :class:`vigil.app.App` owns one;
:mod:`vigil.web.logs_api` and :mod:`vigil.web.logs_ingest_api` use it.

Lifecycle: construct (opens the store; raises StorageError if it cannot), ``await start()``
from the running loop (binds the listeners: a taken port fails the start), ``run()`` as a
task until cancelled (the timer and the tailers), ``await stop()`` (listeners drained), then
``close()`` (tailers, store).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence

from vigil.config.logs import LogsConfig, split_address
from vigil.logs.ingest import FileTailer, SyslogListener
from vigil.logs.live import PublishingAppender, TailHub
from vigil.logs.logql import LogQLEngine
from vigil.logs.model import LogAppender, LogEntry
from vigil.logs.secrets import DetectedFunc, SecretDetector, SecretMaskingAppender
from vigil.logs.store import LogStore, Options
from vigil.model.labels import Labels

__all__ = ["LogsRuntime"]

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 60.0  # chunks past retention are also deleted when the head is cut
TAIL_EVERY_S = 1.0


class LogsRuntime:
    """``store_path`` is where the store lives (``<data-dir>/logs`` unless configured);
    ``state_dir`` holds the tailers' position files; ``resolve`` makes a configured file path
    absolute against the config file's directory. ``secrets`` (None: ``logs.secrets`` is off)
    masks secrets in every entry before it is stored or shown live; ``on_secret`` counts them."""

    def __init__(self, config: LogsConfig, *, store_path: str, state_dir: str,
                 resolve: Callable[[str], str] = os.path.abspath,
                 clock: Callable[[], int] = time.time_ns,
                 secrets: SecretDetector | None = None,
                 on_secret: DetectedFunc | None = None) -> None:
        self.config = config
        self.clock = clock
        self.store = LogStore.open(store_path, Options(
            retention_s=config.retention_time, max_bytes=config.retention_size,
            fsync=config.wal_fsync,  # type: ignore[arg-type]  # checked by the config
            fsync_interval_s=config.wal_fsync_interval, zstd_level=config.compression_level))
        self.engine = LogQLEngine(self.store)
        self.tail_hub = TailHub()
        self.appender: LogAppender = PublishingAppender(self.store, self.tail_hub)
        if secrets is not None:  # masked first: neither the store nor a live tail sees one
            self.appender = SecretMaskingAppender(self.appender, secrets, on_secret)
        self.syslog = SyslogListener(self.appender, labels=Labels(config.syslog.labels),
                                     clock=clock)
        os.makedirs(state_dir, exist_ok=True)
        self.tailers = []
        for f in config.files:
            path = resolve(f.path)
            state = os.path.join(state_dir, hashlib.sha256(path.encode()).hexdigest()[:16] + ".json")
            self.tailers.append(FileTailer(path, self.appender, state_path=state,
                                           labels=Labels(f.labels), clock=clock))
        self._source_labels = {name: Labels(getattr(config.labels, name))
                               for name in ("loki", "elasticsearch", "jsonl", "otlp")}
        self.syslog_ports: dict[str, int] = {}  # "tcp:<address>" → bound port

    # ---- ingest ----------------------------------------------------------------------------

    def append(self, source: str, entries: Sequence[LogEntry]) -> int:
        """Store what an HTTP source decoded, with the source's configured labels filling in
        what an entry's stream lacks. Raises StorageError (nothing stored)."""
        extra = self._source_labels.get(source)
        if extra:
            merged: dict[Labels, Labels] = {}
            out = []
            for e in entries:
                labels = merged.get(e.labels)
                if labels is None:
                    labels = extra.merge(dict(e.labels))
                    # A stream that already has the source's labels keeps its entries as they are.
                    labels = merged[e.labels] = e.labels if labels == e.labels else labels
                out.append(e if labels is e.labels else
                           LogEntry(e.ts_ns, labels, e.line, e.level, e.fields))
            entries = out
        return self.appender.append(entries)

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the syslog listeners (none unless configured)."""
        for address in self.config.syslog.tcp:
            host, port = split_address(address)
            self.syslog_ports[f"tcp:{address}"] = await self.syslog.start_tcp(host, port)
        for address in self.config.syslog.udp:
            host, port = split_address(address)
            self.syslog_ports[f"udp:{address}"] = await self.syslog.start_udp(host, port)
        if self.syslog_ports:
            log.info("syslog listening on %s", ", ".join(
                f"{k.split(':', 1)[0]} port {p}" for k, p in self.syslog_ports.items()))

    async def run(self) -> None:
        """Until cancelled: tail the files, fsync the WAL when due, apply retention."""
        last_retention = time.monotonic()
        while True:
            for tailer in self.tailers:
                try:
                    await asyncio.to_thread(tailer.poll)
                except OSError as e:  # unreadable now; the next round tries again
                    log.warning("tailing %s: %s", tailer.path, e)
            await asyncio.to_thread(self.store.sync_if_due)
            if time.monotonic() - last_retention >= RETENTION_EVERY_S:
                last_retention = time.monotonic()
                await asyncio.to_thread(self.store.apply_retention)
            await asyncio.sleep(min(TAIL_EVERY_S, self.config.wal_fsync_interval))

    async def stop(self) -> None:
        """Close the listeners after storing what they had queued."""
        await self.syslog.close()

    def close(self) -> None:
        for tailer in self.tailers:
            tailer.close()
        self.store.close()
