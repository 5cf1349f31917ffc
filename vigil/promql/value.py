"""The values a PromQL evaluation returns, shared with the API and the rule engine.

Timestamps are int milliseconds; values float64. A range query always returns a
:class:`Matrix` (or a :class:`Scalar`/:class:`String` converted to one by the caller as
Prometheus does: a scalar range result is a matrix with one unlabelled series).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from vigil.model.labels import Labels


@dataclass(frozen=True)
class Sample:
    labels: Labels
    ts_ms: int
    value: float


@dataclass(frozen=True)
class Vector:
    samples: list[Sample]
    type: Literal["vector"] = "vector"


@dataclass(frozen=True)
class RangeSeries:
    labels: Labels
    timestamps: np.ndarray  # int64 ms, ascending
    values: np.ndarray  # float64, same length


@dataclass(frozen=True)
class Matrix:
    series: list[RangeSeries]
    type: Literal["matrix"] = "matrix"


@dataclass(frozen=True)
class Scalar:
    ts_ms: int
    value: float
    type: Literal["scalar"] = "scalar"


@dataclass(frozen=True)
class String:
    ts_ms: int
    value: str
    type: Literal["string"] = "string"


Value = Vector | Matrix | Scalar | String


@dataclass(frozen=True)
class QueryResult:
    value: Value
    warnings: tuple[str, ...] = ()
    infos: tuple[str, ...] = ()
