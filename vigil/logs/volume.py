"""What Loki's index endpoints report, counted exactly from the log store.

- :func:`index_stats` (``/loki/api/v1/index/stats``): the streams, entries and bytes a stream
  selector resolves to in a window. Loki estimates these from its index; Vigil counts the
  lines themselves, so the figures are exact (and cost a pass over the selected lines).
  ``bytes`` is the UTF-8 size of the lines. ``chunks``: Vigil's chunk files hold many
  streams, so the figure is the number of (stream, UTC day) pieces with lines in the window —
  what a store with per-stream chunks cut at least daily would hold at the fewest.
- :func:`volume` (``/loki/api/v1/index/volume`` and ``volume_range``): bytes per series or
  per label name, as Loki aggregates them: by default into the labels the selector names (all
  labels for ``{}``), or into ``target_labels`` (streams without one of them do not count);
  ``aggregate_by="labels"`` gives one series per label name. Each bucket keeps its ``limit``
  largest series (ties by name), as Loki's accumulator does.

Both read column blocks when the reader has ``select_columns`` and entries otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vigil.logs.model import EntryColumns, LogReader, StreamSelection
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType

__all__ = ["IndexStats", "VolumeSeries", "index_stats", "volume"]

_DAY_NS = 86_400 * 1_000_000_000
_BLOCK = 8192  # entries per block when the reader has no column path


@dataclass(frozen=True)
class IndexStats:
    streams: int
    chunks: int
    entries: int
    bytes: int


@dataclass(frozen=True)
class VolumeSeries:
    """One series of a volume answer: its labels (with ``aggregate_by="labels"`` one label
    name with an empty value, which :class:`Labels` would drop) and ``(unix ms, bytes)`` per
    bucket."""
    metric: dict[str, str]
    points: list[tuple[int, int]]


def _blocks(reader: LogReader, matchers: Sequence[Matcher], start_ns: int,
            end_ns: int) -> Iterator[EntryColumns]:
    selection = StreamSelection(tuple(matchers), start_ns, end_ns, backward=False)
    select_columns = getattr(reader, "select_columns", None)
    if select_columns is not None:
        yield from select_columns(selection)
        return
    index: dict[Labels, int] = {}
    ts: list[int] = []
    stream: list[int] = []
    size: list[int] = []
    for entry in reader.select(selection):
        ts.append(entry.ts_ns)
        stream.append(index.setdefault(entry.labels, len(index)))
        size.append(len(entry.line.encode()))
        if len(ts) >= _BLOCK:
            yield _columns(ts, stream, size, index)
            ts, stream, size = [], [], []
    if ts:
        yield _columns(ts, stream, size, index)


def _columns(ts: list[int], stream: list[int], size: list[int],
             index: dict[Labels, int]) -> EntryColumns:
    return EntryColumns(np.array(ts, dtype=np.int64), np.array(stream, dtype=np.int32),
                        tuple(index), np.array(size, dtype=np.int64))


def index_stats(reader: LogReader, matchers: Sequence[Matcher], start_ns: int,
                end_ns: int) -> IndexStats:
    """Exact counts of the lines of the matching streams in ``[start_ns, end_ns)``."""
    pieces: set[tuple[Labels, int]] = set()
    entries = size = 0
    for block in _blocks(reader, matchers, start_ns, end_ns):
        if not len(block.ts_ns):
            continue
        entries += len(block.ts_ns)
        size += int(block.line_bytes.sum())
        days = block.ts_ns // _DAY_NS
        first, width = int(days.min()), len(block.streams)
        for key in np.unique((days - first) * width + block.stream):
            day, s = divmod(int(key), width)
            pieces.add((block.streams[s], first + day))
    return IndexStats(len({s for s, _ in pieces}), len(pieces), entries, size)


def _target_matchers(matchers: Sequence[Matcher], targets: Sequence[str]) -> list[Matcher]:
    """Loki's rule: a target label the selector does not name must be present (``=~".+"``)."""
    named = {m.name for m in matchers}
    return [*matchers, *(Matcher(MatchType.REGEX, t, ".+") for t in targets if t not in named)]


def volume(reader: LogReader, matchers: Sequence[Matcher], start_ns: int, end_ns: int, *,
           step_ns: int = 0, limit: int = 100, target_labels: Sequence[str] = (),
           aggregate_by: str = "series") -> list[VolumeSeries]:
    """Bytes per series in ``[start_ns, end_ns)``: one bucket ending at ``end_ns`` when
    ``step_ns`` is 0, else buckets aligned to multiples of ``step_ns`` (the first and last
    clipped to the window), each point at its bucket's end. ``matchers`` empty means ``{}``.
    Series come largest first (by their first point), ties by their labels' text."""
    targets = [t for t in target_labels if t]
    keep: set[str] | None  # the label names a series keeps; None: all
    if targets:
        matchers = _target_matchers(matchers, targets)
        keep = set(targets)
    else:
        keep = {m.name for m in matchers} or None
    if step_ns > 0:
        first = start_ns - start_ns % step_ns
        bounds = np.arange(first + step_ns, end_ns, step_ns, dtype=np.int64)
    else:
        bounds = np.zeros(0, dtype=np.int64)
    ends = np.append(bounds, end_ns)
    per_bucket: list[dict[str, tuple[dict[str, str], int]]] = [{} for _ in ends]
    for block in _blocks(reader, matchers, start_ns, end_ns):
        bucket = np.searchsorted(bounds, block.ts_ns, side="right")
        key = bucket.astype(np.int64) * len(block.streams) + block.stream
        sums = np.bincount(key, weights=block.line_bytes,
                           minlength=len(ends) * len(block.streams))
        for k in np.flatnonzero(sums):
            b, s = divmod(int(k), len(block.streams))
            _add(per_bucket[b], block.streams[s], int(sums[k]), keep, aggregate_by, targets)
    points: dict[str, tuple[dict[str, str], list[tuple[int, int]]]] = {}
    for b, found in enumerate(per_bucket):
        ranked = sorted(found.items(), key=lambda kv: (-kv[1][1], kv[0]))[:limit]
        for name, (metric, size) in ranked:
            points.setdefault(name, (metric, []))[1].append((int(ends[b]) // 1_000_000, size))
    ordered = sorted(points.items(), key=lambda kv: (-kv[1][1][0][1], kv[0]))
    return [VolumeSeries(metric, pts) for _, (metric, pts) in ordered]


def _add(found: dict[str, tuple[dict[str, str], int]], stream: Labels, size: int,
         keep: set[str] | None, aggregate_by: str, targets: Sequence[str]) -> None:
    if aggregate_by == "labels":
        for name, _ in stream:
            if not targets or name in targets:
                found[name] = ({name: ""}, found.get(name, ({}, 0))[1] + size)
        return
    labels = stream if keep is None else stream.only(*keep)
    name = str(labels)
    found[name] = (dict(labels), found.get(name, ({}, 0))[1] + size)
