"""The evaluator's internal values: whole series over all evaluation steps as numpy arrays.

An instant vector evaluated at ``N`` steps is a :class:`Block`: one row per series with a
``[S, N]`` float64 value array and a ``[S, N]`` bool ``present`` mask ("the series has a
sample at this step"); NaN is an ordinary value, absence is only in ``present``. A scalar
is a :class:`ScalarSteps` (one value per step, always present). A range vector is a
:class:`RangeArg`: all series' raw samples in flat arrays plus, per step, the window
``(t - range, t]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from vigil.errors import QueryError
from vigil.model.labels import Labels
from vigil.promql._kernel import window_bounds


@dataclass
class Block:
    labels: list[Labels]
    values: np.ndarray  # float64 [S, N]
    present: np.ndarray  # bool [S, N]
    # Per row: the metric name is to be dropped at the end of evaluation (Prometheus's
    # delayed name removal), so label_replace can still read it and the collision
    # check happens once, on the final labels.
    drop: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.drop is None:
            self.drop = np.zeros(len(self.labels), dtype=bool)

    @classmethod
    def empty(cls, n: int) -> Block:
        return cls([], np.zeros((0, n)), np.zeros((0, n), dtype=bool))

    def rows(self, idx: np.ndarray | list[int]) -> Block:
        idx = np.asarray(idx, dtype=np.int64)
        assert self.drop is not None
        return Block([self.labels[i] for i in idx], self.values[idx], self.present[idx],
                     self.drop[idx])

    def with_drop(self) -> Block:
        return Block(self.labels, self.values, self.present, np.ones(len(self.labels), dtype=bool))

    def __len__(self) -> int:
        return len(self.labels)

    def compact(self) -> Block:
        """Drop rows that are absent at every step."""
        keep = self.present.any(axis=1)
        if keep.all():
            return self
        return self.rows(np.nonzero(keep)[0])


@dataclass
class ScalarSteps:
    values: np.ndarray  # float64 [N]


@dataclass
class StringValue:
    value: str


class FlatRows(Sequence[np.ndarray]):
    """Per-series views made on access: row ``i`` is ``data[starts[i]:ends[i]]`` minus
    ``shift[i]``. Lets a range vector over many series keep one flat array instead of one
    Python object per series until something asks for a series."""

    def __init__(self, data: np.ndarray, starts: np.ndarray, ends: np.ndarray | None = None,
                 shift: np.ndarray | None = None) -> None:
        self._data, self._starts, self._ends, self._shift = data, starts, ends, shift

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, i: slice) -> list[np.ndarray]: ...

    def __getitem__(self, i: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if self._ends is None:
            row = self._data[i]
        else:
            row = self._data[self._starts[i]:self._ends[i]]
        return row if self._shift is None else row - self._shift[i]


@dataclass
class RangeArg:
    """Samples of each series (staleness markers removed), back to back in flat arrays,
    and per step the window ``(range_start, range_end]``.

    Series ``i`` is ``t[offsets[i]:offsets[i + 1]]`` / ``v[...]``; only series with a sample
    in at least one window are kept. The compiled kernels (:mod:`vigil.promql._kernel`) read
    the flat arrays directly; :meth:`bounds` gives the windows as sample indices for the
    functions that gather windows in numpy."""

    labels: list[Labels]
    t: np.ndarray  # int64 ms, all series
    v: np.ndarray  # float64
    offsets: np.ndarray  # int64 [S + 1]
    range_start: np.ndarray  # int64 [N] ms, exclusive window start per step
    range_end: np.ndarray  # int64 [N] ms, inclusive window end per step
    range_ms: int
    extra: dict = field(default_factory=dict)
    eval_ts: np.ndarray | None = None  # int64 [N] ms: the steps, before offset and @
    _bounds: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def empty(cls, range_start: np.ndarray, range_end: np.ndarray, range_ms: int,
              **kw: Any) -> RangeArg:
        return cls([], np.zeros(0, np.int64), np.zeros(0), np.zeros(1, np.int64), range_start,
                   range_end, range_ms, **kw)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Flat sample indices ``[lo, hi)`` [S, N] of every series' window at every step."""
        if self._bounds is None:
            self._bounds = window_bounds(self.t, self.offsets, self.range_start, self.range_end)
        return self._bounds

    @property
    def timestamps(self) -> FlatRows:
        return FlatRows(self.t, self.offsets[:-1], self.offsets[1:])

    @property
    def values(self) -> FlatRows:
        return FlatRows(self.v, self.offsets[:-1], self.offsets[1:])

    @property
    def lo(self) -> FlatRows:
        """Per series, window starts as indices into that series' samples."""
        return FlatRows(self.bounds()[0], self.offsets[:-1], shift=self.offsets[:-1])

    @property
    def hi(self) -> FlatRows:
        return FlatRows(self.bounds()[1], self.offsets[:-1], shift=self.offsets[:-1])


