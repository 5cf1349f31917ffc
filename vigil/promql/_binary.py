"""Binary operators: arithmetic, comparison and set operators with vector matching.

Series are matched once per query by their label signature; the arithmetic then runs on
whole ``[pairs, steps]`` arrays. Per-step rules (at most one match per signature on the
"one" side) are checked on the presence masks, with Prometheus's error messages.
"""

from __future__ import annotations

import numpy as np

from vigil.errors import QueryError
from vigil.gocompat.quote import quote as go_quote
from vigil.model.labels import METRIC_NAME, Labels, is_label_name
from vigil.promql._block import METADATA_LABELS, Block, ScalarSteps, group_ids
from vigil.promql._context import EvalContext
from vigil.promql.parser import ast


def arith(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise ``a op b`` with Go float semantics (x/0 = ±Inf, NaN propagates)."""
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return np.true_divide(a, b)
        if op == "%":
            return np.fmod(a, b)
        if op == "^":
            return np.power(a, b)
        if op == "atan2":
            return np.arctan2(a, b)
    raise QueryError(f'operator "{op}" not allowed for operations between Vectors')


def compare(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
    raise QueryError(f'operator "{op}" not allowed for Scalar operations')


def eval_binary(ev: EvalContext, node: ast.BinaryExpr, ts: np.ndarray):
    lhs = ev.eval(node.lhs, ts)
    rhs = ev.eval(node.rhs, ts)
    op = node.op
    is_cmp = op in ast.COMPARISON_OPS
    if isinstance(lhs, ScalarSteps) and isinstance(rhs, ScalarSteps):
        if is_cmp:
            return ScalarSteps(compare(op, lhs.values, rhs.values).astype(np.float64))
        return ScalarSteps(arith(op, lhs.values, rhs.values))
    if isinstance(lhs, Block) and isinstance(rhs, ScalarSteps):
        return _vector_scalar(lhs, rhs.values, op, node.return_bool, swap=False)
    if isinstance(lhs, ScalarSteps) and isinstance(rhs, Block):
        return _vector_scalar(rhs, lhs.values, op, node.return_bool, swap=True)
    assert isinstance(lhs, Block) and isinstance(rhs, Block)
    vm = node.matching or ast.VectorMatching()
    if op == "and":
        return _and_unless(lhs, rhs, vm, keep_matching=True)
    if op == "unless":
        return _and_unless(lhs, rhs, vm, keep_matching=False)
    if op == "or":
        return _or(lhs, rhs, vm)
    return _vector_vector(lhs, rhs, op, vm, node.return_bool)


def _vector_scalar(vec: Block, sc: np.ndarray, op: str, return_bool: bool, swap: bool) -> Block:
    lv = vec.values
    rv = np.broadcast_to(sc[None, :], lv.shape)
    a, b = (rv, lv) if swap else (lv, rv)
    assert vec.drop is not None
    if op in ast.COMPARISON_OPS:
        keep = compare(op, a, b)
        if return_bool:
            return Block(vec.labels, keep.astype(np.float64), vec.present,
                         np.ones(len(vec), dtype=bool))
        return Block(vec.labels, lv, vec.present & keep, vec.drop).compact()
    return Block(vec.labels, arith(op, a, b), vec.present, np.ones(len(vec), dtype=bool))


def signature(lb: Labels, vm: ast.VectorMatching) -> Labels:
    """The labels two series must share to match (``on``: only those; else all but those)."""
    if vm.on:
        return lb.only(*vm.labels)
    return lb.without(METRIC_NAME, *vm.labels)


def _sig_presence(blk: Block, ids: np.ndarray, ngroups: int) -> np.ndarray:
    """[ngroups, N] count of present series per signature and step."""
    out = np.zeros((ngroups, blk.values.shape[1]), dtype=np.int64)
    if len(ids):
        np.add.at(out, ids, blk.present.astype(np.int64))
    return out


def _and_unless(lhs: Block, rhs: Block, vm: ast.VectorMatching, keep_matching: bool) -> Block:
    sigs = [signature(lb, vm) for lb in lhs.labels] + [signature(lb, vm) for lb in rhs.labels]
    ids, keys = group_ids(sigs)
    lid, rid = ids[: len(lhs)], ids[len(lhs):]
    rpres = _sig_presence(rhs, rid, len(keys)) > 0
    if len(lhs) == 0:
        return lhs
    matched = rpres[lid]
    mask = lhs.present & (matched if keep_matching else ~matched)
    return Block(lhs.labels, lhs.values, mask, lhs.drop).compact()


def _or(lhs: Block, rhs: Block, vm: ast.VectorMatching) -> Block:
    sigs = [signature(lb, vm) for lb in lhs.labels] + [signature(lb, vm) for lb in rhs.labels]
    ids, keys = group_ids(sigs)
    lid, rid = ids[: len(lhs)], ids[len(lhs):]
    lpres = _sig_presence(lhs, lid, len(keys)) > 0
    rmask = rhs.present & ~lpres[rid] if len(rhs) else rhs.present
    assert lhs.drop is not None and rhs.drop is not None
    out = Block(lhs.labels + rhs.labels, np.vstack([lhs.values, rhs.values]),
                np.vstack([lhs.present, rmask]), np.concatenate([lhs.drop, rhs.drop]))
    return out.compact()


def _dup_error(blk: Block, rows: np.ndarray, step_mask: np.ndarray, sig: Labels,
               side: str) -> QueryError:
    hits = [int(r) for r in rows if blk.present[r][step_mask].any()][:2]
    # Prometheus names the series it was at, then the earlier one with the same signature.
    names = [_go_labels(blk.labels[r]) for r in reversed(hits)]
    return QueryError(
        f"found duplicate series for the match group {_go_labels(sig)} on the {side} hand-side "
        f"of the operation: [{', '.join(names)}];many-to-many matching not allowed: matching "
        "labels must be unique on one side")


def _go_labels(lb: Labels) -> str:
    """Labels as Prometheus's ``Labels.String()`` writes them: ``{__name__="a", b="c"}``."""
    return "{" + ", ".join(f"{k if is_label_name(k) else go_quote(k)}={go_quote(v)}"
                           for k, v in lb) + "}"


def _vector_vector(lhs: Block, rhs: Block, op: str, vm: ast.VectorMatching,
                   return_bool: bool) -> Block:
    n = lhs.values.shape[1]
    filling = vm.fill_lhs is not None or vm.fill_rhs is not None
    if (len(lhs) == 0 or len(rhs) == 0) and not filling:
        return Block.empty(n)
    swap = vm.card == "one-to-many"
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    sigs = [signature(lb, vm) for lb in many.labels] + [signature(lb, vm) for lb in one.labels]
    ids, keys = group_ids(sigs)
    mid, oid = ids[: len(many)], ids[len(many):]
    ocount = _sig_presence(one, oid, len(keys))
    if (ocount > 1).any():
        g, step = np.argwhere(ocount > 1)[0]
        rows = np.nonzero(oid == g)[0]
        mask = np.zeros(n, dtype=bool)
        mask[step] = True
        side = "left" if swap else "right"
        raise _dup_error(one, rows, mask, keys[g], side)
    # Pair every "many" row with every "one" row of its signature.
    by_sig: dict[int, list[int]] = {}
    for j, g in enumerate(oid):
        by_sig.setdefault(int(g), []).append(j)
    pm, po = [], []
    for i, g in enumerate(mid):
        for j in by_sig.get(int(g), ()):
            pm.append(i)
            po.append(j)
    filled = _filled_rows(many, one, mid, oid, keys, ocount, op, vm, return_bool, swap)
    if not pm:
        return _merge_rows(filled) if filled is not None else Block.empty(n)
    pm_a = np.array(pm, dtype=np.int64)
    po_a = np.array(po, dtype=np.int64)
    matched = many.present[pm_a] & one.present[po_a]
    if vm.card == "one-to-one":
        per_sig = np.zeros((len(keys), n), dtype=np.int64)
        np.add.at(per_sig, mid[pm_a], matched.astype(np.int64))
        if (per_sig > 1).any():
            raise QueryError("multiple matches for labels: many-to-one matching must be explicit "
                             "(group_left/group_right)")
    drop_now = op not in ast.COMPARISON_OPS
    labels = [
        _result_labels(many.labels[i], one.labels[j], vm, drop_now)
        for i, j in zip(pm, po, strict=True)
    ]
    if vm.card != "one-to-one":
        out_ids, _ = group_ids([Labels(list(lb) + [("\xff", str(int(mid[i])))])
                                for lb, i in zip(labels, pm, strict=True)])
        cnt = np.zeros((int(out_ids.max()) + 1, n), dtype=np.int64)
        np.add.at(cnt, out_ids, matched.astype(np.int64))
        if (cnt > 1).any():
            raise QueryError("multiple matches for labels: grouping labels must ensure unique matches")
    mv, ov = many.values[pm_a], one.values[po_a]
    lv, rv = (ov, mv) if swap else (mv, ov)
    assert many.drop is not None
    if op in ast.COMPARISON_OPS:
        keep = compare(op, lv, rv)
        if return_bool:
            values, present = keep.astype(np.float64), matched
            drop = np.ones(len(labels), dtype=bool)
        else:
            values, present = lv, matched & keep
            drop = many.drop[pm_a]
    else:
        values, present = arith(op, lv, rv), matched
        drop = np.zeros(len(labels), dtype=bool)
    out = Block(labels, values, present, drop).compact()
    if filled is not None:
        assert out.drop is not None and filled.drop is not None
        out = Block(out.labels + filled.labels, np.vstack([out.values, filled.values]),
                    np.vstack([out.present, filled.present]),
                    np.concatenate([out.drop, filled.drop]))
    return _merge_rows(out)


def _filled_rows(many: Block, one: Block, mid: np.ndarray, oid: np.ndarray, keys: list[Labels],
                 ocount: np.ndarray, op: str, vm: ast.VectorMatching, return_bool: bool,
                 swap: bool) -> Block | None:
    """Results for series whose partner is missing, when a fill value stands in for it."""
    n = many.values.shape[1]
    parts: list[Block] = []
    drop_now = op not in ast.COMPARISON_OPS
    if vm.fill_rhs is not None and len(many):
        # "many" rows (internal left side) whose "one" partner is missing at a step.
        present = many.present & (ocount[mid] == 0)
        mv = many.values
        fv = np.full_like(mv, vm.fill_rhs)
        labels = [_result_labels(lb, keys[g], vm, drop_now) for lb, g in zip(many.labels, mid, strict=True)]
        parts.append(_apply(op, (fv, mv) if swap else (mv, fv), present, labels, return_bool,
                            many.drop))
    if vm.fill_lhs is not None and len(one):
        mcount = np.zeros((len(keys), n), dtype=np.int64)
        if len(many):
            np.add.at(mcount, mid, many.present.astype(np.int64))
        present = one.present & (mcount[oid] == 0)
        ov = one.values
        fv = np.full_like(ov, vm.fill_lhs)
        labels = [_result_labels(_match_labels(keys[g], vm), lb, vm, drop_now)
                  for lb, g in zip(one.labels, oid, strict=True)]
        parts.append(_apply(op, (ov, fv) if swap else (fv, ov), present, labels, return_bool,
                            np.zeros(len(one), dtype=bool)))
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    return Block([lb for p in parts for lb in p.labels], np.vstack([p.values for p in parts]),
                 np.vstack([p.present for p in parts]),
                 np.concatenate([p.drop for p in parts]))  # type: ignore[misc]


def _match_labels(sig: Labels, vm: ast.VectorMatching) -> Labels:
    return sig


def _apply(op: str, sides: tuple[np.ndarray, np.ndarray], present: np.ndarray,
           labels: list[Labels], return_bool: bool, drop: np.ndarray | None) -> Block:
    lv, rv = sides
    if op in ast.COMPARISON_OPS:
        keep = compare(op, lv, rv)
        if return_bool:
            return Block(labels, keep.astype(np.float64), present,
                         np.ones(len(labels), dtype=bool)).compact()
        return Block(labels, lv, present & keep, drop).compact()
    return Block(labels, arith(op, lv, rv), present, np.zeros(len(labels), dtype=bool)).compact()


def _result_labels(lb: Labels, other: Labels, vm: ast.VectorMatching, drop_name: bool) -> Labels:
    d = dict(lb)
    if drop_name:
        for k in METADATA_LABELS:
            d.pop(k, None)
    if vm.card == "one-to-one":
        if vm.on:
            d = {k: v for k, v in d.items() if k in vm.labels}
        else:
            for k in vm.labels:
                d.pop(k, None)
    for k in vm.include:
        v = other.get(k)
        if v:
            d[k] = v
        else:
            d.pop(k, None)
    return Labels(d)


def _merge_rows(blk: Block) -> Block:
    """Pairs that produced the same output labels are one series (disjoint in time)."""
    ids, keys = group_ids(blk.labels)
    if len(keys) == len(blk.labels):
        return blk
    assert blk.drop is not None
    n = blk.values.shape[1]
    values = np.zeros((len(keys), n))
    present = np.zeros((len(keys), n), dtype=bool)
    drop = np.zeros(len(keys), dtype=bool)
    for i in range(len(blk.labels)):
        g = ids[i]
        p = blk.present[i]
        if (present[g] & p).any():
            raise QueryError("vector cannot contain metrics with the same labelset")
        values[g][p] = blk.values[i][p]
        present[g] |= p
        drop[g] |= blk.drop[i]
    return Block(keys, values, present, drop)
