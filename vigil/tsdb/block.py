"""Immutable on-disk blocks: one directory per time range, written once, read many times.

Layout of ``<db>/blocks/<ULID>/`` (see ``docs/tsdb-format.md`` for the byte-level format):

* ``meta.json``: ulid, ``minTime`` (inclusive) and ``maxTime`` (exclusive) in ms, stats.
* ``chunks``: compressed pages; each page is ``u32 length, u32 crc32, zlib(data)`` and its
  data is the concatenation of several series' chunks (:mod:`vigil.tsdb.chunkenc`).
* ``index``: zlib-compressed symbol table, page table and series table (labels as symbol
  ids, time range, sample count, page number, offset and length of the chunk in the page).

A block is written to ``<ULID>.tmp`` and renamed into place, so a crash leaves either no
block or a whole one; a block being deleted is first renamed back to ``<ULID>.tmp``.
:class:`Block` loads the index into memory and reads pages on demand
with ``os.pread`` through a small cache. Thread-safe.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import struct
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from vigil.errors import StorageError
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.storage.interface import SeriesSet
from vigil.tsdb import chunkenc
from vigil.tsdb.head import SeriesData, assemble_series_set
from vigil.tsdb.index import PostingsIndex
from vigil.tsdb.wal import fsync_dir

INDEX_MAGIC = b"VGIX"
FORMAT_VERSION = 1
PAGE_TARGET_BYTES = 256 << 10
_PAGE_HEAD = struct.Struct("<II")
_U32 = struct.Struct("<I")
_PAGE_ENTRY = struct.Struct("<QI")
_SERIES_TAIL = struct.Struct("<qqIIII")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now_ms: int | None = None) -> str:
    """A ULID: 48-bit ms timestamp + 80 random bits in Crockford base32 (sorts by time)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def write_block(blocks_dir: str, series: Sequence[SeriesData], max_time_ms: int,
                sources: Sequence[str] = ()) -> str:
    """Write ``series`` (sorted by labels, non-empty) as a new block whose range ends at
    ``max_time_ms`` (exclusive); returns the block directory. Durable when it returns.
    ``sources``: ULIDs of the blocks this one replaces (compaction), recorded in meta.json
    so that an open after a crash can finish deleting them. Raises :class:`StorageError`
    naming the block and the OS's reason (a full disk) if it cannot be written; then
    nothing of it is left."""
    final = os.path.join(blocks_dir, new_ulid())
    tmp = final + ".tmp"
    try:
        _write_block_dir(tmp, series, max_time_ms, sources)
        os.replace(tmp, final)
    except BaseException as e:
        # A full disk must not leave a partial block holding the space it has left.
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise StorageError(f"{final}: cannot write block: {e.strerror or e}") from e
        raise
    try:
        fsync_dir(blocks_dir)
    except OSError as e:
        shutil.rmtree(final, ignore_errors=True)
        raise StorageError(f"{final}: cannot write block: {e.strerror or e}") from e
    return final


