"""Reading a test script into commands: ``load`` blocks, ``clear`` and ``eval`` cases.

Lines are read as upstream's ``promql/promqltest/test.go`` reads them: trimmed, a line
starting with ``#`` counts as blank, and a blank line ends a block. Every eval has an
identity ``file.test:LINE`` (the line of its ``eval`` command, 1-based).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from vigil.errors import VigilError
from vigil.model.features import ALL_FEATURES
from vigil.model.labels import Labels
from vigil.promql.parser import ast, parse_expr
from vigil.promql.parser.series_notation import (
    SeriesLine,
    parse_load_line,
    parse_time_ms,
    parse_value,
)

__all__ = ["Clear", "EvalCase", "Expect", "Load", "Script", "parse_script"]

_LOAD = re.compile(r"^load(?:_(with_nhcb))?\s+(.+?)$")
_EVAL_INSTANT = re.compile(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_EVAL_RANGE = re.compile(r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$")
_EXPECT = re.compile(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
_EXPECT_RANGE = re.compile(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$")


@dataclass(frozen=True)
class Expect:
    """An expected error or annotation text: exact (``msg:``) or a pattern (``regex:``,
    unanchored search as Go's MatchString; no text given = any)."""

    message: str | None = None
    pattern: str | None = None

    def matches(self, text: str) -> bool:
        if self.message is not None:
            return text == self.message
        return re.search(self.pattern or "", text) is not None

    def __str__(self) -> str:
        return f"message {self.message!r}" if self.message is not None else f"pattern {self.pattern!r}"


@dataclass
class Load:
    """A ``load`` block: series lines with their script line numbers."""

    line: int
    step_ms: int
    nhcb: bool
    series: list[tuple[int, SeriesLine]] = field(default_factory=list)

    def effective(self) -> list[SeriesLine]:
        """The series lines that count: a later line for the same series replaces an
        earlier one (upstream keeps one definition per series and load)."""
        last: dict[tuple[bool, object], SeriesLine] = {}
        for _, line in self.series:
            last[(line.start_timestamps, line.labels)] = line
        return list(last.values())


@dataclass
class Clear:
    line: int


@dataclass
class EvalCase:
    """One ``eval`` command with its expectations (see upstream's README for each)."""

    identity: str
    line: int
    expr: str
    instant: bool
    start_ms: int = 0
    end_ms: int = 0
    step_ms: int = 0
    fail: bool = False
    fail_expect: Expect | None = None  # expected_fail_message/regexp or expect fail msg/regex
    ordered: bool = False
    warn: bool = False  # eval_warn: at least one warning
    info: bool = False  # eval_info: at least one info annotation
    warn_expects: list[Expect] = field(default_factory=list)
    info_expects: list[Expect] = field(default_factory=list)
    no_warn: bool = False
    no_info: bool = False
    range_vector: bool = False  # "expect range vector": an instant query returning a matrix
    exclude_from_range_query: bool = False
    expected_string: str | None = None
    scalar: float | None = None
    series: list[tuple[Labels, list[float | None]]] = field(default_factory=list)
    histogram_result: bool = False  # some expected value is a native histogram {{...}}
    parse_error: str | None = None  # the case itself could not be read

    def query(self) -> ast.Expr | None:
        try:
            return parse_expr(self.expr, features=ALL_FEATURES)
        except VigilError:
            return None


Command = Load | Clear | EvalCase


@dataclass
class Script:
    name: str
    commands: list[Command]

    def evals(self) -> list[EvalCase]:
        return [c for c in self.commands if isinstance(c, EvalCase)]


def parse_script(path: str | Path) -> Script:
    """Read one ``.test`` file."""
    path = Path(path)
    lines = [_clean(raw) for raw in path.read_text().split("\n")]
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        block_end = i + 1
        while block_end < len(lines) and lines[block_end]:
            block_end += 1
        body = [(n + 1, lines[n]) for n in range(i + 1, block_end)]
        if line == "clear":
            commands.append(Clear(i + 1))
            block_end = i + 1
        elif m := _LOAD.match(line):
            commands.append(_load(i + 1, m, body))
        elif line.startswith("eval"):
            commands.append(_eval(path.name, i + 1, line, body))
        i = block_end
    return Script(path.name, commands)


def _clean(raw: str) -> str:
    line = raw.strip()
    return "" if line.startswith("#") else line


def _load(line: int, m: re.Match[str], body: list[tuple[int, str]]) -> Load:
    load = Load(line, parse_time_ms(m.group(2)), m.group(1) is not None)
    for n, text in body:
        load.series.append((n, parse_load_line(text)))
    return load


def _eval(file: str, line: int, text: str, body: list[tuple[int, str]]) -> EvalCase:
    ident = f"{file}:{line}"
    if mi := _EVAL_INSTANT.match(text):
        mod, expr = mi.group(1), mi.group(3)
        t = parse_time_ms(mi.group(2) or "0")
        case = EvalCase(ident, line, expr, True, t, t, 0)
    elif mr := _EVAL_RANGE.match(text):
        mod, expr = mr.group(1), mr.group(5)
        case = EvalCase(ident, line, expr, False, parse_time_ms(mr.group(2)),
                        parse_time_ms(mr.group(3)), parse_time_ms(mr.group(4)))
    else:
        return EvalCase(ident, line, text, True, parse_error="unreadable eval command")
    case.fail = mod == "fail"
    case.ordered = mod == "ordered"
    case.warn = mod == "warn"
    case.info = mod == "info"
    for _, exp in body:
        try:
            if _expectation(case, exp):
                break  # upstream stops reading after these lines
        except (VigilError, ValueError) as e:
            case.parse_error = f"unreadable expectation {exp!r}: {e}"
            break
    return case


def _expectation(case: EvalCase, text: str) -> bool:
    """Apply one expectation line; True when it ends the case (as upstream)."""
    if case.fail and text.startswith("expected_fail_message"):
        case.fail_expect = Expect(message=text.removeprefix("expected_fail_message").strip())
        return True
    if case.fail and text.startswith("expected_fail_regexp"):
        case.fail_expect = Expect(pattern=text.removeprefix("expected_fail_regexp").strip())
        return True
    if m := _EXPECT_RANGE.match(text):
        case.start_ms, case.end_ms, case.step_ms = (parse_time_ms(g) for g in m.groups())
        case.range_vector = case.exclude_from_range_query = True
        return False
    if text.startswith("expect string"):
        lit = parse_expr(text.removeprefix("expect string").strip())
        if not isinstance(lit, ast.StringLiteral):
            raise ValueError("expected a quoted string")
        case.expected_string = lit.val
        case.exclude_from_range_query = True
        return False
    if text.split(" ")[0] == "expect":
        _expect_line(case, text)
        return False
    try:
        case.scalar = parse_value(text)
        return True
    except ValueError:
        pass
    line = parse_load_line(text)
    if line.histogram:
        case.histogram_result = True
    case.series.append((line.labels, line.values))
    return False


def _expect_line(case: EvalCase, text: str) -> None:
    m = _EXPECT.match(text)
    if not m:
        raise ValueError("not an expect line")
    kind, how, arg = m.group(1), m.group(2), (m.group(3) or "").strip()
    exp = Expect(message=arg) if how == "msg" else Expect(pattern=arg if how else "")
    if kind == "fail":
        case.fail = True
        case.fail_expect = exp
    elif kind == "ordered":
        case.ordered = True
    elif kind == "warn":
        case.warn_expects.append(exp)
    elif kind == "info":
        case.info_expects.append(exp)
    elif kind == "no_warn":
        case.no_warn = True
    else:
        case.no_info = True
