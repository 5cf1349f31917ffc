"""Range aggregations from columns: count, rate and bytes without one ``LogEntry`` per line.

``count_over_time``, ``rate``, ``bytes_over_time``, ``bytes_rate`` and ``absent_over_time`` need
only each line's time, stream and byte length when the pipeline has nothing but ``|=`` filters
(which a :class:`~vigil.logs.model.ColumnReader` applies exactly as needles). Their result is
then computed from :class:`~vigil.logs.model.EntryColumns` blocks, one block at a time:

* every window ``(t - offset - range, t - offset]`` is a difference of ``c(x)``, the number of
  lines at or before ``x``, taken at the window's two bounds; so each line is binned once
  (``searchsorted`` into the sorted bounds) and summed per series with ``bincount``, and no
  block is ever sorted by time;
* the counts and byte sums are whole numbers, so they are exact and equal, bit for bit, what
  the entry path's cumulative sums give; rates divide them by the same range in seconds.

A metric query's series carry the entry's structured fields and ``detected_level`` besides the
stream labels. When the reader gives each row's level and whether it has fields
(``EntryColumns.level`` / ``has_fields``) and no selected row has fields, a series is the
stream plus ``detected_level``, and any grouping (or none) is answered from columns. Without
that, the path is taken only where the series cannot depend on them: under a grouping
``by (...)`` whose labels every selected stream has (a stream label wins over a field and the
level), under ``sum(...)`` with no labels, and for ``absent_over_time`` (whose labels come from
the selector). Anywhere else, :func:`range_from_columns` returns None and the engine reads
entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from vigil.logs.logql import ast
from vigil.logs.logql.binops import SeriesSet
from vigil.logs.model import EntryColumns, StreamSelection
from vigil.model.labels import Labels
from vigil.model.matchers import MatchType

__all__ = ["COLUMN_OPS", "grouped", "range_from_columns", "uses_columns"]

COLUMN_OPS = ("count_over_time", "rate", "bytes_over_time", "bytes_rate", "absent_over_time")

_NEVER = np.iinfo(np.int64).max
SelectColumns = Callable[[StreamSelection], Iterator[EntryColumns]]


def _only_needles(selector: ast.LogSelector) -> bool:
    """True when every stage is a plain ``|= "text"`` (so the needles are the whole pipeline)."""
    return all(isinstance(s, ast.LineFilter) and s.op == "|=" and not s.ip
               and len(s.values) == 1 for s in selector.stages)


def uses_columns(expr: ast.RangeAggregation, grouping: ast.Grouping | None) -> bool:
    """Whether ``expr`` (its series grouped by ``grouping``) may be computed from columns;
    :func:`range_from_columns` still declines when the blocks cannot tell the series."""
    if expr.op not in COLUMN_OPS or expr.range.unwrap is not None:
        return False
    if not _only_needles(expr.range.selector):
        return False
    return True


class _Bins:
    """The per-series running counts (and byte sums) of lines per bin of the window bounds."""

    def __init__(self, bounds: np.ndarray, with_bytes: bool) -> None:
        self.bounds = bounds
        self.width = len(bounds) + 1  # bin k: lines with bounds[k-1] < ts <= bounds[k]
        self.with_bytes = with_bytes
        self.counts = np.zeros((0, self.width), dtype=np.int64)
        self.sums = np.zeros((0, self.width), dtype=np.float64)

    def add(self, block: EntryColumns, series_of_row: np.ndarray, n_series: int) -> None:
        if n_series > len(self.counts):
            grow = n_series - len(self.counts)
            self.counts = np.vstack([self.counts, np.zeros((grow, self.width), np.int64)])
            self.sums = np.vstack([self.sums, np.zeros((grow, self.width), np.float64)])
        if len(block.ts_ns) == 0:
            return
        binned = np.searchsorted(self.bounds, block.ts_ns, side="left")
        flat = series_of_row * self.width + binned
        size = n_series * self.width
        counted = np.bincount(flat, minlength=size)[:size]
        self.counts[:n_series] += counted.reshape(n_series, self.width)
        if self.with_bytes:
            summed = np.bincount(flat, weights=block.line_bytes.astype(np.float64),
                                 minlength=size)[:size]
            self.sums[:n_series] += summed.reshape(n_series, self.width)


def range_from_columns(select_columns: SelectColumns, expr: ast.RangeAggregation,
                       steps: np.ndarray, grouping: ast.Grouping | None) -> SeriesSet | None:
    """The range aggregation at every step from column blocks, or None when a selected stream
    lacks a grouping label (its series would depend on fields the columns do not carry).
    The caller checks :func:`uses_columns` first."""
    rng = expr.range
    selector = rng.selector
    upper = steps - rng.offset_ns
    lower = upper - rng.range_ns
    first, last = int(lower[0]), int(upper[-1])
    bounds = np.unique(np.concatenate([lower, upper]))
    bytes_op = expr.op.startswith("bytes")
    bins = _Bins(bounds, bytes_op)
    by = grouping.labels if grouping is not None else ()
    series: dict[Labels, int] = {}
    # Each series' first line as (time, stream): the entry path meets the series in that
    # order, and topk breaks ties by it.
    first_seen: dict[Labels, tuple[int, Labels, str]] = {}
    selection = StreamSelection(selector.matchers, first + 1, last + 1, selector.needles(),
                                backward=False)
    absent = expr.op == "absent_over_time"
    for block in select_columns(selection):
        if (block.level is not None and block.has_fields is not None
                and not block.has_fields.any()):
            # Every row's series is its stream plus its level: one per (stream, level) pair.
            n_levels = max(len(block.levels), 1)
            code = block.stream.astype(np.int64) * n_levels + block.level
            pairs, row_pair = np.unique(code, return_inverse=True)
            earliest = np.full(len(pairs), _NEVER, dtype=np.int64)
            np.minimum.at(earliest, row_pair, block.ts_ns)
            series_of_pair = np.zeros(len(pairs), dtype=np.int64)
            for j, pair in enumerate(pairs.tolist()):
                stream, level = block.streams[pair // n_levels], block.levels[pair % n_levels]
                key = Labels() if absent else grouped(_with_level(stream, level), grouping)
                series_of_pair[j] = series.setdefault(key, len(series))
                seen = (int(earliest[j]), stream, level)
                if key not in first_seen or seen < first_seen[key]:
                    first_seen[key] = seen
            bins.add(block, series_of_pair[row_pair.reshape(-1)], len(series))
            continue
        if not absent and (grouping is None or grouping.without):
            return None  # the series would depend on fields or levels the block lacks
        series_of_stream = np.zeros(len(block.streams), dtype=np.int64)
        earliest = np.full(len(block.streams), _NEVER, dtype=np.int64)
        np.minimum.at(earliest, block.stream, block.ts_ns)
        for i, stream in enumerate(block.streams):
            if earliest[i] == _NEVER:
                continue  # a series exists only once it has a line, as on the entry path
            if not absent and any(not stream.get(n) for n in by):
                return None
            key = stream.only(*by) if not absent else Labels()
            series_of_stream[i] = series.setdefault(key, len(series))
            seen = (int(earliest[i]), stream, "")
            if key not in first_seen or seen < first_seen[key]:
                first_seen[key] = seen
        bins.add(block, series_of_stream[block.stream], len(series))
    # c(bound): lines at or before each bound, per series
    at_or_before = np.cumsum(bins.counts, axis=1)
    lo_at = np.searchsorted(bounds, lower)
    hi_at = np.searchsorted(bounds, upper)
    range_s = rng.range_ns / 1e9
    if absent:
        seen = np.zeros(len(steps), dtype=bool)
        for row in at_or_before:
            seen |= row[hi_at] > row[lo_at]
        labels = Labels({m.name: m.value for m in selector.matchers
                         if m.type is MatchType.EQUAL})
        return {labels: (np.ones(len(steps)), ~seen)}
    byte_sums = np.cumsum(bins.sums, axis=1) if bytes_op else None
    out: SeriesSet = {}
    for key in sorted(series, key=first_seen.__getitem__):
        index = series[key]
        counts = (at_or_before[index][hi_at] - at_or_before[index][lo_at]).astype(np.float64)
        present = counts > 0
        if expr.op == "count_over_time":
            values = counts
        elif expr.op == "rate":
            values = counts / range_s
        else:
            assert byte_sums is not None
            sums = byte_sums[index][hi_at] - byte_sums[index][lo_at]
            values = sums / range_s if expr.op == "bytes_rate" else sums
        out[key] = (values, present)
    return out


def _with_level(stream: Labels, level: str) -> Labels:
    """A row's series labels when it has no fields: its stream and, as Loki's structured
    metadata, ``detected_level`` (unless the stream has that label)."""
    if level and not stream.get("detected_level"):
        return stream.merge({"detected_level": level})
    return stream


def grouped(labels: Labels, grouping: ast.Grouping | None) -> Labels:
    """A series' labels under ``by``/``without`` (all of them without a grouping); the entry
    path and the column path group alike."""
    if grouping is None:
        return labels
    if grouping.without:
        return labels.without(*grouping.labels)
    return labels.only(*grouping.labels)