def _write_block_dir(tmp: str, series: Sequence[SeriesData], max_time_ms: int,
                     sources: Sequence[str]) -> None:
    ulid = os.path.basename(tmp).removesuffix(".tmp")
    os.makedirs(tmp)
    symbols = sorted({s for d in series for pair in d.labels for s in pair})
    sym_id = {s: i for i, s in enumerate(symbols)}
    pages: list[tuple[int, int]] = []
    entries: list[bytes] = []
    page_buf: list[bytes] = []
    page_len = 0
    offset = 0
    mint, num_samples = max_time_ms, 0

    with open(os.path.join(tmp, "chunks"), "wb") as f:
        def flush() -> None:
            nonlocal page_buf, page_len, offset
            data = zlib.compress(b"".join(page_buf), 6)
            f.write(_PAGE_HEAD.pack(len(data), zlib.crc32(data)))
            f.write(data)
            pages.append((offset, len(data)))
            offset += _PAGE_HEAD.size + len(data)
            page_buf, page_len = [], 0

        chunks = chunkenc.encode_many([(d.timestamps, d.values) for d in series])
        for d, chunk in zip(series, chunks, strict=True):
            ids = [sym_id[s] for pair in d.labels for s in pair]
            entries.append(
                struct.pack(f"<H{len(ids)}I", len(d.labels), *ids)
                + _SERIES_TAIL.pack(int(d.timestamps[0]), int(d.timestamps[-1]),
                                    len(d.timestamps), len(pages), page_len, len(chunk)))
            page_buf.append(chunk)
            page_len += len(chunk)
            mint = min(mint, int(d.timestamps[0]))
            num_samples += len(d.timestamps)
            if page_len >= PAGE_TARGET_BYTES:
                flush()
        if page_buf:
            flush()
        f.flush()
        os.fsync(f.fileno())

    index = [INDEX_MAGIC, bytes([FORMAT_VERSION]), _U32.pack(len(symbols))]
    for s in symbols:
        b = s.encode()
        index += [_U32.pack(len(b)), b]
    index.append(_U32.pack(len(pages)))
    index += [_PAGE_ENTRY.pack(o, n) for o, n in pages]
    index.append(_U32.pack(len(entries)))
    index += entries
    _write_file(os.path.join(tmp, "index"), zlib.compress(b"".join(index), 6))
    meta = {
        "ulid": ulid, "version": FORMAT_VERSION, "minTime": mint, "maxTime": max_time_ms,
        "compression": "zlib",
        "stats": {"numSeries": len(series), "numSamples": num_samples},
    }
    if sources:
        meta["compaction"] = {"sources": list(sources)}
    _write_file(os.path.join(tmp, "meta.json"), json.dumps(meta, indent=2).encode())
    fsync_dir(tmp)


