"""Cardinality statistics for ``vigil tsdb stats``, as ``promtool tsdb analyze`` reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from vigil.model.labels import METRIC_NAME
from vigil.tsdb.db import DB

__all__ = ["Cardinality", "cardinality", "summary"]


@dataclass(frozen=True)
class Cardinality:
    """Distinct series across head and blocks, and the top contributors (count descending)."""

    series: int
    by_metric: list[tuple[str, int]]        # series per metric name
    by_label: list[tuple[str, int]]         # series having each label name
    label_values: list[tuple[str, int]]     # distinct values per label name


def cardinality(db: DB, top: int = 10) -> Cardinality:
    """Count distinct label sets in the head and every block. Reads the indexes only."""
    labelsets = db.series_labels()
    by_metric: Counter[str] = Counter()
    by_label: Counter[str] = Counter()
    values: dict[str, set[str]] = {}
    for lbs in labelsets:
        for n, v in lbs:
            if n == METRIC_NAME:
                by_metric[v] += 1
            by_label[n] += 1
            values.setdefault(n, set()).add(v)
    per_label = Counter({n: len(vs) for n, vs in values.items()})
    return Cardinality(len(labelsets), by_metric.most_common(top), by_label.most_common(top),
                       per_label.most_common(top))


def summary(db: DB, top: int = 10) -> dict[str, Any]:
    """``DB.stats()`` plus bytes per sample and :func:`cardinality`, JSON-ready."""
    st = db.stats()
    card = cardinality(db, top)
    st["series"] = card.series
    st["block_bytes_per_sample"] = (round(st["block_bytes"] / st["block_samples"], 3)
                                    if st["block_samples"] else None)
    st["top_metrics_by_series"] = card.by_metric
    st["top_labels_by_series"] = card.by_label
    st["top_labels_by_values"] = card.label_values
    return st
