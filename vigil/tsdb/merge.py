"""Merging series sets read from several parts of the store (blocks, the head, the head's
out-of-order buffer)."""

from __future__ import annotations

import numpy as np

from vigil.model.labels import Labels
from vigil.storage.interface import SeriesSet

__all__ = ["merge_series_sets"]


def merge_series_sets(parts: list[SeriesSet]) -> SeriesSet:
    """One SeriesSet in label order from ``parts`` (each in label order) given oldest
    first. A series in several parts gets their samples in time order; a timestamp seen
    twice keeps the first copy.

    Parts are usually consecutive blocks holding the same series: each series' run of
    samples from each part is copied to its place (no sort), and only overlapping parts
    need a sort by time."""
    if not parts:
        return SeriesSet.empty()
    if len(parts) == 1:
        return parts[0]
    ids: dict[Labels, int] = {}
    locals_: list[np.ndarray] = []
    prev: list[Labels] | None = None
    for p in parts:
        if prev is None or p.labels != prev:  # consecutive blocks mostly share their series
            local = np.fromiter((ids.setdefault(lb, len(ids)) for lb in p.labels), np.int64,
                                len(p.labels))
        locals_.append(local)
        prev = p.labels
    labels = list(ids)
    if all(a < b for a, b in zip(labels, labels[1:], strict=False)):
        order, rank = labels, np.arange(len(labels))
    else:
        perm = sorted(range(len(labels)), key=labels.__getitem__)
        order = [labels[i] for i in perm]
        rank = np.empty(len(labels), np.int64)
        rank[perm] = np.arange(len(labels))
    # One run per (part, series) pair with samples, in output order (series by rank, then
    # parts oldest first): copying runs of a few hundred samples costs less than placing
    # every sample by an index (two passes over all samples more).
    part_of, rank_of, start_of, end_of = [], [], [], []
    for k, (p, local) in enumerate(zip(parts, locals_, strict=True)):
        nonempty = np.flatnonzero(np.diff(p.offsets) > 0)
        part_of.append(np.full(len(nonempty), k, np.int64))
        rank_of.append(rank[local[nonempty]])
        start_of.append(p.offsets[nonempty])
        end_of.append(p.offsets[nonempty + 1])
    part_r, rank_r = np.concatenate(part_of), np.concatenate(rank_of)
    start_r, end_r = np.concatenate(start_of), np.concatenate(end_of)
    runs = np.lexsort((part_r, rank_r))
    part_r, rank_r, start_r, end_r = part_r[runs], rank_r[runs], start_r[runs], end_r[runs]
    offsets = np.zeros(len(labels) + 1, np.int64)
    np.cumsum(np.bincount(rank_r, weights=end_r - start_r, minlength=len(labels)).astype(
        np.int64), out=offsets[1:])
    part_ts = [p.timestamps for p in parts]
    part_vals = [p.values for p in parts]
    bounds = list(zip(part_r.tolist(), start_r.tolist(), end_r.tolist(), strict=True))
    ts = np.concatenate([part_ts[k][a:b] for k, a, b in bounds]) if bounds else \
        np.zeros(0, np.int64)
    vals = np.concatenate([part_vals[k][a:b] for k, a, b in bounds]) if bounds else \
        np.zeros(0, np.float64)
    # Each part is in time order per series, so parts overlap only if a run of a series
    # does not start after the end of the series' run before it.
    same_series = rank_r[1:] == rank_r[:-1]
    firsts = ts[np.cumsum(end_r - start_r) - (end_r - start_r)]
    lasts = ts[np.cumsum(end_r - start_r) - 1]
    if (same_series & (firsts[1:] <= lasts[:-1])).any():  # overlapping parts
        sid = np.repeat(np.arange(len(labels)), np.diff(offsets))
        perm_t = np.lexsort((ts, sid))
        sid, ts, vals = sid[perm_t], ts[perm_t], vals[perm_t]
        keep = np.concatenate(([True], (sid[1:] != sid[:-1]) | (ts[1:] != ts[:-1])))
        sid, ts, vals = sid[keep], ts[keep], vals[keep]
        np.cumsum(np.bincount(sid, minlength=len(labels)), out=offsets[1:])
    return SeriesSet(order, ts, vals, offsets)
