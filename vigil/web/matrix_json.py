"""The points of range-query series as Prometheus's JSON, built with numpy instead of one
Python string per point.

A range answer holds series × steps points (500 series over 24 h at a 15 s step: 2.8 M), each
written ``[<seconds>,"<value>"]``. Formatting each value with ``repr`` costs ~1.4 µs (its
shortest-digits search is slow for full-precision floats); this module instead lets msgspec
write all values of a batch in one call (the same shortest round-trip digits, ~0.2 µs each),
then lays out timestamp, value and ``"],`` of every point side by side as rows of a byte
matrix and keeps the bytes that belong to them — a few numpy passes per batch.

Values msgspec does not spell as Go does (NaN, ±Inf, and magnitudes written with an exponent:
below 1e-4 or from 1e16 on) are formatted one by one by
:func:`vigil.gocompat.floats.format_sample_value`; within the range, msgspec's digits are
Python's ``repr``'s (checked over millions of random values in the tests), with a trailing
``.0`` dropped as Go does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import msgspec
import numpy as np

from vigil.gocompat.floats import format_sample_value
from vigil.web.formatting import format_timestamp

__all__ = ["series_points_text"]

# Points formatted per batch: bounds the temporary byte matrices (~50 bytes per point).
BATCH_POINTS = 1 << 18

_COMMA = ord(",")
_SUFFIX = np.frombuffer(b'"],', np.uint8)


def _padded(texts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Byte strings as the rows of a zero-padded [n, width] matrix, and their lengths."""
    lens = np.fromiter(map(len, texts), np.int64, len(texts))
    width = int(lens.max()) if len(texts) else 0
    flat = np.frombuffer(b"".join(texts) + bytes(width), np.uint8)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1])) if len(texts) else lens
    rows = np.lib.stride_tricks.sliding_window_view(flat, width)[starts] if width else \
        np.zeros((len(texts), 0), np.uint8)
    return rows, lens


def _values_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's ``<value>"],`` (Go's spelling of the value) as left-aligned byte rows
    of a [n, width] matrix, and their lengths."""
    a = np.abs(values)
    odd = np.flatnonzero(~(((a >= 1e-4) & (a < 1e16)) | (a == 0)))  # NaN lands here too
    plain = values
    if len(odd):
        plain = values.copy()
        plain[odd] = 0.0
    enc = np.frombuffer(msgspec.json.encode(plain.tolist()), np.uint8)
    commas = np.flatnonzero(enc == _COMMA)
    starts = np.concatenate(([1], commas + 1))
    ends = np.concatenate((commas, [len(enc) - 1]))
    # msgspec writes integral floats with ".0"; Go does not.
    integral = (enc[ends - 1] == ord("0")) & (enc[ends - 2] == ord("."))
    lens = ends - starts - 2 * integral
    odd_rows, odd_lens = _padded([format_sample_value(float(values[i])).encode()
                                  for i in odd.tolist()])
    width = max(int(lens.max()), odd_rows.shape[1]) + len(_SUFFIX)
    padded = np.concatenate((enc, np.zeros(width, np.uint8)))
    rows = np.lib.stride_tricks.sliding_window_view(padded, width)[starts]
    if len(odd):
        rows[odd, :odd_rows.shape[1]] = odd_rows
        lens[odd] = odd_lens
    points = np.arange(len(values))
    for k, byte in enumerate(_SUFFIX.tolist()):
        rows[points, lens + k] = byte
    return rows, lens + len(_SUFFIX)


def _points_bytes(prefix_rows: np.ndarray, prefix_lens: np.ndarray, values: np.ndarray
                  ) -> tuple[bytes, np.ndarray]:
    """``[<seconds>,"<value>"],`` for every point of a batch, concatenated, and each point's
    end offset in it. ``prefix_rows``/``prefix_lens`` hold each point's ``[<seconds>,"``."""
    value_rows, value_lens = _values_rows(values)
    n, wp, wv = len(values), prefix_rows.shape[1], value_rows.shape[1]
    rows = np.empty((n, wp + wv), np.uint8)
    rows[:, wp:] = value_rows
    if n and prefix_lens.min() == wp:  # all prefixes one length (the usual case): one mask
        rows[:, :wp] = prefix_rows
        keep = np.arange(wp + wv) < (wp + value_lens)[:, None]
    else:
        rows[:, :wp] = prefix_rows
        keep = np.concatenate((np.arange(wp) < prefix_lens[:, None],
                               np.arange(wv) < value_lens[:, None]), axis=1)
    return rows[keep].tobytes(), np.cumsum(prefix_lens + value_lens)


