"""The syslog listeners: TCP (octet-counted or newline framing, per frame) and UDP (one
message a datagram), as asyncio servers writing through a :class:`LogAppender`.

Connections and datagrams put entries on one bounded queue; one writer task drains it and
appends in batches from a worker thread (the appender syncs to disk and blocks), so a slow disk
slows the TCP readers down instead of growing memory. UDP has no back-pressure: datagrams
that find the queue full are counted as ``dropped``. A bad message is reported to
``on_error`` with the peer and its byte offset in the connection and never stops the
connection. Syslog has no acknowledgement: an entry is durable once the writer's ``append``
returned, which :meth:`SyslogListener.flush` waits for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from vigil.errors import StorageError
from vigil.logs.ingest.common import LineError
from vigil.logs.ingest.syslog import StreamFramer, parse_syslog, syslog_entry
from vigil.logs.model import LogAppender, LogEntry
from vigil.model.labels import Labels

__all__ = ["ListenerStats", "SyslogListener"]

log = logging.getLogger(__name__)

ErrorHandler = Callable[[str, LineError], None]


def _log_error(peer: str, error: LineError) -> None:
    log.warning("syslog from %s: %s", peer, error)


@dataclass
class ListenerStats:
    received: int = 0  # messages read (good and bad)
    stored: int = 0
    errors: int = 0  # bad messages and framing errors
    dropped: int = 0  # good messages not stored: UDP queue full or the appender failed


class SyslogListener:
    """Owns its servers and writer task; start them with :meth:`start_tcp` /
    :meth:`start_udp` from a running loop and stop them with :meth:`close`."""

    def __init__(self, appender: LogAppender, *, labels: Labels = Labels({"job": "syslog"}),
                 tz_offset_s: int = 0, max_frame: int = 1 << 20, queue_size: int = 10_000,
                 batch_size: int = 1_000, on_error: ErrorHandler = _log_error,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.appender = appender
        self.labels = labels
        self.tz_offset_s = tz_offset_s
        self.max_frame = max_frame
        self.batch_size = batch_size
        self.on_error = on_error
        self.clock = clock
        self.stats = ListenerStats()
        self._queue: asyncio.Queue[LogEntry] = asyncio.Queue(queue_size)
        self._writer: asyncio.Task[None] | None = None
        self._servers: list[asyncio.Server] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._idle = asyncio.Event()
        self._idle.set()

    def _ensure_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listens on ``host:port`` (0: any free port); returns the bound port."""
        self._ensure_writer()
        server = await asyncio.start_server(self._serve_connection, host, port)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def start_udp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._ensure_writer()
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _DatagramProtocol(self), local_addr=(host, port))
        self._transports.append(transport)
        return int(transport.get_extra_info("sockname")[1])

    def _decode(self, peer: str, offset: int, frame: bytes) -> LogEntry | None:
        self.stats.received += 1
        try:
            message = parse_syslog(frame, received_ns=self.clock(), tz_offset_s=self.tz_offset_s)
        except ValueError as e:
            self._error(peer, LineError(0, offset, "", str(e)))
            return None
        return syslog_entry(message, self.labels)

    def _error(self, peer: str, error: LineError) -> None:
        self.stats.errors += 1
        self.on_error(peer, error)

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        peer = f"tcp:{address[0]}:{address[1]}" if address else "tcp"
        framer = StreamFramer(self.max_frame)
        try:
            while data := await reader.read(1 << 16):
                frames, errors = framer.feed(data)
                for error in errors:
                    self._error(peer, error)
                await self._enqueue(peer, frames)
            frames, errors = framer.close()
            for error in errors:
                self._error(peer, error)
            await self._enqueue(peer, frames)
        except ConnectionError as e:
            log.info("syslog connection %s ended: %s", peer, e)
        finally:
            writer.close()

    async def _enqueue(self, peer: str, frames: list[tuple[int, bytes]]) -> None:
        queue = self._queue
        for offset, frame in frames:
            entry = self._decode(peer, offset, frame)
            if entry is None:
                continue
            self._idle.clear()  # set again by the writer once the queue is drained
            if queue.full():  # back-pressure: this connection waits for the writer
                await queue.put(entry)
            else:
                queue.put_nowait(entry)

    def _datagram(self, data: bytes, address: tuple[str, int]) -> None:
        entry = self._decode(f"udp:{address[0]}:{address[1]}", 0, data)
        if entry is None:
            return
        try:
            self._queue.put_nowait(entry)
            self._idle.clear()
        except asyncio.QueueFull:
            self.stats.dropped += 1

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                self.stats.stored += await asyncio.to_thread(self.appender.append, batch)
            except StorageError as e:
                self.stats.dropped += len(batch)
                log.error("syslog: %d messages not stored: %s", len(batch), e)
            if self._queue.empty():
                self._idle.set()

    async def flush(self) -> None:
        """Returns once everything queued so far has been appended (or dropped)."""
        await self._idle.wait()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()
        for transport in self._transports:
            transport.close()
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.listener._datagram(data, addr)
