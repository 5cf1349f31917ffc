"""Range functions over the windows of one series, and vector aggregations across series.

Both work on every evaluation step at once: a window is the index range ``lo[i]:hi[i]`` of a
series' time-sorted samples; a series set maps labels to ``(values, present)`` per step.
``quantile_over_time`` interpolates as Prometheus's ``quantile`` does; ``stddev``/``stdvar`` are
population statistics. ``rate_counter`` is PromQL's ``rate`` over the unwrapped values, as Loki
computes it: counter resets added back, extrapolated towards the window's edges (the window is
the query's, not the samples'), 0 for a window with fewer than two samples. ``approx_topk`` is
answered exactly (``topk``), which Loki's approximation tends to; like Loki it is refused in a
range query.
"""

from __future__ import annotations

import math

import numpy as np

from vigil.logs.logql import ast
from vigil.logs.logql.binops import SeriesSet
from vigil.logs.logql.errors import QueryError
from vigil.model.labels import Labels

__all__ = ["range_function", "vector_aggregate"]


def _quantile(q: float, values: np.ndarray) -> float:
    if len(values) == 0:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = np.sort(values)
    rank = q * (len(ordered) - 1)
    low = max(0, int(math.floor(rank)))
    high = min(len(ordered) - 1, low + 1)
    weight = rank - math.floor(rank)
    return float(ordered[low] * (1 - weight) + ordered[high] * weight)


def _counter_rate(times: np.ndarray, values: np.ndarray, range_end: int, range_ns: int) -> float:
    """Per-second increase of a counter sampled at ``times`` (ns) in the window
    ``(range_end - range_ns, range_end]``, extrapolated as PromQL's ``rate``."""
    if len(values) < 2:
        return 0.0
    increase = float(values[-1] - values[0])
    drops = values[1:] < values[:-1]
    increase += float(values[:-1][drops].sum())  # a reset: the value before it was counted
    sampled = (times[-1] - times[0]) / 1e9
    if sampled == 0:  # every sample at one instant: Loki's extrapolation divides 0 by 0
        return math.nan
    average = sampled / (len(values) - 1)
    to_start = (times[0] - (range_end - range_ns)) / 1e9
    to_end = (range_end - times[-1]) / 1e9
    threshold = average * 1.1
    if to_start >= threshold:
        to_start = average / 2
    if increase > 0 and values[0] >= 0:  # a counter does not start below zero
        to_start = min(to_start, sampled * (float(values[0]) / increase))
    if to_end >= threshold:
        to_end = average / 2
    return increase * ((sampled + to_start + to_end) / sampled) / (range_ns / 1e9)


def range_function(expr: ast.RangeAggregation, values: np.ndarray, lo: np.ndarray,
                   hi: np.ndarray, range_s: float, times: np.ndarray | None = None,
                   ends: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each window's value and whether the window had samples. ``times`` (ns, sorted, one
    per value) and ``ends`` (each window's upper edge, ns) are needed by ``rate_counter``."""
    op = expr.op
    counts = (hi - lo).astype(np.float64)
    present = hi > lo
    if op in ("count_over_time", "bytes_over_time", "bytes_rate", "rate", "sum_over_time",
              "avg_over_time"):
        cumulative = np.concatenate(([0.0], np.cumsum(values)))
        sums = cumulative[hi] - cumulative[lo]
        if op == "count_over_time":
            return counts, present
        if op == "rate" and expr.range.unwrap is None:
            return counts / range_s, present
        if op in ("bytes_rate", "rate"):
            return sums / range_s, present
        if op == "avg_over_time":
            with np.errstate(all="ignore"):
                return sums / np.where(counts == 0, 1, counts), present
        return sums, present
    out = np.zeros(len(lo))
    if op == "rate_counter":
        if times is None or ends is None:
            raise ValueError("rate_counter needs the sample times and the window ends")
        range_ns = round(range_s * 1e9)
        for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
            if b > a:
                out[i] = _counter_rate(times[a:b], values[a:b], int(ends[i]), range_ns)
        return out, present
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if b <= a:
            continue
        window = values[a:b]
        if op == "max_over_time":
            out[i] = np.max(window)
        elif op == "min_over_time":
            out[i] = np.min(window)
        elif op == "first_over_time":
            out[i] = window[0]
        elif op == "last_over_time":
            out[i] = window[-1]
        elif op in ("stdvar_over_time", "stddev_over_time"):
            var = float(np.var(window))
            out[i] = var if op == "stdvar_over_time" else math.sqrt(var)
        else:  # quantile_over_time
            assert expr.param is not None
            out[i] = _quantile(expr.param, window)
    return out, present


def _group_key(labels: Labels, grouping: ast.Grouping | None) -> Labels:
    if grouping is None:
        return Labels()
    if grouping.without:
        return labels.without(*grouping.labels)
    return labels.only(*grouping.labels)


def vector_aggregate(expr: ast.VectorAggregation, series: SeriesSet, n: int) -> SeriesSet:
    op = expr.op
    if op in ("sort", "sort_desc"):
        return series  # ordering is applied to an instant result
    if op == "approx_topk" and n > 1:
        raise QueryError("count min sketches are only supported on instant queries")
    groups: dict[Labels, list[Labels]] = {}
    for labels in series:
        groups.setdefault(_group_key(labels, expr.grouping), []).append(labels)
    out: SeriesSet = {}
    for key, members in groups.items():
        values = np.stack([series[m][0] for m in members])
        present = np.stack([series[m][1] for m in members])
        if op in ("topk", "bottomk", "approx_topk"):
            _top(out, "bottomk" if op == "bottomk" else "topk", expr.param or 1, members, values, present)
            continue
        any_present = present.any(axis=0)
        counts = present.sum(axis=0).astype(np.float64)
        masked = np.where(present, values, 0.0)
        with np.errstate(all="ignore"):
            if op == "sum":
                result = masked.sum(axis=0)
            elif op == "count":
                result = counts
            elif op == "avg":
                result = masked.sum(axis=0) / np.where(counts == 0, 1, counts)
            elif op == "max":
                result = np.where(present, values, -np.inf).max(axis=0)
            elif op == "min":
                result = np.where(present, values, np.inf).min(axis=0)
            else:  # stddev, stdvar
                mean = masked.sum(axis=0) / np.where(counts == 0, 1, counts)
                var = (np.where(present, (values - mean) ** 2, 0.0).sum(axis=0)
                       / np.where(counts == 0, 1, counts))
                result = var if op == "stdvar" else np.sqrt(var)
        out[key] = (result, any_present)
    return out


def _top(out: SeriesSet, op: str, k: int, members: list[Labels], values: np.ndarray,
         present: np.ndarray) -> None:
    chosen = np.zeros_like(present)
    for step in range(values.shape[1]):
        candidates = [i for i in range(len(members)) if present[i, step]]
        candidates.sort(key=lambda i: values[i, step], reverse=(op == "topk"))
        for i in candidates[:k]:
            chosen[i, step] = True
    for i, labels in enumerate(members):
        if chosen[i].any():
            out[labels] = (values[i], chosen[i])
