"""Running one eval case against a query backend, with upstream's extra checks.

An instant case also runs, as upstream does, (1) with ``@ <eval time>`` on every selector
and subquery at other evaluation times (step invariance; skipped when a function depends on
the evaluation time), and (2) each of those queries as a 3-step range query whose middle
step must equal the instant result (not for ``expect range vector``/``expect string``
cases, nor queries using ``start()``/``end()``/``range()``/``step()``). Every query's
annotations are checked. The backend is the engine in-process or a server over HTTP.
"""

from __future__ import annotations

import copy
import re
from typing import Protocol

import numpy as np

from vigil.model.features import ALL_FEATURES
from vigil.model.labels import Labels
from vigil.promql.parser import ast, parse_expr
from vigil.promql.value import Matrix, Scalar
from vigil.promqltest.compare import (
    Answer,
    check_annotations,
    check_error,
    check_sorted,
    compare_samples,
    compare_value,
)
from vigil.promqltest.script import EvalCase

__all__ = ["Backend", "QueryFailed", "run_case", "with_at_modifiers"]

_CONTEXT_FUNCS = re.compile(r"(start|end|range|step)\(\)")
# Prometheus's AtModifierUnsafeFunctions: results that vary with the evaluation time.
_AT_UNSAFE = frozenset({"days_in_month", "day_of_month", "day_of_week", "day_of_year", "end",
                        "hour", "minute", "month", "year", "predict_linear", "range", "start",
                        "step", "time", "timestamp"})


class QueryFailed(Exception):
    """The backend answered with an error; ``str()`` is the error text as Prometheus's."""


class Backend(Protocol):
    def instant(self, query: str, ts_ms: int) -> Answer: ...

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> Answer: ...


def run_case(backend: Backend, case: EvalCase) -> str | None:
    """None if ``case`` passes, else why not."""
    if case.parse_error:
        return case.parse_error
    if not case.instant:
        return _check(case, lambda: backend.range(case.expr, case.start_ms, case.end_ms,
                                                   case.step_ms))
    queries = [(case.expr, case.end_ms)]
    fixed = _at_variant(case)
    if fixed is not None:
        t = case.end_ms
        times = [-1000, 0, 1000] if t == 0 else [-10 * t, 0, t // 5, t, 10 * t]
        queries += [(fixed, et) for et in times]
    for text, t in queries:
        where = "" if text == case.expr else f"@ variant {text!r} at {t}: "
        answer: list[Answer] = []

        def run(text: str = text, t: int = t, answer: list[Answer] = answer) -> Answer:
            answer.append(backend.instant(text, t))
            return answer[0]

        err = _check(case, run)
        if err:
            return where + err
        if not answer or case.exclude_from_range_query or _CONTEXT_FUNCS.search(text):
            continue
        err = _check_range_mode(backend, case, text, t, answer[0])
        if err:
            return where + "range mode: " + err
    return None


def _check(case: EvalCase, run) -> str | None:
    try:
        answer = run()
    except QueryFailed as e:
        return check_error(case, str(e))
    if case.fail:
        return "expected an error, got none"
    return check_annotations(case, answer) or compare_value(case, answer.value)


def _at_variant(case: EvalCase) -> str | None:
    try:
        expr = parse_expr(case.expr, features=ALL_FEATURES)
    except Exception:  # noqa: BLE001 - the query itself reports the parse error
        return None
    fixed = with_at_modifiers(expr, case.end_ms)
    return None if fixed is None else str(fixed)


def with_at_modifiers(expr: ast.Expr, ts_ms: int) -> ast.Expr | None:
    """``expr`` with ``@ ts`` on every selector and subquery that has none (not inside a
    subquery that has one), or None if a function makes the result depend on the time."""
    unsafe = False

    def visit(node: ast.Expr, fixed: bool) -> None:
        nonlocal unsafe
        if isinstance(node, ast.Call) and node.func in _AT_UNSAFE:
            unsafe = True
        if not fixed:
            target = node.vs if isinstance(node, ast.MatrixSelector) else node
            if isinstance(target, ast.VectorSelector | ast.SubqueryExpr) and target.at is None:
                target.at = ast.AtModifier(ts_ms=ts_ms)
        inner_fixed = fixed or (isinstance(node, ast.SubqueryExpr) and node.at is not None)
        for child in ast.children(node):
            visit(child, inner_fixed)

    expr = copy.deepcopy(expr)
    visit(expr, False)
    return None if unsafe else expr


def _check_range_mode(backend: Backend, case: EvalCase, text: str, t: int,
                      instant: Answer) -> str | None:
    """The instant result must equal the middle step of a 3-step range query."""
    try:
        mat = backend.range(text, t - 60_000, t + 60_000, 60_000).value
    except QueryFailed as e:
        return f"unexpected error: {e}"
    if case.ordered:
        return None  # range results are always sorted by labels
    if not isinstance(mat, Matrix):
        return f"expected a matrix, got {type(mat).__name__}"
    err = check_sorted(mat)
    if err:
        return err
    got: list[tuple[Labels, float]] = []
    for s in mat.series:
        hit = np.nonzero(s.timestamps == t)[0]
        if len(hit):
            got.append((s.labels, float(s.values[hit[0]])))
    if isinstance(instant.value, Scalar):
        if not got:
            return "no point at the evaluation time"
        return compare_value(case, Scalar(t, got[0][1]))
    return compare_samples(case, got)
