"""Selecting samples for all series and all steps at once.

The series returned by the querier are concatenated into flat arrays. Each sample gets
the sort key ``series_index * span + (t - base)``, which is ascending over the flat
array, so one ``np.searchsorted`` call finds, for every series and every step, the sample
an instant selector picks or the bounds of a range selector's window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from vigil.model.labels import Labels
from vigil.storage.interface import Series, SeriesSet, stale_mask


@dataclass
class Flat:
    labels: list[Labels]
    t: np.ndarray  # int64, all samples, series after series
    v: np.ndarray  # float64
    offsets: np.ndarray  # int64 [S + 1]: series i is t[offsets[i]:offsets[i + 1]]
    base: int
    span: int

    def keys(self, rel: np.ndarray) -> np.ndarray:
        """Search keys [S, N] for per-step times ``rel`` (already minus ``base``)."""
        s = len(self.labels)
        return np.arange(s, dtype=np.int64)[:, None] * self.span + rel[None, :]

    def sample_keys(self) -> np.ndarray:
        sid = np.repeat(np.arange(len(self.labels), dtype=np.int64), np.diff(self.offsets))
        return sid * self.span + (self.t - self.base)


def flatten(series: SeriesSet | Iterable[Series], mint: int, maxt: int,
            drop_stale: bool) -> Flat:
    """Keep the samples in ``[mint, maxt]`` (and no stale markers if ``drop_stale``);
    series left without samples are dropped."""
    if not isinstance(series, SeriesSet):
        series = SeriesSet.of(series)
    t, v, offsets = series.timestamps, series.values, series.offsets
    labels = series.labels
    keep = (t >= mint) & (t <= maxt)
    if drop_stale:
        keep &= ~stale_mask(v)
    if keep.all():
        counts = np.diff(offsets)
    else:
        sid = np.repeat(np.arange(len(labels), dtype=np.int64), np.diff(offsets))
        counts = np.bincount(sid[keep], minlength=len(labels))
        t, v = t[keep], v[keep]
    kept = SeriesSet.from_counts(labels, counts, t, v)
    return Flat(kept.labels, t, v, kept.offsets, mint, maxt - mint + 2)


def instant(flat: Flat, times: np.ndarray, lookback: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each series and step the latest sample in ``(t - lookback, t]``:
    values [S, N], present [S, N], sample timestamps [S, N]. Staleness ends a series."""
    s = len(flat.labels)
    n = len(times)
    if s == 0:
        return np.zeros((0, n)), np.zeros((0, n), dtype=bool), np.zeros((0, n), dtype=np.int64)
    rel = np.clip(times - flat.base, -1, flat.span - 1)
    idx = np.searchsorted(flat.sample_keys(), flat.keys(rel), side="right") - 1
    ok = idx >= flat.offsets[:-1, None]
    idx = np.maximum(idx, 0)
    chosen_t = flat.t[idx]
    chosen_v = flat.v[idx]
    ok &= chosen_t > (times - lookback)[None, :]
    ok &= ~stale_mask(chosen_v)
    return chosen_v, ok, chosen_t


def windows(flat: Flat, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global sample index bounds ``[lo, hi)`` [S, N] of the windows ``(start, end]``."""
    keys = flat.sample_keys()
    lo = np.searchsorted(keys, flat.keys(np.clip(starts - flat.base, -1, flat.span - 1)),
                         side="right")
    hi = np.searchsorted(keys, flat.keys(np.clip(ends - flat.base, -1, flat.span - 1)),
                         side="right")
    return lo, hi
