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
from vigil.tsdb.memseries import MAX_TIME, MIN_TIME, MemSeries
from vigil.tsdb.merge import merge_series_sets

__all__ = ["MAX_TIME", "MIN_TIME", "Head", "HeadCut", "MemSeries", "SeriesData",
           "assemble_series_set"]

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
        # Samples a cut or a checkpoint decodes at once, a batch of series at a time: each
        # batch makes a few copies of its samples, so this bounds their memory (~tens of MB)
        # however large the head is, and is still large enough to amortise numpy's calls.
        self.batch_samples = 500_000

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
        with self.lock:
            if self.num_samples == 0 or mint > self.maxt or maxt < self.mint:
                return SeriesSet.empty()
            refs = self.index.select(matchers)
            ordered = np.fromiter(refs, np.int64, len(refs))
            ordered = ordered[np.argsort(self._label_rank()[ordered], kind="stable")]
            got = self._gather(ordered.tolist(), mint, maxt)
            ooo_part = self._out_of_order_set(ordered, mint, maxt) if self.ooo else None
        return _decoded(got, ooo_part, mint, maxt)

    def _gather(self, refs: list[int], mint: int, maxt: int) -> _Gathered:
        """Caller holds the lock. The samples of ``refs`` that may lie in ``[mint, maxt]``,
        in the given order, ready to decode after the lock is released."""
        picked: list[MemSeries] = []
        bufs: list[bytes] = []
        buf_owner: list[int] = []
        open_t: list[array] = []
        open_v: list[array] = []
        open_owner: list[int] = []
        series = self.series
        # The hot loop of every query over many series: no property calls, and a series
        # whose samples all lie after maxt is trimmed by assemble_series_set instead.
        i = 0
        for ref in refs:
            s = series.get(ref)
            if s is None or s.last_ts < mint or not s.count:
                continue
            picked.append(s)
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
        return _Gathered(picked, bufs, buf_owner, open_t, open_v, open_owner)

    def _out_of_order_set(self, refs: np.ndarray, mint: int, maxt: int,
                          taken: dict[int, list[int]] | None = None) -> SeriesSet:
        """Caller holds the lock. The out-of-order samples in ``[mint, maxt]`` of ``refs``
        (given in label order); their timestamps by ref are added to ``taken`` if given."""
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
                if taken is not None:
                    taken[ref] = [t for t, _ in picked]
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

    def cut_before(self, t: int) -> HeadCut:
        """Raise the minimum valid time to ``t`` (new appends below it are refused from now
        on) and return the samples ``< t``, to be read once in batches of series."""
        with self.lock:
            self.min_valid_time = max(self.min_valid_time, t)
            ordered = np.fromiter(self.series, np.int64, len(self.series))
            ordered = ordered[np.argsort(self._label_rank()[ordered], kind="stable")]
            per_series = self.num_samples / max(1, len(self.series))
        batch = int(max(1, self.batch_samples / max(per_series, 1.0)))
        return HeadCut(self, t, ordered, batch)

    def oldest_out_of_order(self) -> int | None:
        """The oldest out-of-order sample's timestamp, None when there is none."""
        with self.lock:
            return min((min(buf) for buf in self.ooo.values() if buf), default=None)

    def truncate_before(self, t: int, cut: HeadCut | None = None) -> None:
        """Drop samples ``< t``; series left without samples are removed (garbage collected).
        Given the ``cut`` that read them, out-of-order samples ``< t`` that it did not read
        (they came in during the cut) stay, for the next cut to take."""
        taken = cut.ooo_taken if cut is not None else None
        with self.lock:
            dead = []
            mint, total = MAX_TIME, 0
            for ref in list(self.ooo):
                if taken is None:
                    buf = {x: v for x, v in self.ooo[ref].items() if x >= t}
                else:
                    gone = set(taken.get(ref, ()))
                    buf = {x: v for x, v in self.ooo[ref].items() if x >= t or x not in gone}
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
        lazily, a batch of series at a time."""
        with self.lock:
            everyone = list(self.series.values())
            got = self._gather([s.ref for s in everyone], MIN_TIME, MAX_TIME)
            mvt = self.min_valid_time
            ooo = [(ref, sorted(buf.items())) for ref, buf in self.ooo.items()]
            per_series = self.num_samples / max(1, len(everyone))
        batch = int(max(1, self.batch_samples / max(per_series, 1.0)))
        return _checkpoint_payloads(everyone, got, mvt, ooo, batch)


class _Gathered:
    """Samples of some series as taken under the head lock (:meth:`Head._gather`): the
    immutable closed chunks by reference, the open chunks copied (they are appended to in
    place). Decoded after the lock is released, all at once or a slice of series at a time."""

    __slots__ = ("series", "_bufs", "_buf_owner", "_open_counts", "_open_t", "_open_v",
                 "_open_owner", "_open_start")

    def __init__(self, series: list[MemSeries], bufs: list[bytes], buf_owner: list[int],
                 open_t: list[array], open_v: list[array], open_owner: list[int]) -> None:
        self.series = series  # the series with samples, each given its index here
        self._bufs = bufs
        self._buf_owner = np.asarray(buf_owner, np.int64)
        self._open_counts = np.fromiter(map(len, open_t), np.int64, len(open_t))
        # Joined while the lock is held: the open chunks are still being appended to.
        self._open_t = b"".join(open_t)
        self._open_v = b"".join(open_v)
        self._open_owner = np.asarray(open_owner, np.int64)
        self._open_start: np.ndarray | None = None

    def decode(self, lo: int = 0, hi: int | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
        """``(sid, timestamps, values)`` of series ``lo..hi-1``, ``sid`` counting from
        ``lo``; each series' samples in time order, series interleaved."""
        if hi is None:
            hi = len(self.series)
        if lo == 0 and hi == len(self.series):
            b0, b1, o0, o1 = 0, len(self._bufs), 0, len(self._open_owner)
        else:
            b0, b1 = self._buf_owner.searchsorted((lo, hi)).tolist()
            o0, o1 = self._open_owner.searchsorted((lo, hi)).tolist()
        if self._open_start is None:
            self._open_start = np.zeros(len(self._open_counts) + 1, np.int64)
            np.cumsum(self._open_counts, out=self._open_start[1:])
        s0, s1 = int(self._open_start[o0]), int(self._open_start[o1])
        ot = np.frombuffer(self._open_t, np.int64, s1 - s0, 8 * s0)
        ov = np.frombuffer(self._open_v, np.float64, s1 - s0, 8 * s0)
        ct, cv, counts = chunkenc.decode_many(self._bufs[b0:b1])
        sid = np.concatenate((np.repeat(self._buf_owner[b0:b1] - lo, counts),
                              np.repeat(self._open_owner[o0:o1] - lo, self._open_counts[o0:o1])))
        return sid, np.concatenate((ct, ot)), np.concatenate((cv, ov))


