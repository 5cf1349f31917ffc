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

    Parts are usually consecutive blocks holding the same series: each sample's place in
    the output is computed (no sort), and only overlapping parts need a sort by time."""
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
    # counts[k, g]: samples of series g in part k; a part's samples of g start after the
    # earlier parts' samples of g.
    counts = np.zeros((len(parts), len(labels)), np.int64)
    for k, (p, local) in enumerate(zip(parts, locals_, strict=True)):
        counts[k, rank[local]] = np.diff(p.offsets)
    offsets = np.zeros(len(labels) + 1, np.int64)
    np.cumsum(counts.sum(axis=0), out=offsets[1:])
    before = offsets[:-1] + np.cumsum(counts, axis=0) - counts
    total = int(offsets[-1])
    ts = np.empty(total, np.int64)
    vals = np.empty(total, np.float64)
    for k, (p, local) in enumerate(zip(parts, locals_, strict=True)):
        sizes = np.diff(p.offsets)
        pos = np.arange(len(p.timestamps)) + np.repeat(before[k, rank[local]] - p.offsets[:-1],
                                                        sizes)
        ts[pos] = p.timestamps
        vals[pos] = p.values
    if total > 1:
        sid = np.repeat(np.arange(len(labels)), np.diff(offsets))
        if ((ts[1:] <= ts[:-1]) & (sid[1:] == sid[:-1])).any():  # overlapping parts
            perm_t = np.lexsort((ts, sid))
            sid, ts, vals = sid[perm_t], ts[perm_t], vals[perm_t]
            keep = np.concatenate(([True], (sid[1:] != sid[:-1]) | (ts[1:] != ts[:-1])))
            sid, ts, vals = sid[keep], ts[keep], vals[keep]
            np.cumsum(np.bincount(sid, minlength=len(labels)), out=offsets[1:])
    return SeriesSet(order, ts, vals, offsets)
