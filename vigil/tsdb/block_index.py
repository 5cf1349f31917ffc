"""A block's series index: its on-disk encoding and its in-memory columns.

Retention keeps many blocks loaded, each listing most active series, so what a loaded block
holds per series is what matters: here every per-series field is a numpy column (about 40
bytes per series plus 4 per label), the inverted index is one postings array sorted by
(label name, value) with offsets (CSR), and each series' :class:`Labels` comes from the
DB's :class:`~vigil.tsdb.labels_pool.LabelsPool`, shared with the head and the other blocks.
An earlier layout (Python objects per series and sets of refs per label pair) took 884
bytes per series per block.

Matcher semantics follow Prometheus, as :class:`~vigil.tsdb.index.PostingsIndex`: a
matcher that matches ``""`` also selects series without the label.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable, Sequence

import numpy as np

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType
from vigil.tsdb.labels_pool import LabelsPool

INDEX_MAGIC = b"VGIX"
# 1: a record per series (labels, time range, chunk position); 2: columns (this module).
FORMAT_VERSION = 2
_U32 = struct.Struct("<I")
_V1_PAGE = struct.Struct("<QI")
_V1_TAIL = struct.Struct("<qqIIII")


class SeriesColumns:
    """What :func:`encode` needs per series besides its labels, in label order: where its
    chunk lies (time range, sample count, page number, offset and length in the page's
    data)."""

    def __init__(self, rows: np.ndarray) -> None:
        self.mint, self.maxt = rows[:, 0], rows[:, 1]
        self.count, self.page, self.offset, self.length = (
            rows[:, k].astype(np.uint32) for k in range(2, 6))

    @classmethod
    def of(cls, rows: Sequence[tuple[int, int, int, int, int, int]]) -> SeriesColumns:
        return cls(np.asarray(rows, np.int64).reshape(-1, 6))


def encode(labels: Sequence[Labels], cols: SeriesColumns,
           pages: Sequence[tuple[int, int]]) -> bytes:
    """The index file's content before compression (layout: ``docs/tsdb-format.md``)."""
    symbols = sorted({s for lb in labels for pair in lb for s in pair})
    sym_id = {s: i for i, s in enumerate(symbols)}
    raw = [s.encode() for s in symbols]
    counts = np.fromiter((len(lb) for lb in labels), np.uint32, len(labels))
    ids = np.fromiter((sym_id[s] for lb in labels for pair in lb for s in pair), np.uint32,
                      int(counts.sum()) * 2)
    page_arr = np.asarray(pages, np.int64).reshape(-1, 2)
    return b"".join([
        INDEX_MAGIC, bytes([FORMAT_VERSION]),
        _U32.pack(len(symbols)), np.fromiter(map(len, raw), np.uint32, len(raw)).tobytes(),
        *raw,
        _U32.pack(len(page_arr)), page_arr[:, 0].astype("<u8").tobytes(),
        page_arr[:, 1].astype("<u4").tobytes(),
        _U32.pack(len(labels)), counts.astype("<u4").tobytes(), ids.astype("<u4").tobytes(),
        cols.mint.astype("<i8").tobytes(), cols.maxt.astype("<i8").tobytes(),
        cols.count.astype("<u4").tobytes(), cols.page.astype("<u4").tobytes(),
        cols.offset.astype("<u4").tobytes(), cols.length.astype("<u4").tobytes(),
    ])


