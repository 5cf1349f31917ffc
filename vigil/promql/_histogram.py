"""histogram_quantile over classic (``le``-labelled) bucket series.

Native histograms are not stored by Vigil, so only classic buckets are handled. Buckets
of one histogram are grouped once; the quantile is computed for all steps that share the
same set of present buckets in one vectorised pass.
"""

from __future__ import annotations

import numpy as np

from vigil.model.labels import Labels
from vigil.promql._block import Block, group_ids
from vigil.promql._context import EvalContext

_SMALL_DELTA = 1e-12
_MIN_NORMAL = 2.2250738585072014e-308


def _parse_le(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def histogram_quantile(q: np.ndarray, blk: Block, ev: EvalContext) -> Block:
    """``histogram_quantile(q, buckets)`` for every step (q is per step)."""

    def fn(cols: np.ndarray, ub: np.ndarray, counts: np.ndarray, key: Labels) -> np.ndarray:
        res, forced = _bucket_quantile(q[cols], ub, counts)
        if forced:
            name = key.name if ev.delayed_name_removal else ""
            suffix = f' for metric name "{name}"' if name else ""
            ev.info("input to histogram_quantile needed to be fixed for monotonicity (see "
                    "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                    "#histogram_quantile)" + suffix)
        return res

    return _per_histogram(blk, ev, len(q), fn)


def histogram_fraction(lower: np.ndarray, upper: np.ndarray, blk: Block, ev: EvalContext) -> Block:
    """Fraction of observations between ``lower`` and ``upper`` (per step)."""

    def fn(cols: np.ndarray, ub: np.ndarray, counts: np.ndarray, key: Labels) -> np.ndarray:
        return np.array([_bucket_fraction(float(lower[c]), float(upper[c]), ub, counts[:, k])
                         for k, c in enumerate(cols)])

    return _per_histogram(blk, ev, len(lower), fn)


def histogram_quantiles(blk: Block, label: str, qs: list[np.ndarray], ev: EvalContext) -> Block:
    """One ``histogram_quantile`` per q, told apart by the label ``label`` = q."""
    parts = []
    for q in qs:
        res = histogram_quantile(q, blk, ev)
        text = _format_openmetrics(float(q[0]))
        parts.append(Block([lb.merge({label: text}) for lb in res.labels], res.values,
                           res.present, res.drop))
    if not parts:
        return Block.empty(len(qs[0]) if qs else 0)
    return Block([lb for p in parts for lb in p.labels], np.vstack([p.values for p in parts]),
                 np.vstack([p.present for p in parts]),
                 np.concatenate([p.drop for p in parts]))  # type: ignore[misc]


def _format_openmetrics(v: float) -> str:
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def _per_histogram(blk: Block, ev: EvalContext, n: int, fn) -> Block:
    """Group bucket series into histograms and run ``fn(cols, upper_bounds, counts)``
    for each set of steps that share the same present buckets."""
    rows, keys, les = [], [], []
    for i, lb in enumerate(blk.labels):
        le = _parse_le(lb.get("le")) if lb.get("le") else None
        if le is None:
            # Without delayed name removal Prometheus names no metric here.
            name = lb.name if ev.delayed_name_removal else ""
            suffix = f' for metric name "{name}"' if name else ""
            ev.warn(f'bucket label "le" is missing or has a malformed value of "{lb.get("le")}"'
                    + suffix)
            continue
        rows.append(i)
        # The name stays until the end (delayed name removal), so two histograms of
        # different names are not mixed.
        keys.append(lb.without("le"))
        les.append(le)
    if not rows:
        return Block.empty(n)
    ids, groups = group_ids(keys)
    les_a = np.array(les)
    rows_a = np.array(rows)
    out = np.full((len(groups), n), np.nan)
    pres = np.zeros((len(groups), n), dtype=bool)
    for g in range(len(groups)):
        sel = np.nonzero(ids == g)[0]
        order = sel[np.argsort(les_a[sel], kind="stable")]
        ub = les_a[order]
        counts = blk.values[rows_a[order]]
        present = blk.present[rows_a[order]]
        any_p = present.any(axis=0)
        pres[g] = any_p
        patterns, inverse = np.unique(present.T, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        for pi, pat in enumerate(patterns):
            cols = np.nonzero((inverse == pi) & any_p)[0]
            if len(cols) == 0 or not pat.any():
                continue
            out[g, cols] = fn(cols, ub[pat], counts[pat][:, cols], groups[g])
    return Block(groups, out, pres, np.ones(len(groups), dtype=bool)).compact()


def _almost_equal(a: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        abs_sum = np.abs(a) + np.abs(b)
        diff = np.abs(a - b)
        tiny = (a == 0) | (b == 0) | (abs_sum < _MIN_NORMAL)
        rel = diff / np.minimum(abs_sum, np.finfo(np.float64).max)
        return (a == b) | np.where(tiny, diff < eps * _MIN_NORMAL, rel < eps)


def _bucket_quantile(q: np.ndarray, ub: np.ndarray, counts: np.ndarray
                     ) -> tuple[np.ndarray, bool]:
    """Prometheus's BucketQuantile for buckets ``ub`` (sorted) and counts ``[B, n]``.

    Also says whether counts had to be forced monotonic."""
    n = counts.shape[1]
    res = np.full(n, np.nan)
    forced = False
    if not np.isposinf(ub[-1]):
        return _q_edges(q, res), forced
    # Coalesce buckets with the same upper bound.
    uniq, start = np.unique(ub, return_index=True)
    if len(uniq) != len(ub):
        counts = np.add.reduceat(counts, start, axis=0)
        ub = uniq
    counts = counts.copy()
    prev = counts[0].copy()
    for i in range(1, len(ub)):
        cur = counts[i]
        close = _almost_equal(prev, cur, _SMALL_DELTA)
        forced = forced or bool((~close & (cur < prev)).any())
        counts[i] = np.where(close | (cur < prev), prev, cur)
        prev = counts[i].copy()
    if len(ub) < 2:
        return _q_edges(q, res), forced
    obs = counts[-1]
    with np.errstate(all="ignore"):
        rank = q * obs
        ge = counts[:-1] >= rank[None, :]
        b = np.where(ge.any(axis=0), np.argmax(ge, axis=0), len(ub) - 1)
        cols = np.arange(n)
        bucket_end = ub[b]
        count = counts[b, cols]
        has_prev = b > 0
        prev_b = np.maximum(b - 1, 0)
        bucket_start = np.where(has_prev, ub[prev_b], 0.0)
        prev_count = np.where(has_prev, counts[prev_b, cols], 0.0)
        val = bucket_start + (bucket_end - bucket_start) * ((rank - prev_count) / (count - prev_count))
        val = np.where(b == len(ub) - 1, ub[len(ub) - 2], val)
        val = np.where((b == 0) & (ub[0] <= 0), ub[0], val)
        val = np.where(obs == 0, np.nan, val)
    return _q_edges(q, val), forced


def _bucket_fraction(lower: float, upper: float, ub: np.ndarray, counts: np.ndarray) -> float:
    """Prometheus's BucketFraction for one histogram (``ub`` sorted ascending)."""
    if not np.isposinf(ub[-1]):
        return float("nan")
    uniq, start = np.unique(ub, return_index=True)
    if len(uniq) != len(ub):
        counts = np.add.reduceat(counts, start)
        ub = uniq
    count = float(counts[-1])
    if count == 0 or np.isnan(lower) or np.isnan(upper):
        return float("nan")
    if lower >= upper:
        return 0.0
    rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    lower_bound = -np.inf if ub[0] <= 0 else 0.0
    for i in range(len(ub)):
        if i > 0:
            lower_bound = float(ub[i - 1])
        upper_bound = float(ub[i])
        bcount = float(counts[i])

        def interp(v: float, lb: float = lower_bound, ubd: float = upper_bound,
                   c: float = bcount, r: float = rank) -> float:
            if lb == -np.inf:
                return c
            return r + (c - r) * (v - lb) / (ubd - lb)

        if not lower_set and lower_bound >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and lower_bound >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and lower_bound < lower < upper_bound:
            lower_rank, lower_set = interp(lower), True
        if not upper_set and lower_bound < upper < upper_bound:
            upper_rank, upper_set = interp(upper), True
        if lower_set and upper_set:
            break
        rank = bcount
    if not lower_set or lower_rank > count:
        lower_rank = count
    if not upper_set or upper_rank > count:
        upper_rank = count
    return (upper_rank - lower_rank) / count


def _q_edges(q: np.ndarray, val: np.ndarray) -> np.ndarray:
    val = np.where(q < 0, -np.inf, val)
    val = np.where(q > 1, np.inf, val)
    return np.where(np.isnan(q), np.nan, val)


__all__ = ["histogram_quantile", "Labels"]
