"""``sum`` of a range function computed in one pass from the samples.

``sum by (grp) (rate(x[5m]))`` over thousands of series and steps would otherwise hold the
per-series ``[series, steps]`` result (hundreds of MB for a day at 15 s) only to add its
rows up. Here the kernel adds each series' result into its group as it goes, with the
Kahan-Neumaier compensation Prometheus's ``sum`` uses, series in order.
"""

from __future__ import annotations

import numpy as np

from vigil.model.matchers import MatchType
from vigil.promql._aggregate import grouped
from vigil.promql._block import METADATA_LABELS, Block, drop_metadata
from vigil.promql._context import EvalContext
from vigil.promql._kernel import KERNEL_FUNCTIONS, evaluate_sum
from vigil.promql._range_funcs import RANGE_FUNCTIONS
from vigil.promql.functions import range_argument
from vigil.promql.parser import ast


def fused_sum(ev: EvalContext, node: ast.AggregateExpr, ts: np.ndarray) -> Block | None:
    """``node`` evaluated, if it is a ``sum`` of a range function the kernel computes over
    a plain range selector or subquery; else None (evaluate it the ordinary way)."""
    if node.op != "sum":
        return None
    call = node.expr
    while isinstance(call, ast.ParenExpr):
        call = call.expr
    if not isinstance(call, ast.Call) or call.func not in KERNEL_FUNCTIONS:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.MatrixSelector) and (arg.vs.anchored or arg.vs.smoothed):
        return None
    rng = range_argument(ev, call, arg, ts)
    drop_rows = np.full(len(rng.labels), not RANGE_FUNCTIONS[call.func][1])
    if "drop_rows" in rng.extra:
        drop_rows |= rng.extra["drop_rows"]
    labels = rng.labels
    if (not ev.delayed_name_removal and drop_rows.any() and not node.without
            and not set(node.grouping) & set(METADATA_LABELS) and _one_name(arg)):
        # Grouping by other labels: the name is in no group key, and series of one name
        # cannot become equal without it, so there is nothing to drop per series.
        drop_rows = np.zeros(len(labels), dtype=bool)
    if not ev.delayed_name_removal and drop_rows.any():
        # The function drops the name before sum sees the series (Prometheus's default).
        labels = [drop_metadata(lb) if d else lb
                  for lb, d in zip(labels, drop_rows.tolist(), strict=True)]
        if len(set(labels)) < len(labels):
            return None  # series that become equal: the ordinary path merges or rejects them
        drop_rows = np.zeros(len(labels), dtype=bool)
    ids, groups = grouped(labels, node.grouping, node.without)
    sums, count, present_rows = evaluate_sum(call.func, rng.t, rng.v, rng.offsets,
                                             rng.range_start, rng.range_end, rng.range_ms,
                                             ids, len(groups))
    # Groups in the order their first present series comes, as the unfused path has them.
    member_ids = ids[present_rows]
    _, first = np.unique(member_ids, return_index=True)
    order = member_ids[np.sort(first)]
    drop = np.zeros(len(groups), dtype=bool)
    np.logical_or.at(drop, member_ids, drop_rows[present_rows])
    return Block([groups[g] for g in order.tolist()], sums[order], count[order] > 0, drop[order])


def _one_name(arg: ast.Expr) -> bool:
    """Whether every series ``arg`` selects has one and the same metric name."""
    return isinstance(arg, ast.MatrixSelector) and any(
        m.name == "__name__" and m.type == MatchType.EQUAL for m in arg.vs.matchers)
