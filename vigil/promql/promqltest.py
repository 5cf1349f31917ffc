"""Runner for Prometheus's PromQL test-script language (``load`` / ``eval`` / ``clear``).

Reads the upstream ``*.test`` files (see ``promql/promqltest/README.md`` upstream) and runs
each ``eval`` against :class:`vigil.promql.engine.Engine` over an in-memory store. Native
histogram cases are counted as skipped. Usage::

    python -m vigil.promql.promqltest /path/to/testdata/*.test

Timestamps in scripts are durations from the Unix epoch; ``load 1m`` puts the i-th value
of a series at ``i * 1m``.
"""

from __future__ import annotations

import copy
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vigil.errors import VigilError
from vigil.model.features import ALL_FEATURES
from vigil.model.labels import Labels
from vigil.promql._quoting import unquote
from vigil.promql._testdata import (
    LoadedStorage,
    SkipCase,
    expand_values,
    parse_series_desc,
    parse_time_ms,
    parse_value,
)
from vigil.promql.engine import Engine
from vigil.promql.parser import ast, parse_expr
from vigil.promql.value import Matrix, Scalar, String, Vector

__all__ = ["FileResult", "LoadedStorage", "almost_equal", "expand_values", "main",
           "parse_series_desc", "run_file", "with_at_modifiers"]

_EPSILON = 1e-6
_MIN_NORMAL = 2.2250738585072014e-308

