"""The head: the in-memory, writable part of the store (the most recent ~2-3 hours).

Each series (:class:`~vigil.tsdb.memseries.MemSeries`) has a stable integer ref for the life
of the process (and across restarts while it stays in the head: refs are recorded in the
WAL) and keeps its samples in encoded chunks plus an open chunk of plain arrays. Readers
take an immutable snapshot under the lock and decode it after releasing the lock.

Out-of-order samples (only with ``ooo_window_ms`` > 0): a sample older than its series'
newest, but not older than the head's newest sample minus the window, is kept in
:attr:`Head.ooo` (per series ref, timestamp -> value) instead of the series' chunks. Reads
merge it in (an in-order sample wins on an equal timestamp); cutting a block takes it along,
so a block may overlap older blocks, which compaction then merges.

Thread-safety: every method takes :attr:`Head.lock`; the appender's commit holds it while
writing the WAL so that WAL order equals apply order.
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.selfmetrics import SelfMetrics
from vigil.storage.interface import SeriesSet
from vigil.tsdb import _records, chunkenc
from vigil.tsdb.index import PostingsIndex
from vigil.tsdb.memseries import MAX_TIME, MIN_TIME, MemSeries, Snapshot
from vigil.tsdb.merge import merge_series_sets

__all__ = ["MAX_TIME", "MIN_TIME", "Head", "MemSeries", "SeriesData", "assemble_series_set"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesData:
    """One series' samples, ascending; the arrays belong to whoever receives this."""

    labels: Labels
    timestamps: np.ndarray
    values: np.ndarray


