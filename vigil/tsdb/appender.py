"""The head appender: buffers samples, then commits them to the WAL and the head.

Semantics (as Prometheus's head appender):

* :meth:`HeadAppender.append` checks each sample against the newest committed sample of its
  series and against samples already buffered in this appender. Older -> raises
  :class:`~vigil.errors.OutOfOrderSample` ("out of order sample"); same timestamp and
  bit-identical value -> silently ignored; same timestamp, other value -> raises
  :class:`DuplicateSampleForTimestamp` ("duplicate sample for timestamp"); older than the
  head's minimum valid time (already cut into a block) -> :class:`~vigil.errors.OutOfBounds`.
  A rejected sample does not spoil the batch: the others still commit.
* :meth:`HeadAppender.commit` writes one WAL batch (a series record for new series, then a
  samples record) and applies it to the head, under the head lock; then applies the fsync
  policy. Samples that another appender made out of order meanwhile are dropped silently.
* An appender is single-use and not thread-safe; make one per writer and batch.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import numpy as np

from vigil.errors import DuplicateSampleForTimestamp, OutOfBounds, OutOfOrderSample, StorageError
from vigil.model.labels import Labels
from vigil.tsdb import _records
from vigil.tsdb.head import Head, MemSeries

if TYPE_CHECKING:
    from vigil.tsdb.wal import WAL

_D = struct.Struct("<d")


def _same_bits(a: float, b: float) -> bool:
    return _D.pack(a) == _D.pack(b)


class HeadAppender:
    def __init__(self, head: Head, wal: WAL) -> None:
        self._head = head
        self._wal = wal
        # labels -> (series if it existed at append time, [timestamps], [values]); the lists
        # are ascending by construction.
        self._pending: dict[Labels, tuple[MemSeries | None, list[int], list[float]]] = {}
        self._done = False

    def append(self, labels: Labels, ts_ms: int, value: float) -> None:
        if self._done:
            raise StorageError("appender already committed or rolled back")
        if not labels:
            raise StorageError("empty labelset")
        ts_ms = int(ts_ms)
        value = float(value)
        buf = self._pending.get(labels)
        if buf is not None:
            s = buf[0]
            last_ts, last_val = buf[1][-1], buf[2][-1]
        else:
            # Unlocked read of two attributes: at worst stale, and commit re-checks.
            s = self._head.by_labels.get(labels)
            last_ts, last_val = (s.last_ts, s.last_val) if s is not None else (None, 0.0)
        if ts_ms < self._head.min_valid_time:
            raise OutOfBounds(f"out of bounds: {labels} @ {ts_ms}")
        if last_ts is not None and ts_ms <= last_ts:
            if ts_ms < last_ts:
                raise OutOfOrderSample(
                    f"out of order sample: {labels} @ {ts_ms} is older than {last_ts}")
            if _same_bits(value, last_val):
                return
            raise DuplicateSampleForTimestamp(
                f"duplicate sample for timestamp: {labels} @ {ts_ms}")
        if buf is None:
            self._pending[labels] = (s, [ts_ms], [value])
        else:
            buf[1].append(ts_ms)
            buf[2].append(value)

    def rollback(self) -> None:
        self._pending = {}
        self._done = True

    def commit(self) -> None:
        """Log and apply the batch. Raises :class:`StorageError` if the WAL write fails, in
        which case nothing of the batch is visible."""
        if self._done:
            raise StorageError("appender already committed or rolled back")
        self._done = True
        pending, self._pending = self._pending, {}
        if not pending:
            return
        head = self._head
        with head.lock:
            mvt = head.min_valid_time
            new: list[MemSeries] = []
            work: list[tuple[MemSeries, list[int], list[float]]] = []
            refs: list[int] = []
            all_ts: list[int] = []
            all_vals: list[float] = []
            series = head.series
            for labels, (s, tsl, vl) in pending.items():
                if s is None or series.get(s.ref) is not s:  # new, or collected meanwhile
                    s = head.by_labels.get(labels)
                    if s is None:
                        s = head.create_series(labels)
                        new.append(s)
                if tsl[0] <= s.last_ts or tsl[0] < mvt:
                    # Another appender got there first, or a block was cut meanwhile.
                    floor = max(s.last_ts + 1, mvt)
                    kept = [(t, v) for t, v in zip(tsl, vl, strict=True) if t >= floor]
                    if not kept:
                        continue
                    tsl = [t for t, _ in kept]
                    vl = [v for _, v in kept]
                work.append((s, tsl, vl))
                if len(tsl) == 1:
                    refs.append(s.ref)
                    all_ts.append(tsl[0])
                    all_vals.append(vl[0])
                else:
                    refs.extend([s.ref] * len(tsl))
                    all_ts.extend(tsl)
                    all_vals.extend(vl)
            if not refs:
                if new:
                    head.remove_series(new)
                return
            payloads = []
            if new:
                payloads.append(_records.encode_series((s.ref, s.labels) for s in new))
            ts_arr = np.array(all_ts, dtype=np.int64)
            payloads.append(_records.encode_samples(
                np.array(refs, dtype=np.uint64), ts_arr, np.array(all_vals, dtype=np.float64)))
            try:
                self._wal.log(payloads)
            except StorageError:  # WAL closed
                head.remove_series(new)
                raise
            except OSError as e:
                head.remove_series(new)
                raise StorageError(f"{self._wal.path}: writing WAL: {e}") from e
            for s, tsl, vl in work:
                if len(tsl) == 1:
                    s.append_one(tsl[0], vl[0])
                else:
                    s.append_arrays(np.array(tsl, dtype=np.int64),
                                    np.array(vl, dtype=np.float64))
            head.note_appended(len(refs), int(ts_arr.min()), int(ts_arr.max()))
        self._wal.sync_after_commit()
