"""Aggregation operators (sum, avg, topk, quantile, count_values, ...) over whole blocks.

Rows are mapped to groups once; each aggregation is a grouped numpy reduction over the
``[series, steps]`` arrays.
"""

from __future__ import annotations

import numpy as np

from vigil.errors import QueryError
from vigil.gocompat.floats import format_float_v as go_g
from vigil.gocompat.quote import quote
from vigil.model.labels import Labels, is_label_name
from vigil.promql._block import (
    METADATA_LABELS,
    Block,
    StringValue,
    group_ids,
    group_reduce,
    group_sum,
)
from vigil.promql._context import EvalContext
from vigil.promql._labels_hash import labels_hash
from vigil.promql.parser import ast
from vigil.promql.parser.ast import format_float

# Go's float64(math.MinInt64) and float64(math.MaxInt64), the bounds of a topk/bottomk k.
_MIN_INT64, _MAX_INT64 = float(-(2**63)), float(2**63 - 1)


def group_key(lb: Labels, grouping: list[str], without: bool) -> Labels:
    if without:
        return lb.without(*METADATA_LABELS, *grouping)
    return lb.only(*grouping)


def grouped(labels: list[Labels], grouping: list[str], without: bool
            ) -> tuple[np.ndarray, list[Labels]]:
    """Group ids per series and the groups' label sets, in first-seen order.

    For ``by`` the key is the tuple of the grouping labels' values, so no label set is
    built per series, only one per group (thousands of series fall into a few groups)."""
    if without:
        return group_ids([group_key(lb, grouping, True) for lb in labels])
    names = sorted(set(grouping))
    if len(names) == 1:
        (only,) = names
        single: dict[str, int] = {}
        ids = np.fromiter((single.setdefault(lb.get(only), len(single)) for lb in labels),
                          np.int64, len(labels))
        return ids, [Labels({only: value}) for value in single]
    index: dict[tuple[str, ...], int] = {}
    ids = np.fromiter((index.setdefault(tuple([lb.get(n) for n in names]), len(index))
                       for lb in labels), np.int64, len(labels))
    return ids, [Labels(zip(names, key, strict=True)) for key in index]


def eval_aggregate(ev: EvalContext, node: ast.AggregateExpr, ts: np.ndarray) -> Block:
    blk = ev.eval_block(node.expr, ts)
    n = len(ts)
    op = node.op
    param = None
    if node.param is not None:
        pv = ev.eval(node.param, ts)
        param = pv.value if isinstance(pv, StringValue) else pv.values  # type: ignore[union-attr]
    if op == "count_values":
        assert isinstance(param, str)
        return _count_values(blk, param, node, n)
    if op in ("topk", "bottomk", "limitk", "limit_ratio"):
        assert isinstance(param, np.ndarray)
        return _select_k(blk, param, node, ev)
    ids, groups = grouped(blk.labels, node.grouping, node.without)
    g = len(groups)
    pres = blk.present
    cnt = group_sum(ids, g, pres.astype(np.int64)) if g else np.zeros((0, n), dtype=np.int64)
    vals = np.where(pres, blk.values, 0.0)
    with np.errstate(all="ignore"):
        if op == "sum":
            out = _kahan_group_sum(ids, g, vals)
        elif op == "avg":
            out = _group_mean(ids, g, vals, pres, cnt)
        elif op == "count":
            out = cnt.astype(np.float64)
        elif op == "group":
            out = np.ones((g, n))
        elif op == "min":
            out = group_reduce(np.fmin, ids, g, np.where(pres, blk.values, np.nan), np.nan)
        elif op == "max":
            out = group_reduce(np.fmax, ids, g, np.where(pres, blk.values, np.nan), np.nan)
        elif op in ("stddev", "stdvar"):
            var = _group_welford(ids, g, blk)
            out = np.sqrt(var) if op == "stddev" else var
        elif op == "quantile":
            assert isinstance(param, np.ndarray)
            ev.check_quantile(param)
            out = _group_quantile(ids, g, blk, param)
        else:
            raise QueryError(f"expected aggregation operator but got {op!r}")
    assert blk.drop is not None
    drop = np.zeros(g, dtype=bool)
    if len(ids):
        np.logical_or.at(drop, ids, blk.drop)
    return Block(groups, out, cnt > 0, drop).compact()


_SMALL_GROUP = 64


def _kahan_group_sum(ids: np.ndarray, g: int, vals: np.ndarray) -> np.ndarray:
    """Grouped sum matching Prometheus's compensated (Kahan) summation.

    A plain sum is exact enough unless values cancel; only groups where they might are
    summed member by member with compensation."""
    if g == 0:
        return np.zeros((0, vals.shape[1]))
    if len(ids) <= 1 or g == len(ids):
        return group_sum(ids, g, vals)
    if len(ids) // g <= _SMALL_GROUP:
        return _kahan_loop(ids, g, vals)
    with np.errstate(all="ignore"):
        plain = group_sum(ids, g, vals)
        magnitude = group_sum(ids, g, np.abs(vals))
        risky = ~np.isfinite(plain) | (magnitude > 1e6 * np.abs(plain))
    groups = np.nonzero(risky.any(axis=1))[0]
    if len(groups) == 0:
        return plain
    remap = np.full(g, -1, dtype=np.int64)
    remap[groups] = np.arange(len(groups))
    rows = np.nonzero(remap[ids] >= 0)[0]
    plain[groups] = _kahan_loop(remap[ids[rows]], len(groups), vals[rows])
    return plain