class HeadCut:
    """The head's samples older than a time ``t`` (:meth:`Head.cut_before`), in label
    order, read once, a batch of series at a time, so that cutting a block never holds
    more than a batch's decoded samples. Every read happens after the minimum valid time
    was raised to ``t``, so no sample below ``t`` can be appended in order meanwhile;
    out-of-order samples can, and :attr:`ooo_taken` records which were read, for
    :meth:`Head.truncate_before`."""

    def __init__(self, head: Head, t: int, ordered: np.ndarray, batch_series: int) -> None:
        self._head = head
        self.t = t
        self._ordered = ordered
        self._batch = batch_series
        self.ooo_taken: dict[int, list[int]] = {}
        self._reader = self._read()
        self._first: list[SeriesData] | None = None

    def is_empty(self) -> bool:
        """Whether there is no sample ``< t``; asked before :meth:`batches` is read (it
        reads up to the first batch that has one)."""
        if self._first is None:
            self._first = next(self._reader, [])
        return not self._first

    def batches(self) -> Iterator[list[SeriesData]]:
        """Each batch's series (those with samples ``< t``, none empty), in label order;
        the arrays are views into buffers of the batch that belong to the caller."""
        if not self.is_empty():
            first, self._first = self._first, []
            yield first
            del first
        yield from self._reader

    def series(self) -> Iterator[SeriesData]:
        """The series of all :meth:`batches`, one after the other."""
        for batch in self.batches():
            yield from batch

    def _read(self) -> Iterator[list[SeriesData]]:
        head, maxt = self._head, self.t - 1
        for a in range(0, len(self._ordered), self._batch):
            refs = self._ordered[a:a + self._batch]
            with head.lock:
                got = head._gather(refs.tolist(), MIN_TIME, maxt)
                ooo_part = (head._out_of_order_set(refs, MIN_TIME, maxt, self.ooo_taken)
                            if head.ooo else None)
            picked = _decoded(got, ooo_part, MIN_TIME, maxt)
            del got, ooo_part  # the batch's copies, before the next batch makes its own
            if not len(picked):
                continue
            offsets = picked.offsets.tolist()
            pts, pvals = picked.timestamps, picked.values
            yield [SeriesData(lb, pts[x:y], pvals[x:y])
                   for lb, x, y in zip(picked.labels, offsets, offsets[1:], strict=False)]


def _decoded(got: _Gathered, ooo_part: SeriesSet | None, mint: int, maxt: int) -> SeriesSet:
    """The samples in ``[mint, maxt]`` of a read taken under the lock, out-of-order ones
    merged in; decoded after the lock is released."""
    sid, ts, vals = got.decode()
    in_order = assemble_series_set([s.labels for s in got.series], sid, ts, vals, mint, maxt)
    if ooo_part is None or not len(ooo_part):
        return in_order
    return merge_series_sets([p for p in (in_order, ooo_part) if len(p)])


# Checkpoint records are zstd-compressed (commits' are snappy, see vigil.tsdb._records): they
# are large and written in the background, where zstd's smaller output is worth its CPU.
def _checkpoint_payloads(everyone: list[MemSeries], got: _Gathered, mvt: int,
                         ooo: list[tuple[int, list[tuple[int, float]]]],
                         batch: int) -> Iterator[bytes]:
    yield _records.encode_meta(mvt)
    pairs: dict[tuple[str, str], bytes] = {}
    for i in range(0, len(everyone), 10_000):
        yield _records.encode_series(((s.ref, s.labels) for s in everyone[i:i + 10_000]), pairs,
                                     codec="zstd")
        if len(pairs) > 100_000:  # labels unique per series: no use keeping them
            pairs.clear()
    del pairs
    refs = np.fromiter((s.ref for s in got.series), np.uint64, len(got.series))
    for lo in range(0, len(refs), batch):
        sid, ts, vals = got.decode(lo, lo + batch)
        if len(sid) > 1 and (sid[1:] < sid[:-1]).any():  # one run per series, as before
            order = np.argsort(sid, kind="stable")
            sid, ts, vals = sid[order], ts[order], vals[order]
        yield _records.encode_samples(refs[lo:lo + batch][sid], ts, vals, codec="zstd")
    if ooo:
        yield _records.encode_samples(
            np.asarray([ref for ref, p in ooo for _ in p], np.uint64),
            np.asarray([t for _, p in ooo for t, _ in p], np.int64),
            np.asarray([v for _, p in ooo for _, v in p], np.float64), out_of_order=True,
            codec="zstd")


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