_LOAD = re.compile(r"^load(?:_(with_nhcb))?\s+(.+?)$")
_EVAL_INSTANT = re.compile(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_EVAL_RANGE = re.compile(r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$")
_EXPECT = re.compile(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
_EXPECT_RANGE = re.compile(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$")
_CONTEXT_FUNCS = re.compile(r"(start|end|range|step)\(\)")


# -- commands ------------------------------------------------------------------------------
@dataclass
class EvalCase:
    """One ``eval`` command with its expectations."""

    line: int
    expr: str
    instant: bool
    start_ms: int = 0
    end_ms: int = 0
    step_ms: int = 0
    fail: bool = False
    fail_msg: str | None = None
    fail_regex: str | None = None
    ordered: bool = False
    expect_warn: bool = False
    expect_info: bool = False
    no_warn: bool = False
    no_info: bool = False
    range_vector: tuple[int, int, int] | None = None
    expected_string: str | None = None
    scalar: float | None = None
    series: list[tuple[Labels, list[float | None]]] = field(default_factory=list)
    skip: str | None = None


@dataclass
class FileResult:
    """Outcome of one script: counts, and a line per failure (``file:line: query: why``)."""

    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)


def run_file(path: str | Path, *, verbose: bool = False) -> FileResult:
    """Run every eval of one ``.test`` file; returns the counts and failure descriptions."""
    lines = Path(path).read_text().splitlines()
    res = FileResult(Path(path).name)
    store = LoadedStorage()
    engine = Engine(store, features=ALL_FEATURES, max_samples=50_000_000)
    hist_metrics: set[str] = set()
    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        if not line or line.startswith("#"):
            i += 1
            continue
        if line == "clear":
            store.clear()
            hist_metrics.clear()
            i += 1
            continue
        m = _LOAD.match(line)
        if m:
            step = parse_time_ms(m.group(2))
            nhcb = m.group(1) is not None
            i += 1
            while i < len(lines) and lines[i].strip() and not _is_command(lines[i]):
                text = lines[i].strip()
                if not text.startswith("#"):
                    try:
                        if "@st" in text.split()[0]:
                            raise SkipCase("start timestamps")
                        lb, vals = parse_series_desc(text)
                    except (SkipCase, ValueError, VigilError):
                        hist_metrics.add(text.split("{")[0].split()[0].split("@")[0])
                        i += 1
                        continue
                    if nhcb:
                        # The converted native histogram is named without the suffix.
                        base = re.sub(r"_(bucket|sum|count)$", "", lb.name)
                        hist_metrics.add(base)
                    for k, v in enumerate(vals):
                        if v is not None:
                            store.add(lb, k * step, v)
                i += 1
            continue
        if line.startswith("eval"):
            case, i = _parse_eval(lines, i)
            if case.skip is not None:
                res.skipped += 1
                continue
            try:
                err = _run_case(engine, case)
            except Exception as e:  # noqa: BLE001 - a crash is one failed case, not a failed run
                err = f"crash: {type(e).__name__}: {e}"
            if err is not None and hist_metrics and (
                _nameless_selector(case.expr) or _mentions(case.expr, hist_metrics)
            ):
                # The query reads series whose native histogram samples were not loaded;
                # a failure is about those, so it counts as skipped, not failed.
                res.skipped += 1
                continue
            if err is None:
                res.passed += 1
            else:
                res.failed += 1
                res.failures.append(f"{res.name}:{case.line}: {case.expr}: {err}")
                if verbose:
                    print(res.failures[-1])
            continue
        i += 1
    return res


def _mentions(expr: str, names: set[str]) -> bool:
    """Does ``expr`` name one of ``names`` as a whole metric name (or in a regex)?"""
    for name in names:
        if name and re.search(rf"(?<![A-Za-z0-9_:]){re.escape(name)}(?![A-Za-z0-9_:])", expr):
            return True
    return False


def _nameless_selector(expr: str) -> bool:
    return re.search(r"(^|[^A-Za-z0-9_:\s])\s*\{|__name__", expr) is not None


def _is_command(line: str) -> bool:
    s = line.strip()
    return s == "clear" or s.startswith("load ") or s.startswith("load_") or s.startswith("eval")


def _parse_eval(lines: list[str], i: int) -> tuple[EvalCase, int]:
    line = lines[i].strip()
    mi = _EVAL_INSTANT.match(line)
    mr = None if mi else _EVAL_RANGE.match(line)
    if mi:
        mod, at, expr = mi.group(1), mi.group(2), mi.group(3)
        t = parse_time_ms(at or "0")
        case = EvalCase(i + 1, expr, True, t, t, 0)
    elif mr:
        mod, expr = mr.group(1), mr.group(5)
        case = EvalCase(i + 1, expr, False, parse_time_ms(mr.group(2)), parse_time_ms(mr.group(3)), parse_time_ms(mr.group(4)))
    else:
        case = EvalCase(i + 1, line, True, skip="unparsable eval command")
        return case, i + 1
    case.fail = mod == "fail"
    case.ordered = mod == "ordered"
    case.expect_warn = mod == "warn"
    case.expect_info = mod == "info"
    i += 1
    while i < len(lines) and lines[i].strip() and not _is_command(lines[i]):
        text = lines[i].strip()
        i += 1
        if text.startswith("#"):
            continue
        try:
            _parse_expectation(case, text)
        except SkipCase as e:
            case.skip = str(e)
        except (VigilError, ValueError) as e:
            case.skip = f"bad expectation: {e}"
    return case, i


def _parse_expectation(case: EvalCase, text: str) -> None:
    if text.startswith("expected_fail_message"):
        case.fail_msg = text[len("expected_fail_message"):].strip()
        return
    if text.startswith("expected_fail_regexp"):
        case.fail_regex = text[len("expected_fail_regexp"):].strip()
        return
    m = _EXPECT_RANGE.match(text)
    if m:
        case.range_vector = (parse_time_ms(m.group(1)), parse_time_ms(m.group(2)), parse_time_ms(m.group(3)))
        return
    if text.startswith("expect string"):
        case.expected_string = unquote(text[len("expect string"):].strip())
        return
    if text.split(" ")[0] == "expect":
        m = _EXPECT.match(text)
        if not m:
            raise ValueError(f"bad expect line {text!r}")
        kind, how, msg = m.group(1), m.group(2), (m.group(3) or "").strip()
        if kind == "fail":
            case.fail = True
            if how == "msg":
                case.fail_msg = msg
            elif how == "regex":
                case.fail_regex = msg
        elif kind == "ordered":
            case.ordered = True
        elif kind == "warn":
            case.expect_warn = True
        elif kind == "info":
            case.expect_info = True
        elif kind == "no_warn":
            case.no_warn = True
        elif kind == "no_info":
            case.no_info = True
        return
    try:
        case.scalar = parse_value(text)
        return
    except ValueError:
        pass
    case.series.append(parse_series_desc(text))


# -- running and comparing -----------------------------------------------------------------
def _run_case(engine: Engine, case: EvalCase) -> str | None:
    try:
        if case.instant:
            t = case.end_ms if case.range_vector is None else case.range_vector[1]
            result = engine.instant_query(case.expr, t)
        else:
            result = engine.range_query(case.expr, case.start_ms, case.end_ms, case.step_ms)
    except VigilError as e:
        if not case.fail:
            return f"unexpected error: {e}"
        msg = str(e)
        if case.fail_msg is not None and msg != case.fail_msg:
            return f"expected error {case.fail_msg!r}, got {msg!r}"
        if case.fail_regex is not None and not re.search(case.fail_regex, msg):
            return f"expected error matching {case.fail_regex!r}, got {msg!r}"
        return None
    if case.fail:
        return "expected an error, got none"
    if case.expect_warn and not result.warnings:
        return "expected a warning, got none"
    if case.expect_info and not result.infos:
        return "expected an info annotation, got none"
    if case.no_warn and result.warnings:
        return f"unexpected warnings {result.warnings}"
    if case.no_info and result.infos:
        return f"unexpected infos {result.infos}"
    err = _compare(case, result.value)
    if err or not case.instant or case.range_vector or case.expected_string is not None:
        return err
    err = _check_at_modifier_variants(engine, case)
    if err or case.ordered or _CONTEXT_FUNCS.search(case.expr):
        return err
    return _check_range_mode(engine, case)


_AT_UNSAFE = {"days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute",
              "month", "year", "predict_linear", "time", "timestamp", "start", "end", "step",
              "range"}


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


def _check_at_modifier_variants(engine: Engine, case: EvalCase) -> str | None:
    """Prometheus re-runs instant cases with ``@ <eval time>`` on every selector at other
    evaluation times: the result must not change (step invariance)."""
    t = case.end_ms
    fixed = with_at_modifiers(parse_expr(case.expr, features=ALL_FEATURES), t)
    if fixed is None:
        return None
    text = str(fixed)
    times = [-1000, 0, 1000] if t == 0 else [-10 * t, 0, t // 5, t, 10 * t]
    for et in times:
        try:
            result = engine.instant_query(text, et)
        except VigilError as e:
            return f"@ variant {text!r} at {et}: unexpected error: {e}"
        err = _compare(case, result.value)
        if err:
            return f"@ variant {text!r} at {et}: {err}"
    return None


def _check_range_mode(engine: Engine, case: EvalCase) -> str | None:
    """The instant result must equal the middle step of a 3-step range query."""
    t = case.end_ms
    try:
        mat = engine.range_query(case.expr, t - 60_000, t + 60_000, 60_000).value
    except VigilError as e:
        return f"range mode: unexpected error: {e}"
    got: dict[Labels, float] = {}
    assert isinstance(mat, Matrix)
    for s in mat.series:
        hit = np.nonzero(s.timestamps == t)[0]
        if len(hit):
            got[s.labels] = float(s.values[hit[0]])
    if case.scalar is not None:
        if list(got) != [Labels()] or not almost_equal(case.scalar, got[Labels()]):
            return f"range mode: expected scalar {case.scalar}, got {got}"
        return None
    return _compare_vector(case, got, None, prefix="range mode: ")


def almost_equal(a: float, b: float) -> bool:
    """Prometheus's test comparison: relative error below 1e-6, and NaN equals NaN."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < _EPSILON * _MIN_NORMAL
    return diff / min(abs_sum, sys.float_info.max) < _EPSILON


def _compare(case: EvalCase, val) -> str | None:
    if case.expected_string is not None:
        if not isinstance(val, String) or val.value != case.expected_string:
            return f"expected string {case.expected_string!r}, got {val}"
        return None
    if isinstance(val, Scalar):
        if case.scalar is None:
            return f"got scalar {val.value}, expected series {case.series}"
        return None if almost_equal(case.scalar, val.value) else f"expected {case.scalar}, got {val.value}"
    if case.scalar is not None:
        return f"expected scalar {case.scalar}, got {type(val).__name__}"
    if isinstance(val, Vector):
        got = {s.labels: s.value for s in val.samples}
        if len(got) != len(val.samples):
            return "duplicate labels in result"
        order = [s.labels for s in val.samples] if case.ordered else None
        return _compare_vector(case, got, order)
    if isinstance(val, Matrix):
        if case.instant and case.range_vector is None:
            return "got a matrix for an instant query without 'expect range vector'"
        if case.range_vector is not None:
            start, _, step = case.range_vector
        else:
            start, step = case.start_ms, case.step_ms
        return _compare_matrix(case, val, start, step)
    return f"unexpected result type {type(val).__name__}"


def _compare_vector(case: EvalCase, got: dict[Labels, float], order: list[Labels] | None,
                    prefix: str = "") -> str | None:
    want = {lb: vals[0] for lb, vals in case.series}
    if len(want) != len(got):
        return f"{prefix}expected {len(want)} samples, got {len(got)}: {sorted(map(str, got))}"
    for lb, v in want.items():
        if lb not in got:
            return f"{prefix}missing {lb} (got {sorted(map(str, got))})"
        assert v is not None
        if not almost_equal(v, got[lb]):
            return f"{prefix}{lb}: expected {v}, got {got[lb]}"
    if order is not None and order != [lb for lb, _ in case.series]:
        return f"{prefix}wrong order: {[str(x) for x in order]}"
    return None


def _compare_matrix(case: EvalCase, mat: Matrix, start: int, step: int) -> str | None:
    want = {lb: vals for lb, vals in case.series}
    got = {s.labels: s for s in mat.series}
    if set(want) != set(got):
        return f"expected series {sorted(map(str, want))}, got {sorted(map(str, got))}"
    for lb, vals in want.items():
        exp = [(start + k * step, v) for k, v in enumerate(vals) if v is not None]
        s = got[lb]
        if len(exp) != len(s.timestamps):
            return f"{lb}: expected {len(exp)} points, got {len(s.timestamps)}: " \
                   f"{list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))}"
        for (t, v), t2, v2 in zip(exp, s.timestamps.tolist(), s.values.tolist(), strict=True):
            if t != t2 or not almost_equal(v, v2):
                return f"{lb}: expected {v}@{t}, got {v2}@{t2}"
    return None


def main(argv: list[str]) -> int:
    """Command line: run the given scripts and print per-file counts (``-v``: failures)."""
    verbose = "-v" in argv
    files = [a for a in argv if a != "-v"]
    total = FileResult("total")
    for f in files:
        r = run_file(f, verbose=verbose)
        print(f"{r.name:32} passed {r.passed:4}  failed {r.failed:4}  skipped {r.skipped:4}")
        total.passed += r.passed
        total.failed += r.failed
        total.skipped += r.skipped
    print(f"{'total':32} passed {total.passed:4}  failed {total.failed:4}  skipped {total.skipped:4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