def _kahan_loop(ids: np.ndarray, g: int, vals: np.ndarray) -> np.ndarray:
    """Neumaier-compensated grouped sum, members added in input order."""
    order = np.argsort(ids, kind="stable")
    s = np.zeros((g, vals.shape[1]))
    c = np.zeros((g, vals.shape[1]))
    sid = ids[order]
    sv = vals[order]
    # Rows are processed group-interleaved: one pass per "k-th member" of every group.
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    rank = np.arange(len(sid)) - np.repeat(starts, np.diff(np.r_[starts, len(sid)]))
    for k in range(int(rank.max()) + 1):
        sel = rank == k
        gi = sid[sel]
        v = sv[sel]
        t = s[gi] + v
        big = np.abs(s[gi]) >= np.abs(v)
        c[gi] += np.where(big, (s[gi] - t) + v, (v - t) + s[gi])
        s[gi] = t
    out = s + c
    # Inf arithmetic yields NaN in the compensation term; fall back to the plain sum there.
    return np.where(np.isfinite(s), out, s)


def _members(ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows grouped by their rank inside their group: [(rows, group ids)] for rank 0, 1, ...

    Lets order-dependent accumulations (Welford, Kahan) run in input order for every group
    and step at once.
    """
    if len(ids) == 0:
        return []
    order = np.argsort(ids, kind="stable")
    sid = ids[order]
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    rank = np.arange(len(sid)) - np.repeat(starts, np.diff(np.r_[starts, len(sid)]))
    return [(order[rank == k], sid[rank == k]) for k in range(int(rank.max()) + 1)]


def _group_welford(ids: np.ndarray, g: int, blk: Block) -> np.ndarray:
    """Population variance per group, accumulated like Prometheus (Welford's method).

    Large groups use the two-pass formula (same value up to rounding), with an exact 0
    where all values are equal, as Welford gives."""
    n = blk.values.shape[1]
    if g and len(ids) // g > _SMALL_GROUP:
        pres = blk.present
        cnt = np.maximum(group_sum(ids, g, pres.astype(np.int64)), 1)
        vals = np.where(pres, blk.values, 0.0)
        mean = group_sum(ids, g, vals) / cnt
        dev = np.where(pres, blk.values - mean[ids], 0.0)
        var = group_sum(ids, g, dev * dev) / cnt
        lo = group_reduce(np.fmin, ids, g, np.where(pres, blk.values, np.nan), np.nan)
        hi = group_reduce(np.fmax, ids, g, np.where(pres, blk.values, np.nan), np.nan)
        return np.where((lo == hi) & np.isfinite(lo), 0.0, var)
    count = np.zeros((g, n))
    mean = np.zeros((g, n))
    m2 = np.zeros((g, n))
    for rows, gi in _members(ids):
        p = blk.present[rows]
        f = blk.values[rows]
        c = count[gi] + p
        delta = f - mean[gi]
        new_mean = mean[gi] + np.where(p, delta / np.maximum(c, 1), 0.0)
        m2[gi] = m2[gi] + np.where(p, delta * (f - new_mean), 0.0)
        mean[gi] = new_mean
        count[gi] = c
    return m2 / np.maximum(count, 1)


def _group_mean(ids: np.ndarray, g: int, vals: np.ndarray, pres: np.ndarray,
                cnt: np.ndarray) -> np.ndarray:
    total = _kahan_group_sum(ids, g, vals)
    c = np.maximum(cnt, 1)
    mean = total / c
    # If the sum overflowed, average incrementally-equivalent by dividing first.
    bad = np.isinf(mean)
    if bad.any() and len(ids):
        alt = _kahan_group_sum(ids, g, vals / c[ids])
        has_inf = group_sum(ids, g, (np.isinf(vals) & pres).astype(np.int64)) > 0
        mean = np.where(bad & ~has_inf, alt, mean)
    return mean


def _group_quantile(ids: np.ndarray, g: int, blk: Block, q: np.ndarray) -> np.ndarray:
    n = blk.values.shape[1]
    out = np.full((g, n), np.nan)
    for gi in range(g):
        rows = np.nonzero(ids == gi)[0]
        v = np.where(blk.present[rows], blk.values[rows], np.nan)
        out[gi] = quantile_columns(v, blk.present[rows], q)
    return out


def quantile_columns(v: np.ndarray, present: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Prometheus's quantile (linear interpolation, rank q*(n-1)) of each column of ``v``.

    Absent entries are ignored; NaN values sort last... as Go's sort puts them first we
    follow Prometheus: NaN sorts as smallest.
    """
    n = v.shape[1]
    cnt = present.sum(axis=0)
    # Absent -> +inf so they sort to the end; NaN present -> -inf slot is emulated by
    # sorting NaN first.
    key = np.where(present, v, np.inf)
    isnan = present & np.isnan(v)
    key = np.where(isnan, -np.inf, key)
    order = np.argsort(key, axis=0, kind="stable")
    sv = np.take_along_axis(np.where(present, v, np.inf), order, axis=0)
    res = np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        rank = np.nan_to_num(np.clip(q, 0, 1) * (cnt - 1))
        lo = np.clip(np.floor(rank), 0, None).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(cnt - 1, 0))
        lo = np.minimum(lo, np.maximum(cnt - 1, 0))
        w = rank - np.floor(rank)
        cols = np.arange(n)
        if sv.shape[0]:
            a = sv[lo, cols]
            b = sv[hi, cols]
            res = a * (1 - w) + b * w
    res = np.where(q < 0, -np.inf, res)
    res = np.where(q > 1, np.inf, res)
    res = np.where(np.isnan(q), np.nan, res)
    return np.where(cnt > 0, res, np.nan)


def _select_k(blk: Block, param: np.ndarray, node: ast.AggregateExpr, ev: EvalContext) -> Block:
    n = blk.values.shape[1]
    if node.op in ("topk", "bottomk", "limitk"):
        # Prometheus's order: all k below 1 is simply empty; else NaN, then k out of int64.
        # (np.max is NaN when any k is, as Go's math.Max.)
        if len(param) and not param.max() < 1:
            if np.isnan(param).any():
                raise QueryError("Parameter value is NaN")
            if param.min() <= _MIN_INT64:
                raise QueryError(f"Scalar value {go_g(float(param.min()))} underflows int64")
            if param.max() >= _MAX_INT64:
                raise QueryError(f"Scalar value {go_g(float(param.max()))} overflows int64")
        k = np.clip(np.nan_to_num(param), -(2**62), 2**62).astype(np.int64)
    else:
        if np.isnan(param).any():
            raise QueryError("Ratio value is NaN")
        if len(param) and param.max() > 1:
            ev.warn(f"ratio value should be between -1 and 1, got {go_g(float(param.max()))}, "
                    "capping to 1")
        if len(param) and param.min() < -1:
            ev.warn(f"ratio value should be between -1 and 1, got {go_g(float(param.min()))}, "
                    "capping to -1")
        k = np.clip(param, -1.0, 1.0)
    ids, groups = grouped(blk.labels, node.grouping, node.without)
    keep = np.zeros_like(blk.present)
    for gi in range(len(groups)):
        rows = np.nonzero(ids == gi)[0]
        p = blk.present[rows]
        v = blk.values[rows]
        if node.op in ("topk", "bottomk"):
            # NaN never wins: it ranks after every number in both topk and bottomk.
            sortkey = np.where(np.isnan(v), np.inf, -v if node.op == "topk" else v)
            sortkey = np.where(p, sortkey, np.inf)
            nan_rank = np.where(p & np.isnan(v), 1, np.where(p, 0, 2))
            order = np.lexsort((sortkey, nan_rank), axis=0) if v.size else np.zeros_like(v, int)
            ranks = np.empty_like(order)
            np.put_along_axis(ranks, order, np.arange(len(rows))[:, None].repeat(n, axis=1), axis=0)
            keep[rows] = p & (ranks < k[None, :])
        elif node.op == "limitk":
            order_rank = np.cumsum(p, axis=0) - 1
            keep[rows] = p & (order_rank < k[None, :])
        else:
            frac = np.array([_ratio_hash(blk.labels[r]) for r in rows])[:, None]
            r = np.broadcast_to(k[None, :], p.shape)
            keep[rows] = p & np.where(r >= 0, frac < r, frac >= 1 + r)
    out = Block(blk.labels, blk.values, keep, blk.drop).compact()
    if n == 1 and node.op in ("topk", "bottomk") and len(out):
        # Instant results come out grouped, best first within each group, as Prometheus does.
        oids, _ = grouped(out.labels, node.grouping, node.without)
        v = out.values[:, 0]
        key = np.where(np.isnan(v), np.inf, -v if node.op == "topk" else v)
        out = out.rows(np.lexsort((key, oids)))
    return out


def _ratio_hash(lb: Labels) -> float:
    """The series' place in [0, 1) for limit_ratio, as Prometheus's HashRatioSampler computes
    it (``labels.Hash() / MaxUint64``), so limit_ratio picks the same series."""
    return float(labels_hash(lb)) / float((1 << 64) - 1)


def _count_values(blk: Block, label: str, node: ast.AggregateExpr, n: int) -> Block:
    if not is_label_name(label):
        raise QueryError(f"invalid label name {quote(label)}")
    counts: dict[Labels, np.ndarray] = {}
    rows, cols = np.nonzero(blk.present)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        base = group_key(blk.labels[r], node.grouping, node.without)
        key = base.merge({label: format_float(float(blk.values[r, c]))})
        arr = counts.get(key)
        if arr is None:
            arr = counts[key] = np.zeros(n)
        arr[c] += 1
    labels = list(counts)
    if not labels:
        return Block.empty(n)
    values = np.vstack([counts[lb] for lb in labels])
    return Block(labels, values, values > 0)
