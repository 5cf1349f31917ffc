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
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from vigil.errors import StorageError
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.storage.framing import fsync_dir
from vigil.storage.interface import SeriesSet
from vigil.tsdb import block_index, chunkenc
from vigil.tsdb.head import SeriesData, assemble_series_set
from vigil.tsdb.labels_pool import LabelsPool

PAGE_TARGET_BYTES = 256 << 10
_PAGE_HEAD = struct.Struct("<II")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now_ms: int | None = None) -> str:
    """A ULID: 48-bit ms timestamp + 80 random bits in Crockford base32 (sorts by time)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def write_block(blocks_dir: str, series: Iterable[SeriesData], max_time_ms: int,
                sources: Sequence[str] = ()) -> str:
    """Write ``series`` (sorted by labels, each with samples) as a new block whose range
    ends at ``max_time_ms`` (exclusive); returns the block directory. Durable when it
    returns. ``series`` may be a generator: it is consumed in batches, so a caller that
    produces series a batch at a time never holds more than a batch's samples.
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


# Series encoded together: enough for encode_many's row batching to pay, few enough
# samples that its temporary 2-D arrays stay at tens of MB whatever the series' length.
_ENCODE_BATCH_SERIES = 4096
_ENCODE_BATCH_SAMPLES = 500_000


def _batches(series: Iterable[SeriesData]) -> Iterator[list[SeriesData]]:
    batch: list[SeriesData] = []
    samples = 0
    for d in series:
        batch.append(d)
        samples += len(d.timestamps)
        if len(batch) >= _ENCODE_BATCH_SERIES or samples >= _ENCODE_BATCH_SAMPLES:
            yield batch
            batch, samples = [], 0
    if batch:
        yield batch


def _write_block_dir(tmp: str, series: Iterable[SeriesData], max_time_ms: int,
                     sources: Sequence[str]) -> None:
    ulid = os.path.basename(tmp).removesuffix(".tmp")
    os.makedirs(tmp)
    labels: list[Labels] = []
    cols: list[tuple[int, int, int, int, int, int]] = []  # mint, maxt, n, page, offset, length
    pages: list[tuple[int, int]] = []
    page_buf: list[bytes] = []
    page_len = 0
    offset = 0

    with open(os.path.join(tmp, "chunks"), "wb") as f:
        def flush() -> None:
            nonlocal page_buf, page_len, offset
            data = zlib.compress(b"".join(page_buf), 6)
            f.write(_PAGE_HEAD.pack(len(data), zlib.crc32(data)))
            f.write(data)
            pages.append((offset, len(data)))
            offset += _PAGE_HEAD.size + len(data)
            page_buf, page_len = [], 0

        for batch in _batches(series):
            chunks = chunkenc.encode_many([(d.timestamps, d.values) for d in batch])
            for d, chunk in zip(batch, chunks, strict=True):
                labels.append(d.labels)
                cols.append((int(d.timestamps[0]), int(d.timestamps[-1]), len(d.timestamps),
                             len(pages), page_len, len(chunk)))
                page_buf.append(chunk)
                page_len += len(chunk)
                if page_len >= PAGE_TARGET_BYTES:
                    flush()
        if page_buf:
            flush()
        f.flush()
        os.fsync(f.fileno())

    columns = block_index.SeriesColumns.of(cols)
    index = block_index.encode(labels, columns, pages)
    _write_file(os.path.join(tmp, "index"), zlib.compress(index, 6))
    meta = {
        "ulid": ulid, "version": block_index.FORMAT_VERSION,
        "minTime": int(columns.mint.min()) if labels else max_time_ms,
        "maxTime": max_time_ms, "compression": "zlib",
        "stats": {"numSeries": len(labels), "numSamples": int(columns.count.sum())},
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


class Block:
    """A loaded block. Queriers :meth:`acquire` it while reading; :meth:`delete` removes the
    directory at once and closes the chunk file when the last reader releases."""

    def __init__(self, path: str, pool: LabelsPool | None = None) -> None:
        """``pool``: where the series' labels are shared with the head and other blocks."""
        self.path = path
        try:
            with open(os.path.join(path, "meta.json"), "rb") as f:
                self.meta = json.load(f)
            self.ulid: str = self.meta["ulid"]
            self.min_time: int = self.meta["minTime"]
            self.max_time: int = self.meta["maxTime"]
            with open(os.path.join(path, "index"), "rb") as f:
                self.index = block_index.BlockIndex(zlib.decompress(f.read()),
                                                    LabelsPool() if pool is None else pool)
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

    @property
    def num_series(self) -> int:
        return len(self.index)

    @property
    def num_samples(self) -> int:
        return self.index.num_samples

    @property
    def series_labels(self) -> list[Labels]:
        """Every series' labels, in label order."""
        return self.index.labels

    def _page(self, i: int) -> bytes:
        with self._lock:
            data = self._cache.get(i)
            if data is not None:
                self._cache.move_to_end(i)
                return data
        offset, length = int(self.index.page_offset[i]), int(self.index.page_length[i])
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

    def _chunks(self, matchers: Sequence[Matcher], mint: int,
                maxt: int) -> tuple[list[Labels], list[bytes]]:
        """Labels and encoded chunk of each series matching and overlapping [mint, maxt], in
        label order."""
        idx = self.index
        refs = idx.select(matchers)
        return self._chunks_at(refs[(idx.maxt[refs] >= mint) & (idx.mint[refs] <= maxt)])

    def _chunks_at(self, refs: np.ndarray) -> tuple[list[Labels], list[bytes]]:
        idx = self.index
        labels = idx.labels
        out_labels: list[Labels] = []
        bufs: list[bytes] = []
        for i, p, off, ln in zip(refs.tolist(), idx.page[refs].tolist(),
                                 idx.offset[refs].tolist(), idx.length[refs].tolist(),
                                 strict=True):
            out_labels.append(labels[i])
            bufs.append(self._page(p)[off:off + ln])
        return out_labels, bufs

    def select_set(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        """The samples in ``[mint, maxt]`` of the series matching ``matchers``, as one
        :class:`SeriesSet` in label order; all chunks are decoded together."""
        labels, bufs = self._chunks(matchers, mint, maxt)
        ts, vals, counts = chunkenc.decode_many(bufs)
        sid = np.repeat(np.arange(len(labels), dtype=np.int64), counts)
        return assemble_series_set(labels, sid, ts, vals, mint, maxt)

    def read_positions(self, lo: int, hi: int) -> SeriesSet:
        """All samples of the series at positions ``lo`` to ``hi`` (exclusive) of
        :attr:`series_labels`: compaction reads a block a slice of series at a time."""
        labels, bufs = self._chunks_at(np.arange(lo, hi))
        ts, vals, counts = chunkenc.decode_many(bufs)
        return SeriesSet.from_counts(labels, counts, ts, vals)

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