class Head:
    def __init__(self, metrics: SelfMetrics | None = None) -> None:
        self.lock = threading.RLock()
        self.series: dict[int, MemSeries] = {}
        self.by_labels: dict[Labels, MemSeries] = {}
        self.index = PostingsIndex()
        self.next_ref = 1
        # Samples older than this are in blocks already; the head refuses them (out of bounds).
        self.min_valid_time = MIN_TIME
        self.mint = MAX_TIME
        self.maxt = MIN_TIME
        self.num_samples = 0
        # Out-of-order window (ms, 0 = off) and the samples it let in, by series ref.
        self.ooo_window_ms = 0
        self.ooo: dict[int, dict[int, float]] = {}
        self._metrics = metrics
        # Label order for readers, kept lazily: sorting 100k label sets costs ~0.5 s, so
        # new series are merged in at the next read (timsort merges the two sorted runs)
        # and each series' position is looked up by ref in ``_rank``.
        self._in_label_order: list[MemSeries] = []
        self._unordered: list[MemSeries] = []
        self._order_stale = False
        self._rank = np.zeros(0, np.int64)

    # ---- series ------------------------------------------------------------------------

    def create_series(self, labels: Labels, ref: int | None = None) -> MemSeries:
        """Caller holds the lock. ``ref`` is given when replaying the WAL."""
        if ref is None:
            ref = self.next_ref
        self.next_ref = max(self.next_ref, ref + 1)
        s = MemSeries(ref, labels)
        old = self.by_labels.get(labels)
        if old is not None:  # the same labels logged twice (e.g. after a GC): keep the newest ref
            self._remove_series(old)
        self.series[ref] = s
        self.by_labels[labels] = s
        self.index.add(ref, labels)
        self._unordered.append(s)
        return s

    def _remove_series(self, s: MemSeries) -> None:
        self._order_stale = True
        del self.series[s.ref]
        self.ooo.pop(s.ref, None)
        if self.by_labels.get(s.labels) is s:
            del self.by_labels[s.labels]
        self.index.remove(s.ref, s.labels)

    def remove_series(self, series: Sequence[MemSeries]) -> None:
        with self.lock:
            for s in series:
                if self.series.get(s.ref) is s:
                    self._remove_series(s)

    def note_appended(self, count: int, mint: int, maxt: int) -> None:
        """Caller holds the lock; keeps the head's time bounds and metrics up to date."""
        self.num_samples += count
        if count:
            self.mint = min(self.mint, mint)
            self.maxt = max(self.maxt, maxt)
        if self._metrics is not None:
            self._metrics.samples_appended.inc(count)
            self._metrics.head_series.set(len(self.series))

    # ---- replay ------------------------------------------------------------------------

    def replay_series(self, series: list[tuple[int, Labels]]) -> None:
        with self.lock:
            for ref, labels in series:
                if ref not in self.series:
                    self.create_series(labels, ref)

    def replay_samples(self, rec: _records.SamplesRecord) -> int:
        """Apply a samples record; drops samples unknown, out of order or out of bounds
        (those already cut into a block). Returns the number applied."""
        refs, ts, vals = rec.refs, rec.timestamps, rec.values
        if len(refs) == 0:
            return 0
        if rec.out_of_order:
            return self._replay_out_of_order(refs, ts, vals)
        applied = 0
        unknown = 0
        with self.lock:
            order = np.argsort(refs, kind="stable")
            refs, ts, vals = refs[order], ts[order], vals[order]
            starts = np.flatnonzero(np.concatenate(([True], refs[1:] != refs[:-1])))
            if len(starts) * 4 > len(refs):
                # Mostly one sample per series (a scrape's commit): a plain loop beats
                # per-group numpy calls by far.
                applied, unknown = self._replay_small(refs, ts, vals)
            else:
                applied, unknown = self._replay_groups(refs, ts, vals, starts)
            if applied:
                self.mint = min(self.mint, int(ts.min()))
                self.maxt = max(self.maxt, int(ts.max()))
            self.num_samples += applied
        if unknown:
            log.warning("WAL replay: skipped %d samples of unknown series", unknown)
        return applied

    def _replay_out_of_order(self, refs: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> int:
        """Out-of-order samples go back into the buffer whatever the window and the minimum
        valid time: they were acknowledged, and if a block holds them already (a crash
        before the checkpoint) reads and compaction drop the repeats."""
        applied = 0
        with self.lock:
            for ref, t, v in zip(refs.tolist(), ts.tolist(), vals.tolist(), strict=True):
                if ref in self.series:
                    self.ooo.setdefault(ref, {})[t] = v
                    applied += 1
            if applied:
                self.mint = min(self.mint, int(ts.min()))
                self.maxt = max(self.maxt, int(ts.max()))
            self.num_samples += applied
        if applied < len(refs):
            log.warning("WAL replay: skipped %d samples of unknown series", len(refs) - applied)
        return applied

    def add_out_of_order(self, s: MemSeries, ts: Sequence[int], vals: Sequence[float]) -> int:
        """Caller holds the lock. Keep ``s``'s out-of-order samples; a timestamp already in
        the buffer keeps its first value. Returns how many were kept."""
        buf = self.ooo.setdefault(s.ref, {})
        kept = 0
        for t, v in zip(ts, vals, strict=True):
            if t not in buf:
                buf[t] = v
                kept += 1
        return kept

    def _replay_small(self, refs: np.ndarray, ts: np.ndarray,
                      vals: np.ndarray) -> tuple[int, int]:
        applied = unknown = 0
        mvt = self.min_valid_time
        series = self.series
        last_ref, s = -1, None
        for ref, t, v in zip(refs.tolist(), ts.tolist(), vals.tolist(), strict=True):
            if ref != last_ref:
                s, last_ref = series.get(ref), ref
            if s is None:
                unknown += 1
            elif t > s.last_ts and t >= mvt:
                s.append_one(t, v)
                applied += 1
        return applied, unknown

    def _replay_groups(self, refs: np.ndarray, ts: np.ndarray, vals: np.ndarray,
                       starts: np.ndarray) -> tuple[int, int]:
        applied = unknown = 0
        ends = np.append(starts[1:], len(refs))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            s = self.series.get(int(refs[a]))
            if s is None:
                unknown += b - a
                continue
            gts, gvals = ts[a:b], vals[a:b]
            floor = max(s.last_ts + 1, self.min_valid_time)
            if gts[0] < floor:
                keep = gts >= floor
                gts, gvals = gts[keep], gvals[keep]
            if len(gts):
                s.append_arrays(gts, gvals)
                applied += len(gts)
        return applied, unknown

    # ---- reading -----------------------------------------------------------------------

    def _label_rank(self) -> np.ndarray:
        """Caller holds the lock. Each live series' position in label order, by ref."""
        if not self._unordered and not self._order_stale:
            return self._rank
        order = self._in_label_order
        if self._order_stale:
            order = [s for s in order if self.series.get(s.ref) is s]
            fresh = [s for s in self._unordered if self.series.get(s.ref) is s]
        else:
            fresh = self._unordered
        order.extend(sorted(fresh, key=_labels_of))
        order.sort(key=_labels_of)
        rank = np.zeros(self.next_ref, np.int64)
        rank[np.fromiter((s.ref for s in order), np.int64, len(order))] = np.arange(len(order))
        self._in_label_order, self._unordered, self._order_stale = order, [], False
        self._rank = rank
        return rank

    def select_set(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        """Like :meth:`select`, as one :class:`SeriesSet` in label order. Under the
        lock only references to the immutable closed chunks and a byte copy of each open
        chunk are taken; all chunks are then decoded together (:func:`chunkenc.decode_many`)."""
        labels: list[Labels] = []
        bufs: list[bytes] = []
        buf_owner: list[int] = []
        open_t: list[array] = []
        open_v: list[array] = []
        open_owner: list[int] = []
        with self.lock:
            if self.num_samples == 0 or mint > self.maxt or maxt < self.mint:
                return SeriesSet.empty()
            series = self.series
            refs = self.index.select(matchers)
            ordered = np.fromiter(refs, np.int64, len(refs))
            ordered = ordered[np.argsort(self._label_rank()[ordered], kind="stable")]
            # The hot loop of every query over many series: no property calls, and a series
            # whose samples all lie after maxt is trimmed by assemble_series_set instead.
            i = 0
            for ref in ordered.tolist():
                s = series[ref]
                if s.last_ts < mint or not s.count:
                    continue
                labels.append(s.labels)
                chunks = s.chunks
                if chunks and chunks[-1].maxt >= mint:
                    j = len(chunks) - 1
                    while j and chunks[j - 1].maxt >= mint:  # only the chunks the window reaches
                        j -= 1
                    for c in chunks[j:]:
                        if c.mint <= maxt:
                            bufs.append(c.data)
                            buf_owner.append(i)
                if s.ts:
                    open_t.append(s.ts)
                    open_v.append(s.vals)
                    open_owner.append(i)
                i += 1
            # Joined under the lock: the open chunks are still being appended to.
            open_counts = np.fromiter(map(len, open_t), np.int64, len(open_t))
            ot = np.frombuffer(b"".join(open_t), dtype=np.int64)
            ov = np.frombuffer(b"".join(open_v), dtype=np.float64)
            ooo_part = self._out_of_order_set(ordered, mint, maxt) if self.ooo else None
        ct, cv, counts = chunkenc.decode_many(bufs)
        sid = np.concatenate((np.repeat(np.asarray(buf_owner, np.int64), counts),
                              np.repeat(np.asarray(open_owner, np.int64), open_counts)))
        in_order = assemble_series_set(labels, sid, np.concatenate((ct, ot)),
                                       np.concatenate((cv, ov)), mint, maxt)
        if ooo_part is None or not len(ooo_part):
            return in_order
        return merge_series_sets([p for p in (in_order, ooo_part) if len(p)])

    def _out_of_order_set(self, refs: np.ndarray, mint: int, maxt: int) -> SeriesSet:
        """Caller holds the lock. The out-of-order samples in ``[mint, maxt]`` of ``refs``
        (given in label order)."""
        labels: list[Labels] = []
        counts: list[int] = []
        ts: list[int] = []
        vals: list[float] = []
        for ref in refs.tolist():
            buf = self.ooo.get(ref)
            if not buf:
                continue
            picked = sorted((t, v) for t, v in buf.items() if mint <= t <= maxt)
            if picked:
                labels.append(self.series[ref].labels)
                counts.append(len(picked))
                ts.extend(t for t, _ in picked)
                vals.extend(v for _, v in picked)
        return SeriesSet.from_counts(labels, np.asarray(counts, np.int64),
                                     np.asarray(ts, np.int64), np.asarray(vals, np.float64))

    def label_names(self, matchers: Sequence[Matcher]) -> set[str]:
        with self.lock:
            refs = self.index.select(matchers) if matchers else None
            return self.index.label_names(refs)

    def label_values(self, name: str, matchers: Sequence[Matcher]) -> set[str]:
        with self.lock:
            refs = self.index.select(matchers) if matchers else None
            return self.index.label_values(name, refs)

    # ---- truncation --------------------------------------------------------------------

    def collect_before(self, t: int) -> list[SeriesData]:
        """Raise the minimum valid time to ``t`` and return all samples ``< t`` (out-of-order
        ones merged in), sorted by labels. New appends below ``t`` are refused from now on.
        Read like a query (one batch decode for all series); the arrays are views into one
        buffer that belongs to the caller."""
        with self.lock:
            self.min_valid_time = max(self.min_valid_time, t)
        picked = self.select_set([], MIN_TIME, t - 1)
        offsets = picked.offsets.tolist()
        ts, vals = picked.timestamps, picked.values
        return [SeriesData(lb, ts[a:b], vals[a:b])
                for lb, a, b in zip(picked.labels, offsets, offsets[1:], strict=False)]

    def oldest_out_of_order(self) -> int | None:
        """The oldest out-of-order sample's timestamp, None when there is none."""
        with self.lock:
            return min((min(buf) for buf in self.ooo.values() if buf), default=None)

    def truncate_before(self, t: int) -> None:
        """Drop samples ``< t``; series left without samples are removed (garbage collected)."""
        with self.lock:
            dead = []
            mint, total = MAX_TIME, 0
            for ref in list(self.ooo):
                buf = {x: v for x, v in self.ooo[ref].items() if x >= t}
                if buf:
                    self.ooo[ref] = buf
                    mint = min(mint, min(buf))
                    total += len(buf)
                else:
                    del self.ooo[ref]
            for s in self.series.values():
                s.drop_before(t)
                if s.count == 0:
                    if s.ref not in self.ooo:
                        dead.append(s)
                else:
                    mint = min(mint, s.first_ts)
                    total += s.count
            for s in dead:
                self._remove_series(s)
            self.mint = mint
            self.num_samples = total
            if total == 0:
                self.maxt = MIN_TIME
            if self._metrics is not None:
                self._metrics.head_series.set(len(self.series))

    def checkpoint_records(self) -> Iterator[bytes]:
        """Records that rebuild the head as it is now. Takes a consistent snapshot under the
        lock immediately (the caller rotates the WAL under the same lock), then encodes
        lazily."""
        with self.lock:
            snap = [(s.ref, s.labels, s.snapshot()) for s in self.series.values()]
            mvt = self.min_valid_time
            ooo = [(ref, sorted(buf.items())) for ref, buf in self.ooo.items()]
        return _checkpoint_payloads(snap, mvt, ooo)


def _checkpoint_payloads(snap: list[tuple[int, Labels, Snapshot]], mvt: int,
                         ooo: list[tuple[int, list[tuple[int, float]]]]) -> Iterator[bytes]:
    yield _records.encode_meta(mvt)
    for i in range(0, len(snap), 10_000):
        yield _records.encode_series((ref, lb) for ref, lb, _ in snap[i:i + 10_000])
    batch: list[tuple[int, np.ndarray, np.ndarray]] = []
    pending = 0
    for ref, _lb, series_snap in snap:
        ts, vals = series_snap.read()
        if len(ts) == 0:
            continue
        batch.append((ref, ts, vals))
        pending += len(ts)
        if pending >= 500_000:
            yield _encode_batch(batch)
            batch, pending = [], 0
    if batch:
        yield _encode_batch(batch)
    if ooo:
        yield _records.encode_samples(
            np.asarray([ref for ref, p in ooo for _ in p], np.uint64),
            np.asarray([t for _, p in ooo for t, _ in p], np.int64),
            np.asarray([v for _, p in ooo for _, v in p], np.float64), out_of_order=True)


def _encode_batch(batch: list[tuple[int, np.ndarray, np.ndarray]]) -> bytes:
    refs = np.concatenate([np.full(len(ts), ref, dtype=np.uint64) for ref, ts, _ in batch])
    ts = np.concatenate([t for _, t, _ in batch])
    vals = np.concatenate([v for _, _, v in batch])
    return _records.encode_samples(refs, ts, vals)


def _labels_of(s: MemSeries) -> Labels:
    return s.labels


def assemble_series_set(labels: list[Labels], sid: np.ndarray, ts: np.ndarray,
                        vals: np.ndarray, mint: int, maxt: int) -> SeriesSet:
    """A SeriesSet from samples tagged with their series index ``sid``: each series' samples
    must already be in time order among themselves (closed chunks before the open chunk)."""
    keep = (ts >= mint) & (ts <= maxt)
    if not keep.all():
        sid, ts, vals = sid[keep], ts[keep], vals[keep]
    if len(sid) > 1 and (sid[1:] < sid[:-1]).any():
        order = np.argsort(sid, kind="stable")
        sid, ts, vals = sid[order], ts[order], vals[order]
    return SeriesSet.from_counts(labels, np.bincount(sid, minlength=len(labels)), ts, vals)
