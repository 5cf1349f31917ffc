"""One series in the head: closed, encoded chunks plus an open chunk of numpy arrays.

Samples arrive in the *open chunk*, two ``array.array`` (int64 ms timestamps, float64 values).
When it holds :data:`CHUNK_SAMPLES` samples it is encoded with :mod:`vigil.tsdb.chunkenc` (no
compression: ~1-3 bytes per regular sample instead of 16) into an immutable
:class:`HeadChunk`, and a fresh open chunk starts.

A :meth:`MemSeries.snapshot`, taken under the head lock, copies the open chunk (at most
:data:`CHUNK_SAMPLES` items) and shares the immutable closed chunks, so it can be decoded
after the lock is released. All methods require the head lock.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import NamedTuple

import numpy as np

from vigil.model.labels import Labels
from vigil.tsdb import chunkenc

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1
CHUNK_SAMPLES = 120  # as Prometheus: 2 h at 60 s, 30 min at 15 s


class HeadChunk(NamedTuple):
    mint: int
    maxt: int
    n: int
    data: bytes


class Snapshot(NamedTuple):
    """Immutable view of a series' samples at one moment."""

    chunks: tuple[HeadChunk, ...]
    ts: np.ndarray
    vals: np.ndarray

    def read(self, mint: int = MIN_TIME, maxt: int = MAX_TIME) -> tuple[np.ndarray, np.ndarray]:
        """Fresh arrays with the samples in ``[mint, maxt]``."""
        parts_t, parts_v = [], []
        for c in self.chunks:
            if c.maxt >= mint and c.mint <= maxt:
                t, v = chunkenc.decode(c.data)
                parts_t.append(t)
                parts_v.append(v)
        if len(self.ts) and self.ts[-1] >= mint and self.ts[0] <= maxt:
            parts_t.append(self.ts)
            parts_v.append(self.vals)
        if not parts_t:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        ts = np.concatenate(parts_t)  # always a copy, even of one part
        vals = np.concatenate(parts_v)
        if ts[0] < mint or ts[-1] > maxt:
            lo = int(ts.searchsorted(mint, "left"))
            hi = int(ts.searchsorted(maxt, "right"))
            ts, vals = ts[lo:hi], vals[lo:hi]
        return ts, vals


class MemSeries:
    __slots__ = ("ref", "labels", "chunks", "ts", "vals", "count", "last_ts", "last_val")

    def __init__(self, ref: int, labels: Labels) -> None:
        self.ref = ref
        self.labels = labels
        self.chunks: list[HeadChunk] = []
        # The open chunk: array.array appends are several times cheaper than numpy item
        # assignment and cost 8 bytes per item; snapshots copy them (at most CHUNK_SAMPLES).
        self.ts = array("q")
        self.vals = array("d")
        self.count = 0  # samples in all chunks
        self.last_ts = MIN_TIME
        self.last_val = 0.0

    @property
    def n(self) -> int:
        """Samples in the open chunk."""
        return len(self.ts)

    @property
    def first_ts(self) -> int:
        """Oldest timestamp; only meaningful when ``count > 0``."""
        return self.chunks[0].mint if self.chunks else self.ts[0]

    def _close_chunk(self) -> None:
        ts = np.frombuffer(self.ts, dtype=np.int64)
        vals = np.frombuffer(self.vals, dtype=np.float64)
        self.chunks.append(HeadChunk(self.ts[0], self.ts[-1], len(ts), chunkenc.encode(ts, vals)))
        del ts, vals  # release the buffer exports before dropping the arrays
        self.ts = array("q")
        self.vals = array("d")

    def append_one(self, t: int, v: float) -> None:
        """Append one sample known to be after :attr:`last_ts`."""
        if len(self.ts) >= CHUNK_SAMPLES:
            self._close_chunk()
        self.ts.append(t)
        self.vals.append(v)
        self.count += 1
        self.last_ts = t
        self.last_val = v

    def append_arrays(self, ts: np.ndarray, vals: np.ndarray) -> None:
        """Append samples known to be strictly after :attr:`last_ts`, ascending."""
        k = len(ts)
        ts = np.ascontiguousarray(ts, dtype="<i8")
        vals = np.ascontiguousarray(vals, dtype="<f8")
        i = 0
        while i < k:
            if len(self.ts) >= CHUNK_SAMPLES:
                self._close_chunk()
            take = min(k - i, CHUNK_SAMPLES - len(self.ts))
            self.ts.frombytes(ts[i:i + take].tobytes())
            self.vals.frombytes(vals[i:i + take].tobytes())
            i += take
        if k:
            self.count += k
            self.last_ts = int(ts[-1])
            self.last_val = float(vals[-1])

    def snapshot(self) -> Snapshot:
        return Snapshot(tuple(self.chunks), np.frombuffer(self.ts, dtype=np.int64).copy(),
                        np.frombuffer(self.vals, dtype=np.float64).copy())

    def drop_before(self, t: int) -> None:
        """Remove samples older than ``t``."""
        if self.count == 0 or self.first_ts >= t:
            return
        i = 0
        while i < len(self.chunks) and self.chunks[i].maxt < t:
            i += 1
        chunks = self.chunks[i:]
        if chunks:
            if chunks[0].mint < t:  # the one chunk that straddles t: re-encode its tail
                ts, vals = chunkenc.decode(chunks[0].data)
                keep = ts >= t
                ts, vals = ts[keep], vals[keep]
                chunks[0] = HeadChunk(int(ts[0]), int(ts[-1]), len(ts), chunkenc.encode(ts, vals))
        else:
            j = bisect_left(self.ts, t)
            self.ts = self.ts[j:]
            self.vals = self.vals[j:]
        self.chunks = chunks
        self.count = sum(c.n for c in chunks) + len(self.ts)
