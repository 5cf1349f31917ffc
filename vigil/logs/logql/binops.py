"""Binary operations of metric queries, over every step at once.

A series set maps labels to ``(values, present)`` arrays, one element per evaluation step.
LogQL's arithmetic is Prometheus's with one difference Loki documents in its code: division
and modulo by zero give NaN. Comparisons filter unless ``bool``; ``and``/``or``/``unless`` match
series by their labels (``on``/``ignoring`` narrow that); one-to-one matching by default,
``group_left``/``group_right`` for many-to-one.
"""

from __future__ import annotations

import math

import numpy as np

from vigil.logs.logql import ast
from vigil.logs.logql.errors import QueryError
from vigil.model.labels import Labels

__all__ = ["SeriesSet", "apply_scalar_op", "vector_op"]

SeriesSet = dict[Labels, tuple[np.ndarray, np.ndarray]]
COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")


def apply_scalar_op(op: str, a: float, b: float) -> float:
    """``a op b`` on two numbers (comparisons give 1 or 0)."""
    out = _arith(op, np.array([a], dtype=float), np.array([b], dtype=float))
    return float(out[0])


def _arith(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return np.where(b == 0, math.nan, a / np.where(b == 0, 1, b))
        if op == "%":
            return np.where(b == 0, math.nan, np.fmod(a, np.where(b == 0, 1, b)))
        if op == "^":
            return np.power(a, b)
        result = {"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b,
                  "<=": a <= b}[op]
        return result.astype(float)


def scalar_side(op: str, series: SeriesSet, scalar: float, scalar_left: bool,
                return_bool: bool) -> SeriesSet:
    out: SeriesSet = {}
    for labels, (values, present) in series.items():
        other = np.full_like(values, scalar)
        a, b = (other, values) if scalar_left else (values, other)
        result = _arith(op, a, b)
        if op in COMPARISONS and not return_bool:
            keep = present & (result == 1.0)
            out[labels] = (values, keep)
        else:
            out[labels] = (result, present.copy())
    return out


def _signature(labels: Labels, m: ast.VectorMatching) -> Labels:
    if m.on:
        return labels.only(*m.labels)
    return labels.without(*m.labels)


def vector_op(node: ast.BinOp, lhs: SeriesSet, rhs: SeriesSet, n: int) -> SeriesSet:
    m = node.matching
    op = node.op
    if op in ("and", "or", "unless"):
        return _set_op(op, lhs, rhs, m, n)
    one, many, swap = rhs, lhs, False
    if m.card == "one-to-many":
        one, many, swap = lhs, rhs, True
    # the "one" side per signature and step
    by_sig: dict[Labels, tuple[np.ndarray, np.ndarray]] = {}
    one_labels: dict[Labels, Labels] = {}
    for labels, (values, present) in one.items():
        sig = _signature(labels, m)
        one_labels.setdefault(sig, labels)
        if sig in by_sig:
            prev_v, prev_p = by_sig[sig]
            if np.any(prev_p & present):
                side = "right" if not swap else "left"
                raise QueryError(f"found duplicate series for the match group {sig} on the "
                                 f"{side} hand-side of the operation: many-to-many matching "
                                 "not allowed: matching labels must be unique on one side")
            by_sig[sig] = (np.where(present, values, prev_v), prev_p | present)
        else:
            by_sig[sig] = (values, present)
    out: SeriesSet = {}
    for labels, (values, present) in many.items():
        sig = _signature(labels, m)
        if sig not in by_sig:
            continue
        o_values, o_present = by_sig[sig]
        both = present & o_present
        a, b = (o_values, values) if swap else (values, o_values)
        result = _arith(op, a, b)
        if m.card == "one-to-one":
            result_labels = labels.only(*m.labels) if m.on else labels.without(*m.labels)
        else:
            result_labels = labels
            if m.include:  # group_left(x): x comes from the "one" side (absent: dropped)
                source = one_labels[sig]
                for name in m.include:
                    value = source.get(name)
                    result_labels = (result_labels.merge({name: value}) if value
                                     else result_labels.without(name))
        if op in COMPARISONS and not node.return_bool:
            keep = both & (result == 1.0)
            # a filter keeps the left-hand sample's value (and, one-to-one, its labels)
            result_labels = labels if m.card == "one-to-one" else result_labels
            _put(out, result_labels, a, keep)
        else:
            _put(out, result_labels, result, both)
    return out


def _put(out: SeriesSet, labels: Labels, values: np.ndarray, present: np.ndarray) -> None:
    if labels in out:
        prev_v, prev_p = out[labels]
        if np.any(prev_p & present):
            raise QueryError("multiple matches for labels: many-to-one matching must be "
                             "explicit (group_left/group_right)")
        out[labels] = (np.where(present, values, prev_v), prev_p | present)
    else:
        out[labels] = (values, present)


def _set_op(op: str, lhs: SeriesSet, rhs: SeriesSet, m: ast.VectorMatching, n: int) -> SeriesSet:
    rhs_present: dict[Labels, np.ndarray] = {}
    for labels, (_, present) in rhs.items():
        sig = _signature(labels, m)
        rhs_present[sig] = rhs_present.get(sig, np.zeros(n, dtype=bool)) | present
    out: SeriesSet = {}
    if op in ("and", "unless"):
        for labels, (values, present) in lhs.items():
            other = rhs_present.get(_signature(labels, m), np.zeros(n, dtype=bool))
            keep = present & (other if op == "and" else ~other)
            out[labels] = (values, keep)
        return out
    lhs_present: dict[Labels, np.ndarray] = {}
    for labels, (values, present) in lhs.items():
        out[labels] = (values, present)
        sig = _signature(labels, m)
        lhs_present[sig] = lhs_present.get(sig, np.zeros(n, dtype=bool)) | present
    for labels, (values, present) in rhs.items():
        taken = lhs_present.get(_signature(labels, m), np.zeros(n, dtype=bool))
        _put(out, labels, values, present & ~taken)
    return out
