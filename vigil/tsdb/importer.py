"""Backfill: load OpenMetrics text with timestamps into the TSDB (``vigil tsdb import``).

The input is what ``promtool tsdb create-blocks-from openmetrics`` reads: OpenMetrics 1.0
text ending in ``# EOF``, every sample with a timestamp (seconds). Samples are grouped per
series and sorted by time, so the file need not be in time order across series.

Where samples go: everything older than the *cutoff* — the start of the block-range window
holding the head's oldest sample (or, with an empty head, the window of the newest imported
sample) — is written as new blocks, one per block-range window; the rest goes through an
ordinary appender into the head (so it obeys the head's out-of-order rules). Blocks may
overlap existing blocks; queries merge them. Data older than the retention period is
deleted by the next compaction, as any other.

Errors name the place: ``file:line: message`` (parse errors, a sample without timestamp,
two values for one timestamp); nothing is written when the input has an error.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vigil.errors import ParseError, StorageError
from vigil.model.labels import Labels
from vigil.tsdb.db import DB
from vigil.tsdb.head import SeriesData

__all__ = ["ImportResult", "OpenMetricsParser", "import_openmetrics"]

_D = struct.Struct("<d")


@dataclass(frozen=True)
class ImportResult:
    series: int
    samples: int
    blocks: list[str]   # directories of the blocks written
    head_samples: int   # samples appended to the head
    rejected: int       # head samples refused (out of order / duplicate against stored data)
    min_time_ms: int | None
    max_time_ms: int | None


# Parses OpenMetrics text into (labels, value, ts_ms or None), one per sample line, raising
# ParseError("line N: ...") -- vigil.collect.exposition's parser; passed in because the TSDB
# imports nothing from the stages above it.
OpenMetricsParser = Callable[[bytes | str], Sequence[tuple[Labels, float, int | None]]]


def import_openmetrics(db: DB, data: bytes | str, parse: OpenMetricsParser, *,
                       name: str = "<input>") -> ImportResult:
    """Import ``data`` (OpenMetrics text) into ``db``. Raises :class:`ParseError` whose
    message starts with ``name:line:`` for bad input (then nothing is written), and
    :class:`StorageError` if writing fails."""
    try:
        samples = parse(data)
    except ParseError as e:
        msg = e.message.split(": ", 1)[1] if e.message.startswith("line ") else e.message
        col = f":{e.column}" if e.column else ""
        raise ParseError(f"{name}:{e.line}{col}: {msg}", line=e.line, column=e.column) from None
    text = data.decode("utf-8") if isinstance(data, bytes) else data  # parse checked it
    lines: list[int] | None = None

    def where(i: int) -> str:
        nonlocal lines
        if lines is None:  # the i-th sample is the i-th line that is neither comment nor blank
            lines = [n for n, ln in enumerate(text.split("\n"), 1) if ln and not ln.startswith("#")]
        return f"{name}:{lines[i]}" if i < len(lines) else name

    grouped: dict[Labels, list[tuple[int, float, int]]] = {}
    for i, (labels, value, ts_ms) in enumerate(samples):
        if ts_ms is None:
            raise ParseError(f"{where(i)}: expected timestamp for series {labels}")
        grouped.setdefault(labels, []).append((ts_ms, value, i))
    series: list[SeriesData] = []
    for labels in sorted(grouped):
        rows = sorted(grouped[labels], key=lambda r: r[0])
        ts: list[int] = []
        vals: list[float] = []
        for t, v, i in rows:
            if ts and ts[-1] == t:
                if _D.pack(vals[-1]) != _D.pack(v):
                    raise ParseError(f"{where(i)}: duplicate sample for timestamp: {labels} @ {t}")
                continue
            ts.append(t)
            vals.append(v)
        series.append(SeriesData(labels, np.array(ts, dtype=np.int64), np.array(vals, dtype=np.float64)))
    if not series:
        return ImportResult(0, 0, [], 0, 0, None, None)
    return _write(db, series)


def _write(db: DB, series: list[SeriesData]) -> ImportResult:
    rng = db.block_range_ms
    mint = min(int(s.timestamps[0]) for s in series)
    maxt = max(int(s.timestamps[-1]) for s in series)
    stats = db.stats()
    oldest_head = stats["head_min_time"] if stats["head_min_time"] is not None else maxt
    cutoff = (oldest_head // rng) * rng
    windows: dict[int, list[SeriesData]] = {}
    head_part: list[SeriesData] = []
    for s in series:  # sorted by labels, so every window's list is too
        ts, vals = s.timestamps, s.values
        split = int(ts.searchsorted(cutoff, "left"))
        if split < len(ts):
            head_part.append(SeriesData(s.labels, ts[split:], vals[split:]))
        if split:
            w = ts[:split] // rng
            bounds = np.flatnonzero(np.diff(w)) + 1
            for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), split], strict=True):
                windows.setdefault(int(w[a]), []).append(SeriesData(s.labels, ts[a:b], vals[a:b]))
    blocks = [db.add_block(windows[w], (w + 1) * rng) for w in sorted(windows)]
    head_samples = rejected = 0
    if head_part:
        app = db.appender()
        for s in head_part:
            for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True):
                try:
                    app.append(s.labels, t, v)
                    head_samples += 1
                except StorageError:
                    rejected += 1
        app.commit()
    return ImportResult(len(series), sum(len(s.timestamps) for s in series), blocks,
                        head_samples, rejected, mint, maxt)