def _write_file(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class _Entry:
    __slots__ = ("labels", "mint", "maxt", "n", "page", "off", "length")

    def __init__(self, labels: Labels, tail: tuple[int, int, int, int, int, int]) -> None:
        self.labels = labels
        self.mint, self.maxt, self.n, self.page, self.off, self.length = tail


class Block:
    """A loaded block. Queriers :meth:`acquire` it while reading; :meth:`delete` removes the
    directory at once and closes the chunk file when the last reader releases."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(os.path.join(path, "meta.json"), "rb") as f:
                self.meta = json.load(f)
            self.ulid: str = self.meta["ulid"]
            self.min_time: int = self.meta["minTime"]
            self.max_time: int = self.meta["maxTime"]
            with open(os.path.join(path, "index"), "rb") as f:
                self._load_index(zlib.decompress(f.read()))
        except (OSError, ValueError, KeyError, struct.error, zlib.error) as e:
            raise StorageError(f"{path}: cannot load block: {e}") from e
        try:
            self._fd = os.open(os.path.join(path, "chunks"), os.O_RDONLY)
        except OSError as e:
            raise StorageError(f"{path}: cannot load block: {e}") from e
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._refs = 0
        self._deleted = False

    def _load_index(self, buf: bytes) -> None:
        if buf[:4] != INDEX_MAGIC or buf[4] != FORMAT_VERSION:
            raise ValueError("bad index magic or version")
        pos = 5
        (nsym,) = _U32.unpack_from(buf, pos)
        pos += 4
        symbols = []
        for _ in range(nsym):
            (ln,) = _U32.unpack_from(buf, pos)
            symbols.append(buf[pos + 4:pos + 4 + ln].decode())
            pos += 4 + ln
        (npages,) = _U32.unpack_from(buf, pos)
        pos += 4
        self._pages = [_PAGE_ENTRY.unpack_from(buf, pos + i * _PAGE_ENTRY.size)
                       for i in range(npages)]
        pos += npages * _PAGE_ENTRY.size
        (nseries,) = _U32.unpack_from(buf, pos)
        pos += 4
        self._entries: list[_Entry] = []
        self.index = PostingsIndex()
        for i in range(nseries):
            (nl,) = struct.unpack_from("<H", buf, pos)
            ids = struct.unpack_from(f"<{2 * nl}I", buf, pos + 2)
            pos += 2 + 8 * nl
            tail = _SERIES_TAIL.unpack_from(buf, pos)
            pos += _SERIES_TAIL.size
            # Pairs were written sorted, so build the tuple directly.
            labels = tuple.__new__(Labels, ((symbols[ids[j]], symbols[ids[j + 1]])
                                            for j in range(0, 2 * nl, 2)))
            self._entries.append(_Entry(labels, tail))
            self.index.add(i, labels)
        self.num_samples = sum(e.n for e in self._entries)

    @property
    def num_series(self) -> int:
        return len(self._entries)

    def _page(self, i: int) -> bytes:
        with self._lock:
            data = self._cache.get(i)
            if data is not None:
                self._cache.move_to_end(i)
                return data
        offset, length = self._pages[i]
        raw = os.pread(self._fd, _PAGE_HEAD.size + length, offset)
        clen, crc = _PAGE_HEAD.unpack_from(raw, 0)
        body = raw[_PAGE_HEAD.size:]
        if clen != length or zlib.crc32(body) != crc:
            raise StorageError(f"{self.path}/chunks: corrupt page at offset {offset}")
        data = zlib.decompress(body)
        with self._lock:
            self._cache[i] = data
            while len(self._cache) > 16:
                self._cache.popitem(last=False)
        return data

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[SeriesData]:
        out = []
        for i in self.index.select(matchers):
            e = self._entries[i]
            if e.maxt < mint or e.mint > maxt:
                continue
            page = self._page(e.page)
            ts, vals = chunkenc.decode(page[e.off:e.off + e.length])
            if mint > e.mint or maxt < e.maxt:
                lo = int(ts.searchsorted(mint, "left"))
                hi = int(ts.searchsorted(maxt, "right"))
                ts, vals = ts[lo:hi], vals[lo:hi]
            if len(ts):
                out.append(SeriesData(e.labels, ts, vals))
        return out

    def select_set(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        """Like :meth:`select`, as one :class:`SeriesSet` in index order; all chunks are
        decoded together."""
        labels: list[Labels] = []
        bufs: list[bytes] = []
        for i in sorted(self.index.select(matchers)):  # entries are in label order
            e = self._entries[i]
            if e.maxt < mint or e.mint > maxt:
                continue
            page = self._page(e.page)
            labels.append(e.labels)
            bufs.append(page[e.off:e.off + e.length])
        ts, vals, counts = chunkenc.decode_many(bufs)
        sid = np.repeat(np.arange(len(labels), dtype=np.int64), counts)
        return assemble_series_set(labels, sid, ts, vals, mint, maxt)

    def label_names(self, matchers: Sequence[Matcher]) -> set[str]:
        return self.index.label_names(self.index.select(matchers) if matchers else None)

    def label_values(self, name: str, matchers: Sequence[Matcher]) -> set[str]:
        return self.index.label_values(name, self.index.select(matchers) if matchers else None)

    def size_bytes(self) -> int:
        total = 0
        for name in ("chunks", "index", "meta.json"):
            try:
                total += os.path.getsize(os.path.join(self.path, name))
            except FileNotFoundError:
                pass
        return total

    def acquire(self) -> None:
        with self._lock:
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            close = self._deleted and self._refs == 0
        if close:
            self._close_fd()

    def delete(self) -> None:
        """Remove the directory now; the open chunk file stays readable for current readers."""
        # Renamed aside first: a kill halfway through the removal must leave a name that
        # the next open deletes, not a block missing files that it reports as corrupted.
        doomed = self.path + ".tmp"
        try:
            os.rename(self.path, doomed)
        except OSError:
            doomed = self.path
        shutil.rmtree(doomed, ignore_errors=True)
        with self._lock:
            self._deleted = True
            close = self._refs == 0
        if close:
            self._close_fd()

    def close(self) -> None:
        self._close_fd()

    def _close_fd(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
