"""merge_series_sets against a plain reference: parts with the same, different and
disjoint series, empty series, overlapping and repeated timestamps."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.model.labels import Labels
from vigil.storage.interface import SeriesSet
from vigil.tsdb.merge import merge_series_sets


def series_set(series: dict[Labels, list[tuple[int, float]]]) -> SeriesSet:
    labels = sorted(series)
    offsets = np.cumsum([0] + [len(series[lb]) for lb in labels]).astype(np.int64)
    ts = np.array([t for lb in labels for t, _ in series[lb]], np.int64)
    vals = np.array([v for lb in labels for _, v in series[lb]], np.float64)
    return SeriesSet(labels, ts, vals, offsets)


def reference(parts: list[dict[Labels, list[tuple[int, float]]]]
              ) -> dict[Labels, list[tuple[int, float]]]:
    out: dict[Labels, dict[int, float]] = {}
    for part in parts:
        for lb, samples in part.items():  # a series without samples is kept, empty
            kept = out.setdefault(lb, {})
            for t, v in samples:
                kept.setdefault(t, v)  # the first copy wins
    return {lb: sorted(s.items()) for lb, s in sorted(out.items())}


def as_dict(s: SeriesSet) -> dict[Labels, list[tuple[int, float]]]:
    return {lb: list(zip(s.timestamps[a:b].tolist(), s.values[a:b].tolist(), strict=True))
            for lb, a, b in zip(s.labels, s.offsets[:-1].tolist(), s.offsets[1:].tolist(),
                                strict=True)}


@pytest.mark.parametrize("seed", range(30))
def test_merge_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = [Labels({"__name__": "m", "i": str(i)}) for i in range(12)]
    overlapping = seed % 3 == 0
    parts = []
    for k in range(int(rng.integers(2, 6))):
        part = {}
        for i in rng.choice(len(names), int(rng.integers(0, 12)), replace=False).tolist():
            lb = names[i]
            lo = 0 if overlapping else k * 1000
            times = np.unique(rng.integers(lo, lo + 1000, int(rng.integers(0, 20))))
            part[lb] = [(t, float(rng.normal())) for t in times.tolist()]
        parts.append(part)
    merged = merge_series_sets([series_set(p) for p in parts])
    want = reference(parts)
    got = as_dict(merged)
    assert list(got) == list(want)
    assert got == want
    assert merged.offsets[-1] == len(merged.timestamps) == len(merged.values)


def test_parts_touching_at_one_timestamp_keep_the_older_copy() -> None:
    lb = Labels({"__name__": "m"})
    old = series_set({lb: [(1, 1.0), (5, 2.0)]})
    new = series_set({lb: [(5, 9.0), (7, 3.0)]})
    assert as_dict(merge_series_sets([old, new])) == {lb: [(1, 1.0), (5, 2.0), (7, 3.0)]}
