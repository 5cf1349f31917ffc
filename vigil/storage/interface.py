"""Protocols for writing and reading samples.

Units: timestamps are integer milliseconds since the Unix epoch; values are float64.
A staleness marker is the special NaN :data:`STALE_NAN` (same bit pattern as Prometheus),
stored like any sample and told apart from an ordinary NaN with :func:`is_stale`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher

_STALE_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", _STALE_BITS))[0]


def is_stale(value: float) -> bool:
    return struct.pack("<d", value) == struct.pack("<Q", _STALE_BITS)


def stale_mask(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the staleness markers in a float64 array."""
    return values.view(np.uint64) == np.uint64(_STALE_BITS)


@dataclass(frozen=True)
class Series:
    """One series' samples in ``[mint, maxt]``: ``timestamps`` int64 ms ascending, ``values`` float64.

    The arrays are owned by the caller once returned; the store never mutates them.
    """

    labels: Labels
    timestamps: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class SeriesSet:
    """Many series' samples in flat arrays, as queries consume them.

    Series ``i`` has labels ``labels[i]`` and the samples
    ``timestamps[offsets[i]:offsets[i + 1]]`` / ``values[...]`` (ascending, int64 ms and
    float64). Keeping all samples in one pair of arrays lets the query engine work on every
    series at once instead of one Python object per series. Iterating yields :class:`Series`
    views of the flat arrays. The arrays are owned by the caller once returned.
    """

    labels: list[Labels]
    timestamps: np.ndarray
    values: np.ndarray
    offsets: np.ndarray  # int64, len(labels) + 1

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self) -> Iterator[Series]:
        o = self.offsets.tolist()
        for i, labels in enumerate(self.labels):
            yield Series(labels, self.timestamps[o[i]:o[i + 1]], self.values[o[i]:o[i + 1]])

    @classmethod
    def empty(cls) -> SeriesSet:
        return cls([], np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(1, np.int64))

    @classmethod
    def from_counts(cls, labels: list[Labels], counts: np.ndarray, timestamps: np.ndarray,
                    values: np.ndarray) -> SeriesSet:
        """Series ``i`` takes the next ``counts[i]`` samples; series with none are left out."""
        present = counts > 0
        if not present.all():
            labels = [lb for lb, p in zip(labels, present.tolist(), strict=True) if p]
            counts = counts[present]
        offsets = np.zeros(len(labels) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(labels, timestamps, values, offsets)

    @classmethod
    def of(cls, series: Iterable[Series]) -> SeriesSet:
        """Concatenate ``series`` (in the given order)."""
        items = list(series)
        if not items:
            return cls.empty()
        lengths = np.fromiter((len(s.timestamps) for s in items), np.int64, len(items))
        offsets = np.zeros(len(items) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls([s.labels for s in items],
                   np.concatenate([np.asarray(s.timestamps, np.int64) for s in items]),
                   np.concatenate([np.asarray(s.values, np.float64) for s in items]), offsets)


class Appender(Protocol):
    """A batch of samples to add. Nothing is visible until :meth:`commit`; after ``commit``
    returns, the batch is durable (in the write-ahead log). An appender is not reused after
    ``commit`` or ``rollback``. Not thread-safe: one appender per writer."""

    def append(self, labels: Labels, ts_ms: int, value: float) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Querier(Protocol):
    """Read access to samples with timestamps in ``[mint_ms, maxt_ms]`` (both inclusive)."""

    def select(self, matchers: Sequence[Matcher]) -> SeriesSet:
        """Series matching all matchers, each with at least one sample in range, in label order."""
        ...

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]: ...

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]: ...

    def close(self) -> None: ...


class Storage(Protocol):
    """A time-series store. Thread-safe: appenders and queriers may be used from any thread."""

    def appender(self) -> Appender: ...

    def querier(self, mint_ms: int, maxt_ms: int) -> Querier: ...

    def close(self) -> None: ...