class _Reader:
    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos

    def u32(self) -> int:
        (v,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return v

    def array(self, dtype: str, n: int) -> np.ndarray:
        a = np.frombuffer(self.buf, dtype, n, self.pos)
        self.pos += a.nbytes
        return a.astype(a.dtype.newbyteorder("="))  # an aligned, native copy

    def symbols(self) -> list[str]:
        lengths = self.array("<u4", self.u32()).tolist()
        out = []
        pos = self.pos
        for ln in lengths:
            out.append(self.buf[pos:pos + ln].decode())
            pos += ln
        self.pos = pos
        return out


class BlockIndex:
    """The loaded index of one block. Read-only after construction, so thread-safe."""

    def __init__(self, buf: bytes, pool: LabelsPool) -> None:
        """Parse an index file's decompressed content. Raises ``ValueError`` (or
        ``struct.error``) on a malformed one."""
        if buf[:4] != INDEX_MAGIC:
            raise ValueError("bad index magic")
        version = buf[4]
        if version == 2:
            counts, ids = self._parse_v2(buf)
        elif version == 1:
            counts, ids = self._parse_v1(buf)
        else:
            raise ValueError(f"unknown index version {version}")
        n = len(counts)
        if int(counts.sum()) * 2 != len(ids) or (len(ids) and int(ids.max()) >= len(self.symbols)):
            raise ValueError("series table does not match the symbol table")
        if n and int(self.page.max()) >= len(self.page_offset):
            raise ValueError("series table names a page the page table lacks")
        self.num_samples = int(self.count.sum())
        self._build_postings(counts, ids)
        self.labels = self._build_labels(counts, pool)

    # ---- parsing -----------------------------------------------------------------------

    def _parse_v2(self, buf: bytes) -> tuple[np.ndarray, np.ndarray]:
        r = _Reader(buf, 5)
        self.symbols = r.symbols()
        npages = r.u32()
        self.page_offset = r.array("<u8", npages).astype(np.int64)
        self.page_length = r.array("<u4", npages)
        n = r.u32()
        counts = r.array("<u4", n)
        ids = r.array("<u4", int(counts.sum()) * 2)
        self.mint = r.array("<i8", n)
        self.maxt = r.array("<i8", n)
        self.count = r.array("<u4", n)
        self.page = r.array("<u4", n)
        self.offset = r.array("<u4", n)
        self.length = r.array("<u4", n)
        if r.pos != len(buf):
            raise ValueError(f"{len(buf) - r.pos} bytes after the series table")
        return counts, ids

    def _parse_v1(self, buf: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Version 1 (a record per series), written before 2026-12."""
        r = _Reader(buf, 5)
        self.symbols = []
        for _ in range(r.u32()):
            ln = r.u32()
            self.symbols.append(buf[r.pos:r.pos + ln].decode())
            r.pos += ln
        npages = r.u32()
        pages = [_V1_PAGE.unpack_from(buf, r.pos + i * _V1_PAGE.size) for i in range(npages)]
        r.pos += npages * _V1_PAGE.size
        self.page_offset = np.asarray([o for o, _ in pages], np.int64)
        self.page_length = np.asarray([ln for _, ln in pages], np.uint32)
        n = r.u32()
        counts = np.empty(n, np.uint32)
        ids: list[int] = []
        tails = []
        for i in range(n):
            (nl,) = struct.unpack_from("<H", buf, r.pos)
            ids.extend(struct.unpack_from(f"<{2 * nl}I", buf, r.pos + 2))
            r.pos += 2 + 8 * nl
            tails.append(_V1_TAIL.unpack_from(buf, r.pos))
            r.pos += _V1_TAIL.size
            counts[i] = nl
        tail = np.asarray(tails, np.int64).reshape(-1, 6)
        self.mint, self.maxt = tail[:, 0].copy(), tail[:, 1].copy()
        self.count, self.page, self.offset, self.length = (
            tail[:, k].astype(np.uint32) for k in range(2, 6))
        return counts, np.asarray(ids, np.uint32)

    # ---- building ----------------------------------------------------------------------

    def _build_postings(self, counts: np.ndarray, ids: np.ndarray) -> None:
        """Postings sorted by (name, value) symbol, then series: the series of one pair, and
        of all pairs of one name, are contiguous slices."""
        nsym = max(len(self.symbols), 1)
        series_of = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        key = ids[0::2].astype(np.int64) * nsym + ids[1::2]
        order = np.argsort(key, kind="stable")  # stable: series ascending within a pair
        self._postings = series_of[order]
        keys, starts, pair_sorted = np.unique(key[order], return_index=True,
                                              return_inverse=True)
        self._pair_name = (keys // nsym).astype(np.int32)
        self._pair_value = (keys % nsym).astype(np.int32)
        self._pair_start = np.append(starts, len(order)).astype(np.int64)
        # Each label's pair, back in series order (for building the Labels).
        self._pair_of_label = np.empty(len(order), np.int64)
        self._pair_of_label[order] = pair_sorted
        names, first = np.unique(self._pair_name, return_index=True)
        bounds = np.append(first, len(keys)).tolist()
        self._name_pairs = {self.symbols[nm]: (bounds[k], bounds[k + 1])
                            for k, nm in enumerate(names.tolist())}

    def _build_labels(self, counts: np.ndarray, pool: LabelsPool) -> list[Labels]:
        # One tuple per distinct pair, shared by every label set that has it; the label sets
        # themselves are taken from the pool when an equal one is already held.
        sym = self.symbols
        pairs = [(sym[a], sym[b]) for a, b in zip(self._pair_name.tolist(),
                                                  self._pair_value.tolist(), strict=True)]
        pair_ids = self._pair_of_label.tolist()
        intern = pool.intern
        new = tuple.__new__
        out = []
        pos = 0
        for c in counts.tolist():
            # Pairs were written sorted by name: no need to sort again.
            out.append(intern(new(Labels, [pairs[p] for p in pair_ids[pos:pos + c]])))
            pos += c
        del self._pair_of_label
        return out

    # ---- queries -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.labels)

    def _pair_range(self, name: str) -> tuple[int, int]:
        return self._name_pairs.get(name, (0, 0))

    def _series_of_pairs(self, lo: int, hi: int) -> np.ndarray:
        return self._postings[self._pair_start[lo]:self._pair_start[hi]]

    def _matching_pairs(self, m: Matcher) -> list[int]:
        lo, hi = self._pair_range(m.name)
        sym = self.symbols
        if m.type is MatchType.EQUAL:
            v = bisect.bisect_left(sym, m.value)
            if v == len(sym) or sym[v] != m.value:
                return []
            k = lo + int(np.searchsorted(self._pair_value[lo:hi], v))
            return [k] if k < hi and self._pair_value[k] == v else []
        return self._pairs_where(m.name, m.matches)

    def _pairs_where(self, name: str, keep: Callable[[str], bool]) -> list[int]:
        """The pairs of label ``name`` whose value ``keep`` accepts."""
        lo, hi = self._pair_range(name)
        sym = self.symbols
        return [k for k, v in zip(range(lo, hi), self._pair_value[lo:hi].tolist(), strict=True)
                if keep(sym[v])]

    def _series_with(self, pairs: list[int]) -> np.ndarray:
        """Series having any of ``pairs`` (ascending, unique)."""
        if len(pairs) == 1:
            return self._series_of_pairs(pairs[0], pairs[0] + 1)
        if not pairs:
            return np.zeros(0, np.int32)
        parts = [self._series_of_pairs(k, k + 1) for k in pairs]
        return np.unique(np.concatenate(parts))

    def select(self, matchers: Sequence[Matcher]) -> np.ndarray:
        """Positions of the series matching all ``matchers``, ascending (= label order)."""
        positive = [m for m in matchers if not m.matches_empty()]
        positive.sort(key=lambda m: m.type is not MatchType.EQUAL)
        result: np.ndarray | None = None
        for m in positive:
            refs = self._series_with(self._matching_pairs(m))
            result = refs if result is None else np.intersect1d(result, refs, assume_unique=True)
            if not len(result):
                return result
        if result is None:
            result = np.arange(len(self.labels), dtype=np.int32)
        for m in matchers:
            if not m.matches_empty():
                continue
            # Keeps series without the label; drops those whose value fails the matcher.
            failing = self._pairs_where(m.name, lambda v, m=m: not m.matches(v))
            if failing:
                result = np.setdiff1d(result, self._series_with(failing), assume_unique=True)
        return result

    def _mask(self, refs: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(self.labels), bool)
        mask[refs] = True
        return mask

    def label_names(self, refs: np.ndarray | None = None) -> set[str]:
        if refs is None:
            return set(self._name_pairs)
        mask = self._mask(refs)
        return {name for name, (lo, hi) in self._name_pairs.items()
                if mask[self._series_of_pairs(lo, hi)].any()}

    def label_values(self, name: str, refs: np.ndarray | None = None) -> set[str]:
        lo, hi = self._pair_range(name)
        values = self._pair_value[lo:hi]
        if refs is not None:
            mask = self._mask(refs)
            sizes = np.diff(self._pair_start[lo:hi + 1])
            hit = mask[self._series_of_pairs(lo, hi)]
            pair_hit = np.add.reduceat(hit, np.cumsum(sizes) - sizes) if len(hit) else hit
            values = values[pair_hit[:len(values)] > 0]
        return {self.symbols[v] for v in values.tolist()}
