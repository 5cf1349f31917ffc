"""The samples a selector reads, as flat arrays for the compiled kernels.

The series returned by the querier stay concatenated (series ``i`` is
``t[offsets[i]:offsets[i + 1]]``); :mod:`vigil.promql._kernel` walks them with the steps.
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
    return Flat(kept.labels, t, v, kept.offsets)
