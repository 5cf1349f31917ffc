"""Comparing one query's answer with a case's expectations, as upstream's ``test.go`` does.

Values: float equality within a relative 1e-6 (NaN equals NaN, a staleness marker only
equals a staleness marker); a matrix must be sorted by labels; ``eval_ordered`` checks the
position of each sample. Errors: ``expected_fail_message`` / ``expect fail msg:`` compare the
whole text, the regex forms search it. Annotations: ``eval_warn``/``eval_info`` need at least
one; every ``expect warn|info msg:`` text (or ``regex:``) must be among the answer's texts
of that kind and every text of that kind must match one of those expectations (an
``expect warn`` without a text matches any); ``no_warn``/``no_info`` forbid them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from vigil.model.labels import Labels
from vigil.promql.value import Matrix, Scalar, String, Value, Vector
from vigil.promqltest.script import EvalCase, Expect
from vigil.storage.interface import is_stale

__all__ = ["Answer", "almost_equal", "check_annotations", "check_error", "compare_value"]

_EPSILON = 1e-6
_MIN_NORMAL = 2.2250738585072014e-308


@dataclass(frozen=True)
class Answer:
    """What a query returned: a value and its annotation texts (``PromQL warning: ...``)."""

    value: Value
    warnings: tuple[str, ...] = ()
    infos: tuple[str, ...] = ()


def almost_equal(a: float, b: float) -> bool:
    """Prometheus's ``almost.Equal`` with the tests' epsilon of 1e-6."""
    if is_stale(a) or is_stale(b):
        return is_stale(a) and is_stale(b)
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < _EPSILON * _MIN_NORMAL
    return diff / min(abs_sum, sys.float_info.max) < _EPSILON


def check_error(case: EvalCase, message: str) -> str | None:
    """A query failed with ``message``: None if the case expects exactly that."""
    if not case.fail:
        return f"unexpected error: {message}"
    if case.fail_expect is not None and not case.fail_expect.matches(message):
        return f"expected error matching {case.fail_expect}, got {message!r}"
    return None


def check_annotations(case: EvalCase, answer: Answer) -> str | None:
    if case.warn and not answer.warnings:
        return "expected warnings, got none"
    if case.info and not answer.infos:
        return "expected info annotations, got none"
    for kind, expects, texts in (("warn", case.warn_expects, answer.warnings),
                                 ("info", case.info_expects, answer.infos)):
        err = _check_texts(kind, expects, texts)
        if err:
            return err
    if case.no_warn and answer.warnings:
        return f"unexpected warnings {list(answer.warnings)}"
    if case.no_info and answer.infos:
        return f"unexpected infos {list(answer.infos)}"
    return None


def _check_texts(kind: str, expects: list[Expect], texts: Sequence[str]) -> str | None:
    if not expects:
        return None
    if not texts:
        return f"expected {kind} annotations, got none"
    for e in expects:
        if not any(e.matches(t) for t in texts):
            return f"expected a {kind} annotation matching {e}, got {list(texts)}"
    for t in texts:
        if not any(e.matches(t) for e in expects):
            return f"unexpected {kind} annotation {t!r}"
    return None


def compare_value(case: EvalCase, val: Value) -> str | None:
    """Compare a query's value with the case's expected one (upstream's compareResult)."""
    if isinstance(val, Matrix):
        return _compare_matrix(case, val)
    if isinstance(val, Vector):
        if case.scalar is not None:
            return f"expected scalar {case.scalar}, got a vector"
        return compare_samples(case, [(s.labels, s.value) for s in val.samples])
    if isinstance(val, Scalar):
        if case.scalar is None:
            return f"expected a vector or matrix, got scalar {val.value}"
        return None if almost_equal(case.scalar, val.value) else \
            f"expected scalar {case.scalar}, got {val.value}"
    if isinstance(val, String):
        if case.expected_string != val.value:
            return f"expected string {case.expected_string!r}, got {val.value!r}"
        return None
    return f"unexpected result type {type(val).__name__}"


def compare_samples(case: EvalCase, got: list[tuple[Labels, float]], prefix: str = "") -> str | None:
    """An instant vector's samples against the expected series (first value of each)."""
    want = {lb: (pos, vals) for pos, (lb, vals) in enumerate(case.series, 1)}
    seen = set()
    for pos, (lb, v) in enumerate(got, 1):
        if lb not in want:
            return f"{prefix}unexpected metric {lb} in result, has value {v}"
        exp_pos, vals = want[lb]
        if case.ordered and exp_pos != pos:
            return f"{prefix}expected {lb} at position {exp_pos}, it was at {pos}"
        exp = vals[0] if vals else None
        if exp is None or not almost_equal(exp, v):
            return f"{prefix}expected {exp} for {lb}, got {v}"
        seen.add(lb)
    missing = [str(lb) for lb in want if lb not in seen]
    return f"{prefix}expected metrics {missing} not found" if missing else None


def sort_key(lb: Labels) -> list[tuple[str, str]]:
    return sorted(dict(lb).items())


def check_sorted(mat: Matrix) -> str | None:
    keys = [sort_key(s.labels) for s in mat.series]
    if any(a > b for a, b in zip(keys, keys[1:], strict=False)):
        return f"matrix not sorted by labels: {[str(s.labels) for s in mat.series]}"
    return None


def _compare_matrix(case: EvalCase, mat: Matrix) -> str | None:
    if case.ordered:
        return "expected an ordered result, got a matrix"
    if case.scalar is not None:
        return "expected a scalar, got a matrix"
    err = check_sorted(mat)
    if err:
        return err
    want = dict(case.series)
    seen = set()
    for s in mat.series:
        if s.labels not in want:
            return f"unexpected metric {s.labels} in result, has {_points(s.timestamps, s.values)}"
        seen.add(s.labels)
        exp = []
        for k, v in enumerate(want[s.labels]):
            t = case.start_ms + k * case.step_ms
            if t > case.end_ms:
                return f"expected {len(want[s.labels])} points for {s.labels}, but the query " \
                       "range cannot return this many"
            if v is not None:
                exp.append((t, v))
        got = list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
        if len(exp) != len(got):
            return f"expected {len(exp)} points for {s.labels}, got {_points(s.timestamps, s.values)}"
        for (t, v), (t2, v2) in zip(exp, got, strict=True):
            if t != t2 or not almost_equal(v, v2):
                return f"{s.labels}: expected {v} @{t}, got {v2} @{t2}"
    missing = [str(lb) for lb in want if lb not in seen]
    return f"expected metrics {missing} not found" if missing else None


def _points(ts, vs) -> str:
    return str(list(zip(ts.tolist(), vs.tolist(), strict=True)))
