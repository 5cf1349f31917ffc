"""The head appender: buffers samples, then commits them to the WAL and the head.

Semantics (as Prometheus's head appender):

* :meth:`HeadAppender.append` checks each sample against the newest committed sample of its
  series and against samples already buffered in this appender. Older -> raises
  :class:`~vigil.errors.OutOfOrderSample` ("out of order sample"); same timestamp and
  bit-identical value -> silently ignored; same timestamp, other value -> raises
  :class:`DuplicateSampleForTimestamp` ("duplicate sample for timestamp"); older than the
  head's minimum valid time (already cut into a block) -> :class:`~vigil.errors.OutOfBounds`.
  With an out-of-order window (``Head.ooo_window_ms`` > 0), an older sample is accepted if
  it is not older than the head's newest sample minus the window, and kept apart
  (:mod:`vigil.tsdb.head`); an older one raises ``OutOfBounds`` ("too old sample").
  A rejected sample does not spoil the batch: the others still commit.
* :meth:`HeadAppender.commit` writes one WAL batch (a series record for new series, then a
  samples record) and applies it to the head, under the head lock; then applies the fsync
  policy. Samples that another appender made out of order meanwhile are dropped silently.
* An appender is single-use and not thread-safe; make one per writer and batch.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from vigil.errors import DuplicateSampleForTimestamp, OutOfBounds, OutOfOrderSample, StorageError
from vigil.model.labels import Labels
from vigil.tsdb import _records
from vigil.tsdb.head import Head, MemSeries

if TYPE_CHECKING:
    from vigil.tsdb.wal import WAL

_D = struct.Struct("<d")
log = logging.getLogger(__name__)

# A committed batch as delivered to DB.subscribe listeners: (labels, timestamps ms, values).
CommitListener = Callable[[list[tuple[Labels, list[int], list[float]]]], None]


def _same_bits(a: float, b: float) -> bool:
    return _D.pack(a) == _D.pack(b)


def _repeats(labels: Sequence[Labels], series: Sequence[MemSeries | None]) -> bool:
    """Whether a series occurs twice. Known series compare by identity (cheap int hashes;
    equal labels map to one MemSeries); only new ones need hashing their labels."""
    ids = set(map(id, series))  # C-level loops: this runs for every remote-write request
    fresh = series.count(None)
    if fresh == 0:
        return len(ids) != len(series)
    new_labels = {lb for lb, s in zip(labels, series, strict=True) if s is None}
    return len(ids) - 1 + len(new_labels) != len(series)


class HeadAppender:
    def __init__(self, head: Head, wal: WAL, listeners: Sequence[CommitListener] = ()) -> None:
        self._head = head
        self._wal = wal
        self._listeners = listeners
        # labels -> (series if it existed at append time, [timestamps], [values]); the lists
        # are ascending by construction.
        self._pending: dict[Labels, tuple[MemSeries | None, list[int], list[float]]] = {}
        # Set by append_columns: (labels, series at append time, timestamps, values).
        self._cols: tuple[list[Labels], list[MemSeries | None], list[int], list[float]] | None = None
        # Samples accepted by the out-of-order window: labels -> {timestamp: value}.
        self._ooo: dict[Labels, dict[int, float]] = {}
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
        head = self._head
        too_old = ts_ms < head.min_valid_time
        if too_old or (last_ts is not None and ts_ms < last_ts):
            if head.ooo_window_ms:
                if ts_ms < head.maxt - head.ooo_window_ms:
                    raise OutOfBounds(f"too old sample: {labels} @ {ts_ms} is older than the "
                                      f"out-of-order window allows")
                self._append_out_of_order(labels, s, ts_ms, value)
                return
            if too_old:
                raise OutOfBounds(f"out of bounds: {labels} @ {ts_ms}")
            raise OutOfOrderSample(
                f"out of order sample: {labels} @ {ts_ms} is older than {last_ts}")
        if last_ts is not None and ts_ms == last_ts:
            if _same_bits(value, last_val):
                return
            raise DuplicateSampleForTimestamp(
                f"duplicate sample for timestamp: {labels} @ {ts_ms}")
        if buf is None:
            self._pending[labels] = (s, [ts_ms], [value])
        else:
            buf[1].append(ts_ms)
            buf[2].append(value)

    def _append_out_of_order(self, labels: Labels, s: MemSeries | None, ts_ms: int,
                             value: float) -> None:
        buf = self._ooo.setdefault(labels, {})
        old = buf.get(ts_ms)
        if old is None and s is not None:
            old = self._head.ooo.get(s.ref, {}).get(ts_ms)
        if old is not None:
            if _same_bits(old, value):
                return
            raise DuplicateSampleForTimestamp(
                f"duplicate sample for timestamp: {labels} @ {ts_ms}")
        buf[ts_ms] = value

    def append_columns(self, labels: Sequence[Labels], ts: Sequence[int],
                       vals: Sequence[float]) -> None:
        """Append ``(labels[i], ts[i], vals[i])`` for every i, in order: the same checks,
        errors and result as calling :meth:`append` for each (on an error, the samples before
        the bad one stay buffered). The remote-write receiver's path: when this is the
        appender's only input and every series occurs once, samples stay in flat columns
        and commit without per-sample buffers (far fewer objects, far less GC work)."""
        if self._done:
            raise StorageError("appender already committed or rolled back")
        by_labels = self._head.by_labels
        mvt = self._head.min_valid_time
        series: list[MemSeries | None] = list(map(by_labels.get, labels))  # commit re-checks
        if self._pending or self._ooo or self._cols is not None or _repeats(labels, series):
            for lb, t, v in zip(labels, ts, vals, strict=True):
                self.append(lb, t, v)
            return
        for i, (s, t) in enumerate(zip(series, ts, strict=True)):
            if t < mvt or (s is not None and t <= s.last_ts) or not labels[i]:
                # The rare refused or duplicate sample: nothing is buffered yet, so take
                # the general path for all; append raises (or skips an identical duplicate).
                for lb, t, v in zip(labels, ts, vals, strict=True):
                    self.append(lb, t, v)
                return
        self._cols = (list(labels), series, list(ts), list(map(float, vals)))

    def rollback(self) -> None:
        self._pending = {}
        self._ooo = {}
        self._cols = None
        self._done = True

    def commit(self) -> None:
        """Log and apply the batch. Raises :class:`StorageError` if the WAL write fails, in
        which case nothing of the batch is visible."""
        if self._done:
            raise StorageError("appender already committed or rolled back")
        self._done = True
        if self._cols is not None:
            cols, self._cols = self._cols, None
            self._commit_columns(*cols)
            return
        pending, self._pending = self._pending, {}
        late, self._ooo = self._ooo, {}
        if not pending and not late:
            return
        head = self._head
        with head.lock:
            mvt = head.min_valid_time
            ooo_floor = head.maxt - head.ooo_window_ms if head.ooo_window_ms else None
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
                    if ooo_floor is not None:  # the window takes what is now out of order
                        for t, v in zip(tsl, vl, strict=True):
                            if ooo_floor <= t < floor:
                                late.setdefault(labels, {}).setdefault(t, v)
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
            ooo_work = self._resolve_out_of_order(late, new)
            if not refs and not ooo_work:
                if new:
                    head.remove_series(new)
                return
            payloads = []
            if new:
                payloads.append(_records.encode_series((s.ref, s.labels) for s in new))
            if refs:
                ts_arr = np.array(all_ts, dtype=np.int64)
                payloads.append(_records.encode_samples(
                    np.array(refs, dtype=np.uint64), ts_arr, np.array(all_vals, dtype=np.float64)))
            if ooo_work:
                payloads.append(_records.encode_samples(
                    np.array([s.ref for s, buf in ooo_work for _ in buf], dtype=np.uint64),
                    np.array([t for _, buf in ooo_work for t in buf], dtype=np.int64),
                    np.array([v for _, buf in ooo_work for v in buf.values()], dtype=np.float64),
                    out_of_order=True))
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
            if refs:
                head.note_appended(len(refs), int(ts_arr.min()), int(ts_arr.max()))
            for s, buf in ooo_work:
                head.note_appended(head.add_out_of_order(s, list(buf), list(buf.values())),
                                   min(buf), max(buf))
        self._wal.sync_after_commit()
        if self._listeners:
            batch = [(s.labels, tsl, vl) for s, tsl, vl in work]
            for listener in list(self._listeners):
                try:
                    listener(batch)
                except Exception:  # a subscriber's bug must not fail a committed write
                    log.exception("commit listener failed")

    def _resolve_out_of_order(self, late: dict[Labels, dict[int, float]],
                              new: list[MemSeries]) -> list[tuple[MemSeries, dict[int, float]]]:
        """Under the head lock: the series of each out-of-order batch (created if needed,
        appended to ``new``) with the samples its buffer does not hold yet."""
        head = self._head
        out = []
        for labels, buf in late.items():
            s = head.by_labels.get(labels)
            if s is None:
                s = head.create_series(labels)
                new.append(s)
            held = head.ooo.get(s.ref, {})
            fresh = {t: v for t, v in buf.items() if t not in held}
            if fresh:
                out.append((s, fresh))
        return out

    def _commit_columns(self, labels: list[Labels], series: list[MemSeries | None],
                        ts: list[int], vals: list[float]) -> None:
        """:meth:`commit` for a batch from :meth:`append_columns` (each series once)."""
        head = self._head
        with head.lock:
            mvt = head.min_valid_time
            live = head.series
            new: list[MemSeries] = []
            keep_all = True
            for i, s in enumerate(series):
                if s is None or live.get(s.ref) is not s:  # new, or collected meanwhile
                    s = head.by_labels.get(labels[i])
                    if s is None:
                        s = head.create_series(labels[i])
                        new.append(s)
                    series[i] = s
                if ts[i] <= s.last_ts or ts[i] < mvt:  # another appender got there first
                    keep_all = False
            if not keep_all:
                idx = [i for i, s in enumerate(series) if s is not None
                       and ts[i] > s.last_ts and ts[i] >= mvt]
                labels = [labels[i] for i in idx]
                series = [series[i] for i in idx]
                ts = [ts[i] for i in idx]
                vals = [vals[i] for i in idx]
            if not ts:
                if new:
                    head.remove_series(new)
                return
            ts_arr = np.array(ts, dtype=np.int64)
            payloads = []
            if new:
                payloads.append(_records.encode_series((s.ref, s.labels) for s in new))
            payloads.append(_records.encode_samples(
                np.array([s.ref for s in series], dtype=np.uint64), ts_arr,
                np.array(vals, dtype=np.float64)))
            try:
                self._wal.log(payloads)
            except StorageError:
                head.remove_series(new)
                raise
            except OSError as e:
                head.remove_series(new)
                raise StorageError(f"{self._wal.path}: writing WAL: {e}") from e
            for s, t, v in zip(series, ts, vals, strict=True):
                s.append_one(t, v)
            head.note_appended(len(ts), int(ts_arr.min()), int(ts_arr.max()))
        self._wal.sync_after_commit()
        if self._listeners:
            batch = [(lb, [t], [v]) for lb, t, v in zip(labels, ts, vals, strict=True)]
            for listener in list(self._listeners):
                try:
                    listener(batch)
                except Exception:  # a subscriber's bug must not fail a committed write
                    log.exception("commit listener failed")
