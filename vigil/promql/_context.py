"""The seam between the engine and the modules that evaluate one kind of node.

The engine's :class:`~vigil.promql.engine.Evaluator` dispatches an aggregation to
:mod:`vigil.promql._aggregate`, a binary operation to :mod:`vigil.promql._binary`, a call to
:mod:`vigil.promql.functions` and so on; those modules recurse into their operands through
the :class:`EvalContext` they are handed. They import this module, never the engine, so
the dependency runs one way: engine -> evaluator modules -> this context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vigil.promql._block import Block, RangeArg, ScalarSteps, StringValue
from vigil.promql.parser import ast

__all__ = ["EvalContext", "EvalValue", "QueryWindow"]

EvalValue = Block | ScalarSteps | StringValue | RangeArg


@dataclass(frozen=True)
class QueryWindow:
    """What the query as a whole covers; ``@ start()`` / ``@ end()`` refer to it."""

    start_ms: int
    end_ms: int
    step_ms: int


class EvalContext(Protocol):
    """What an evaluator module may ask of the evaluation it is part of."""

    window: QueryWindow
    # Prometheus's promql-delayed-name-removal: the metric name is still there (flagged in
    # Block.drop) when a node reads it; without it, names are gone once dropped.
    delayed_name_removal: bool

    def eval(self, expr: ast.Expr, ts: np.ndarray) -> EvalValue:
        """Value of ``expr`` at each time in ``ts`` (int64 ms)."""
        ...

    def eval_block(self, expr: ast.Expr, ts: np.ndarray) -> Block:
        """Value of an instant-vector ``expr``."""
        ...

    def eval_scalar(self, expr: ast.Expr, ts: np.ndarray) -> np.ndarray:
        """Values of a scalar ``expr``, one per step."""
        ...

    def vector_selector(self, vs: ast.VectorSelector, ts: np.ndarray) -> tuple[Block, np.ndarray]:
        """The selector's Block and, per row and step, the timestamp of the chosen sample."""
        ...

    def warn(self, msg: str) -> None:
        """Add a "PromQL warning" annotation."""
        ...

    def info(self, msg: str) -> None:
        """Add a "PromQL info" annotation."""
        ...

    def check_quantile(self, q: np.ndarray) -> None:
        """Warn about quantiles outside [0, 1]."""
        ...