METADATA_LABELS = ("__name__", "__type__", "__unit__")


# Label sets without their name, by label set: a rate() over 100,000 series drops the name
# of each, query after query, and the head hands out the same Labels objects every time, so
# a lookup (0.5 us) replaces building a new set (2-6 us, holding the GIL). Bounded: emptied
# when full. Dict reads and writes are atomic, so concurrent queries may share it.
_NAMELESS: dict[Labels, Labels] = {}
_NAMELESS_MAX = 250_000


def drop_metadata(lb: Labels) -> Labels:
    """``lb`` without the metric name and the type/unit metadata labels that go with it."""
    found = _NAMELESS.get(lb)
    if found is not None:
        return found
    # The usual case: the name sorts first and no other "__" label follows it.
    if lb and lb[0][0] == "__name__" and (len(lb) == 1 or not lb[1][0].startswith("__")):
        found = tuple.__new__(Labels, lb[1:])
    else:
        found = lb.without(*METADATA_LABELS)
    if len(_NAMELESS) >= _NAMELESS_MAX:
        _NAMELESS.clear()
    _NAMELESS[lb] = found
    return found


def finalize_names(block: Block) -> Block:
    """Drop the metric name of flagged rows, then merge rows that became equal."""
    assert block.drop is not None
    if not block.drop.any():
        return merge_same_labels(block)
    labels = [drop_metadata(lb) if d else lb for lb, d in zip(block.labels, block.drop, strict=True)]
    return merge_same_labels(Block(labels, block.values, block.present))


def merge_same_labels(block: Block) -> Block:
    """Fold rows with equal label sets into one; two rows present at one step is an error.

    Prometheus checks this per step once the metric name has been dropped.
    """
    first: dict[Labels, int] = {}
    dup = False
    for i, lb in enumerate(block.labels):
        if lb in first:
            dup = True
        else:
            first[lb] = i
    if not dup:
        return block
    groups: dict[Labels, list[int]] = {}
    for i, lb in enumerate(block.labels):
        groups.setdefault(lb, []).append(i)
    labels = list(groups)
    n = block.values.shape[1]
    values = np.zeros((len(labels), n))
    present = np.zeros((len(labels), n), dtype=bool)
    for j, lb in enumerate(labels):
        rows = groups[lb]
        if len(rows) == 1:
            values[j] = block.values[rows[0]]
            present[j] = block.present[rows[0]]
            continue
        p = block.present[rows]
        if (p.sum(axis=0) > 1).any():
            raise QueryError("vector cannot contain metrics with the same labelset")
        present[j] = p.any(axis=0)
        values[j] = np.where(p, block.values[rows], 0.0).sum(axis=0)
    return Block(labels, values, present)


def group_ids(keys: list[Labels]) -> tuple[np.ndarray, list[Labels]]:
    """Map each key to a dense group id; return ids and the distinct keys in first-seen order."""
    index: dict[Labels, int] = {}
    ids = np.empty(len(keys), dtype=np.int64)
    for i, k in enumerate(keys):
        ids[i] = index.setdefault(k, len(index))
    return ids, list(index)


def group_sum(ids: np.ndarray, ngroups: int, arr: np.ndarray) -> np.ndarray:
    """Sum rows of ``arr`` ([S, N]) into ``ngroups`` rows by ``ids`` (members in input order).

    Int64 input gives int64 sums, anything else float64."""
    dtype = np.int64 if arr.dtype == np.int64 else np.float64
    out = np.zeros((ngroups, arr.shape[1]), dtype=dtype)
    if len(ids) == 0:
        return out
    if ngroups == len(ids) and (ids == np.arange(len(ids))).all():
        return arr.astype(dtype, copy=True)
    # Sorting rows by group and summing runs is much faster than np.add.at on 2-D arrays.
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    out[sorted_ids[starts]] = np.add.reduceat(arr[order].astype(dtype, copy=False), starts, axis=0)
    return out


def group_reduce(ufunc: np.ufunc, ids: np.ndarray, ngroups: int, arr: np.ndarray,
                 fill: float) -> np.ndarray:
    """Reduce rows of ``arr`` by group with ``ufunc`` (e.g. np.fmax); empty groups get ``fill``."""
    out = np.full((ngroups, arr.shape[1]), fill)
    if len(ids):
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
        out[sorted_ids[starts]] = ufunc.reduceat(arr[order], starts, axis=0)
    return out
