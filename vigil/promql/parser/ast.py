"""PromQL syntax tree. ``str(node)`` prints canonical PromQL (as Prometheus's printer does).

Durations and timestamps are int milliseconds. Value types are the strings ``"scalar"``,
``"vector"``, ``"matrix"`` and ``"string"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vigil.gocompat.durations import format_duration_ms as format_duration
from vigil.gocompat.floats import format_float_f as format_float
from vigil.gocompat.quote import quote as go_quote
from vigil.model.labels import METRIC_NAME, is_label_name, is_metric_name
from vigil.model.matchers import Matcher, MatchType

SCALAR = "scalar"
VECTOR = "vector"
MATRIX = "matrix"
STRING = "string"

DOCUMENTED_TYPE = {SCALAR: "scalar", VECTOR: "instant vector", MATRIX: "range vector", STRING: "string"}

COMPARISON_OPS = {"==", "!=", "<", "<=", ">", ">="}
SET_OPS = {"and", "or", "unless"}

def _label_name(name: str) -> str:
    if is_label_name(name):
        return name
    return go_quote(name)


def _labels_list(names: list[str]) -> str:
    return ", ".join(_label_name(n) for n in names)


class Expr:
    """Base of all expression nodes. ``type`` is the PromQL value type."""

    @property
    def type(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass
class NumberLiteral(Expr):
    val: float
    duration: bool = False  # written as a duration, printed back as one

    @property
    def type(self) -> str:
        return SCALAR

    def __str__(self) -> str:
        if self.duration and math.isfinite(self.val):
            ms = round(self.val * 1000)
            return ("-" + format_duration(-ms)) if ms < 0 else format_duration(ms)
        return format_float(self.val)


@dataclass
class StringLiteral(Expr):
    val: str

    @property
    def type(self) -> str:
        return STRING

    def __str__(self) -> str:
            return go_quote(self.val)


@dataclass
class DurationExpr(Expr):
    """Arithmetic on durations inside ``[...]`` or after ``offset`` (experimental in
    Prometheus). Values are seconds; ``step()`` and ``range()`` are those of the query.
    ``op`` is a binary operator, ``"neg"`` (unary minus, ``rhs`` only), ``"step"``,
    ``"range"``, ``"min_of"``/``"max_of"`` or ``"paren"``/``"lit"``."""

    op: str
    lhs: Expr | None = None
    rhs: Expr | None = None

    @property
    def type(self) -> str:
        return SCALAR

    def seconds(self, step_s: float, range_s: float) -> float:
        def val(e: Expr | None) -> float:
            if isinstance(e, NumberLiteral):
                return e.val
            assert isinstance(e, DurationExpr)
            return e.seconds(step_s, range_s)

        op = self.op
        if op == "step":
            return step_s
        if op == "range":
            return range_s
        if op == "neg":
            return -val(self.rhs)
        if op == "paren":
            return val(self.rhs)
        a, b = val(self.lhs), val(self.rhs)
        if op == "min_of":
            return min(a, b)
        if op == "max_of":
            return max(a, b)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b if b else math.copysign(math.inf, a)
        if op == "%":
            return math.fmod(a, b) if b else math.nan
        try:
            return math.pow(a, b)
        except (OverflowError, ValueError):
            return math.inf if abs(a) > 1 else math.nan

    def is_constant(self) -> bool:
        return not any(isinstance(n, DurationExpr) and n.op in ("step", "range") for n in walk(self))

    def __str__(self) -> str:
        op = self.op
        if op in ("step", "range"):
            return f"{op}()"
        if op == "neg":
            return f"-{self.rhs}"
        if op == "paren":
            return f"({self.rhs})"
        if op in ("min_of", "max_of"):
            return f"{op}({self.lhs}, {self.rhs})"
        return f"{self.lhs} {op} {self.rhs}"


@dataclass
class AtModifier:
    """``@ <ts>`` (ts_ms set) or ``@ start()`` / ``@ end()`` (start_or_end set)."""

    ts_ms: int | None = None
    start_or_end: str | None = None

    def __str__(self) -> str:
        if self.ts_ms is not None:
            return f" @ {self.ts_ms / 1000:.3f}"
        return f" @ {self.start_or_end}()"


def _offset_str(offset_ms: int, expr: Expr | None = None) -> str:
    if expr is not None:
        return f" offset {expr}"
    if offset_ms > 0:
        return f" offset {format_duration(offset_ms)}"
    if offset_ms < 0:
        return f" offset -{format_duration(-offset_ms)}"
    return ""


@dataclass
class VectorSelector(Expr):
    name: str
    matchers: list[Matcher]
    offset_ms: int = 0
    at: AtModifier | None = None
    offset_expr: DurationExpr | None = None  # set when the offset depends on step()/range()
    anchored: bool = False  # experimental range-selector modifiers
    smoothed: bool = False

    @property
    def type(self) -> str:
        return VECTOR

    def selector_str(self) -> str:
        parts = sorted(
            _matcher_str(m)
            for m in self.matchers
            if not (m.name == METRIC_NAME and m.type is MatchType.EQUAL and m.value == self.name
                    and m.value)
        )
        name = self.name
        if name and not is_metric_name(name):
            parts.insert(0, StringLiteral(name).__str__())
            name = ""
            return "{" + ",".join(parts) + "}"
        return name + ("{" + ",".join(parts) + "}" if parts else "")

    def modifier_str(self) -> str:
        return " anchored" if self.anchored else (" smoothed" if self.smoothed else "")

    def __str__(self) -> str:
        return (self.selector_str() + (str(self.at) if self.at else "") + self.modifier_str()
                + _offset_str(self.offset_ms, self.offset_expr))


def _matcher_str(m: Matcher) -> str:
    return f"{_label_name(m.name)}{m.type.value}{go_quote(m.value)}"


@dataclass
class MatrixSelector(Expr):
    vs: VectorSelector
    range_ms: int
    range_expr: DurationExpr | None = None

    @property
    def type(self) -> str:
        return MATRIX

    def __str__(self) -> str:
        at = str(self.vs.at) if self.vs.at else ""
        rng = self.range_expr if self.range_expr is not None else format_duration(self.range_ms)
        return (f"{self.vs.selector_str()}[{rng}]{self.vs.modifier_str()}{at}"
                f"{_offset_str(self.vs.offset_ms, self.vs.offset_expr)}")


@dataclass
class SubqueryExpr(Expr):
    expr: Expr
    range_ms: int
    step_ms: int = 0  # 0 means "the evaluation interval" (default step)
    offset_ms: int = 0
    at: AtModifier | None = None
    range_expr: DurationExpr | None = None
    step_expr: DurationExpr | None = None
    offset_expr: DurationExpr | None = None

    @property
    def type(self) -> str:
        return MATRIX

    def __str__(self) -> str:
        step = format_duration(self.step_ms) if self.step_ms else ""
        if self.step_expr is not None:
            step = str(self.step_expr)
        rng = self.range_expr if self.range_expr is not None else format_duration(self.range_ms)
        at = str(self.at) if self.at else ""
        return f"{self.expr}[{rng}:{step}]{at}{_offset_str(self.offset_ms, self.offset_expr)}"


@dataclass
class ParenExpr(Expr):
    expr: Expr

    @property
    def type(self) -> str:
        return self.expr.type

    def __str__(self) -> str:
        return f"({self.expr})"


@dataclass
class UnaryExpr(Expr):
    op: str  # "-" or "+"
    expr: Expr

    @property
    def type(self) -> str:
        return self.expr.type

    def __str__(self) -> str:
        return f"{self.op}{self.expr}"


@dataclass
class VectorMatching:
    """How the two sides of a binary operation between vectors pair up."""

    card: str = "one-to-one"  # one-to-one | many-to-one | one-to-many | many-to-many
    labels: list[str] = field(default_factory=list)
    on: bool = False
    include: list[str] = field(default_factory=list)
    # fill(v) / fill_left(v) / fill_right(v): stand-in values for a missing series on that
    # side (experimental in Prometheus). For group_right "left" is the "many" side.
    fill_lhs: float | None = None
    fill_rhs: float | None = None


@dataclass
class BinaryExpr(Expr):
    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool = False
    matching: VectorMatching | None = None

    @property
    def type(self) -> str:
        if self.lhs.type == SCALAR and self.rhs.type == SCALAR:
            return SCALAR
        return VECTOR

    def __str__(self) -> str:
        s = f"{self.lhs} {self.op}"
        if self.return_bool:
            s += " bool"
        vm = self.matching
        if vm is not None:
            grouped = vm.card in ("many-to-one", "one-to-many")
            if vm.labels or vm.on or grouped:
                s += f" {'on' if vm.on else 'ignoring'} ({_labels_list(vm.labels)})"
            if grouped:
                side = "left" if vm.card == "many-to-one" else "right"
                s += f" group_{side} ({_labels_list(vm.include)})"
            fl, fr = vm.fill_lhs, vm.fill_rhs
            if fl is not None and fr is not None and (fl == fr or (fl != fl and fr != fr)):
                s += f" fill ({format_float(fl)})"
            else:
                if fl is not None:
                    s += f" fill_left ({format_float(fl)})"
                if fr is not None:
                    s += f" fill_right ({format_float(fr)})"
        return f"{s} {self.rhs}"


@dataclass
class AggregateExpr(Expr):
    op: str
    expr: Expr
    param: Expr | None = None
    grouping: list[str] = field(default_factory=list)
    without: bool = False

    @property
    def type(self) -> str:
        return VECTOR

    def __str__(self) -> str:
        s = self.op
        if self.without:
            s += f" without ({_labels_list(self.grouping)}) "
        elif self.grouping:
            s += f" by ({_labels_list(self.grouping)}) "
        args = f"{self.param}, {self.expr}" if self.param is not None else str(self.expr)
        return f"{s}({args})"


@dataclass
class Call(Expr):
    func: str
    args: list[Expr]
    return_type: str = VECTOR

    @property
    def type(self) -> str:
        return self.return_type

    def __str__(self) -> str:
        return f"{self.func}({', '.join(str(a) for a in self.args)})"


def children(node: Expr) -> list[Expr]:
    """The direct sub-expressions of ``node``."""
    if isinstance(node, MatrixSelector):
        return [node.vs]
    if isinstance(node, SubqueryExpr | ParenExpr | UnaryExpr):
        return [node.expr]
    if isinstance(node, BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, AggregateExpr):
        return [node.param, node.expr] if node.param is not None else [node.expr]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, DurationExpr):
        return [c for c in (node.lhs, node.rhs) if c is not None]
    return []


def walk(node: Expr):
    """Yield ``node`` and all its descendants, depth-first."""
    yield node
    for c in children(node):
        yield from walk(c)