def _prefix_rows(ts_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[<seconds>,"`` of non-negative ms timestamps as :func:`format_timestamp` writes
    them (the milliseconds as three digits unless zero), as padded rows and lengths: msgspec
    writes the whole seconds, numpy the rest (a 24 h range at a 15 s step has 5,760)."""
    seconds, millis = np.divmod(ts_ms, 1000)
    sec_rows, sec_lens = _values_rows_of(msgspec.json.encode(seconds.tolist()))
    n, width = len(ts_ms), sec_rows.shape[1]
    rows = np.zeros((n, width + 7), np.uint8)
    rows[:, 0] = ord("[")
    rows[:, 1:1 + width] = sec_rows
    points = np.arange(n)
    pos = sec_lens + 1
    fraction = millis != 0
    digits = (millis[:, None] // np.array([100, 10, 1]) % 10 + ord("0")).astype(np.uint8)
    for k, column in enumerate((np.full(n, ord("."), np.uint8), *digits.T)):
        rows[points[fraction], pos[fraction] + k] = column[fraction]
    pos = pos + 4 * fraction
    rows[points, pos] = ord(",")
    rows[points, pos + 1] = ord('"')
    return rows, pos + 2


def _values_rows_of(enc_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The items of a JSON array of numbers (msgspec's output, no spaces) as left-aligned,
    zero-padded byte rows and their lengths."""
    enc = np.frombuffer(enc_bytes, np.uint8)
    commas = np.flatnonzero(enc == _COMMA)
    starts = np.concatenate(([1], commas + 1))
    lens = np.concatenate((commas, [len(enc) - 1])) - starts
    width = int(lens.max())
    padded = np.concatenate((enc, np.zeros(width, np.uint8)))
    rows = np.lib.stride_tricks.sliding_window_view(padded, width)[starts]
    return rows * (np.arange(width) < lens[:, None]), lens


def _timestamp_prefixes(timestamps: Sequence[np.ndarray]
                        ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``[<seconds>,"`` of every distinct timestamp as padded rows and lengths, and for each
    series the row of each of its points. Range answers share one step grid, so a series
    whose timestamps equal the previous one's reuses its rows without a search."""
    grids: list[np.ndarray] = []
    prev: np.ndarray | None = None
    for ts in timestamps:
        if prev is None or not np.array_equal(ts, prev):
            grids.append(ts)
            prev = ts
    distinct = np.unique(np.concatenate(grids)) if grids else np.zeros(0, np.int64)
    if len(distinct) and distinct[0] >= 0:
        rows, lens = _prefix_rows(distinct)
    else:  # negative times (or none): one by one
        rows, lens = _padded([f'[{format_timestamp(t)},"'.encode() for t in distinct.tolist()])
    index: list[np.ndarray] = []
    prev, prev_index = None, np.zeros(0, np.int64)
    for ts in timestamps:
        if prev is None or not np.array_equal(ts, prev):
            prev, prev_index = ts, np.searchsorted(distinct, ts)
        index.append(prev_index)
    return rows, lens, index


def _batches(sizes: list[int]) -> Iterator[tuple[int, int]]:
    """Runs ``[i, j)`` of whole series holding about BATCH_POINTS points (or one series)."""
    i = 0
    while i < len(sizes):
        j, n = i, 0
        while j < len(sizes) and (j == i or n + sizes[j] <= BATCH_POINTS):
            n += sizes[j]
            j += 1
        yield i, j
        i = j


def series_points_text(timestamps: Sequence[np.ndarray], values: Sequence[np.ndarray]
                       ) -> list[str]:
    """For each series (int64 ms timestamps, float64 values), its points as the inside of
    Prometheus's ``"values"`` array: ``[1700000000.123,"1.5"],[1700000015.123,"2"]``."""
    prefix_rows, prefix_lens, prefix_index = _timestamp_prefixes(timestamps)
    sizes = [len(ts) for ts in timestamps]
    out: list[str] = []
    for i, j in _batches(sizes):
        if not sum(sizes[i:j]):
            out.extend("" for _ in range(i, j))
            continue
        rows = np.concatenate(prefix_index[i:j])
        text, ends = _points_bytes(prefix_rows[rows], prefix_lens[rows],
                                   np.concatenate([np.asarray(v, np.float64)
                                                   for v in values[i:j]]))
        joined = text.decode("ascii")
        last = np.cumsum(sizes[i:j]) - 1
        pos = 0
        for k, end_point in zip(range(i, j), last.tolist(), strict=True):
            if not sizes[k]:
                out.append("")
                continue
            end = int(ends[end_point])
            out.append(joined[pos:end - 1])  # without the trailing comma
            pos = end
    return out
