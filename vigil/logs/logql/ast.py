"""The LogQL syntax tree and its printer.

``str(node)`` writes a query the way Loki's ``String()`` does, so a printed query parses back to
the same tree: a selector as ``{app="api", env="prod"}``, stages separated by one space, a
binary operation in parentheses, a range as a Prometheus duration (``[5m]``) and an offset as a
Go duration (`` offset 1h0m0s``).

Log queries are :class:`LogSelector`; metric queries (:data:`SampleExpr`) are range and vector
aggregations, binary operations, literals and ``vector()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.gocompat.durations import format_duration_ms
from vigil.gocompat.floats import format_float_f, format_float_v
from vigil.gocompat.quote import quote
from vigil.logs.logql.units import format_bytes, format_go_duration
from vigil.model.matchers import Matcher

__all__ = [
    "BinOp", "BinaryLabelFilter", "BytesFilter", "Decolorize", "DropLabels", "DurationFilter",
    "Grouping", "IPLabelFilter", "JSONParser", "KeepLabels", "LabelFilter", "LabelReplace", "LabelFilterStage",
    "LabelFormat", "LabelFormatItem", "LineFilter", "LineFormat", "Literal", "LogRange",
    "LogSelector", "LogfmtParser", "MatcherFilter", "NumericFilter", "PatternParser",
    "RangeAggregation", "RegexpParser", "SampleExpr", "Stage", "UnpackParser", "Unwrap",
    "VectorAggregation", "VectorExpr", "VectorMatching", "Expr",
]

def matcher_str(m: Matcher) -> str:
    """A matcher as Prometheus prints it (the value as a Go string literal)."""
    return f"{m.name}{m.type.value}{quote(m.value)}"


# Comparison operators of label filters, printed as Loki prints them (``=`` as ``==``).
CMP_OPS = ("==", "!=", ">", ">=", "<", "<=")


@dataclass(frozen=True)
class LineFilter:
    """``|= "a"``, ``!= "b"``, ``|~ "re"``, ``!~ "re"``, ``|> "<_> pat"``, ``!> ...``.
    ``values`` holds one value, or several joined by ``or`` (any may match; only for the
    positive operators: Loki turns ``!= "a" or "b"`` into two filters). ``ip`` marks
    ``|= ip("10.0.0.0/8")``."""
    op: str
    values: tuple[str, ...]
    ip: bool = False

    def __str__(self) -> str:
        def one(v: str) -> str:
            return f"ip({quote(v)})" if self.ip else quote(v)
        return f"{self.op} " + " or ".join(one(v) for v in self.values)


@dataclass(frozen=True)
class MatcherFilter:
    """A label filter that is a matcher: ``level="error"``, ``path=~"/api/.*"``."""
    matcher: Matcher

    def __str__(self) -> str:
        return matcher_str(self.matcher)


@dataclass(frozen=True)
class NumericFilter:
    name: str
    op: str  # one of CMP_OPS
    value: float

    def __str__(self) -> str:
        return f"{self.name}{self.op}{format_float_f(self.value)}"


@dataclass(frozen=True)
class DurationFilter:
    name: str
    op: str
    value_ns: int

    def __str__(self) -> str:
        return f"{self.name}{self.op}{format_go_duration(self.value_ns)}"


@dataclass(frozen=True)
class BytesFilter:
    name: str
    op: str
    value: int

    def __str__(self) -> str:
        return f"{self.name}{self.op}{format_bytes(self.value)}"


@dataclass(frozen=True)
class IPLabelFilter:
    name: str
    op: str  # "=" or "!="
    pattern: str

    def __str__(self) -> str:
        return f"{self.name}{self.op}ip({quote(self.pattern)})"


@dataclass(frozen=True)
class BinaryLabelFilter:
    left: LabelFilter
    right: LabelFilter
    and_: bool

    def __str__(self) -> str:
        return f"( {self.left} {',' if self.and_ else 'or'} {self.right} )"


LabelFilter = (MatcherFilter | NumericFilter | DurationFilter | BytesFilter | IPLabelFilter
               | BinaryLabelFilter)


@dataclass(frozen=True)
class LabelFilterStage:
    filter: LabelFilter

    def __str__(self) -> str:
        return f"| {self.filter}"


@dataclass(frozen=True)
class JSONParser:
    """``| json`` or ``| json a="x.y", b`` (label name = JSON path expression)."""
    expressions: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        if not self.expressions:
            return "| json"
        return "| json " + ",".join(f"{n}={quote(e)}" for n, e in self.expressions)


@dataclass(frozen=True)
class LogfmtParser:
    strict: bool = False
    keep_empty: bool = False
    expressions: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        flags = (["--strict"] if self.strict else []) + (
            ["--keep-empty"] if self.keep_empty else [])
        if not self.expressions:
            return " ".join(["| logfmt", *flags])
        head = "| logfmt " + "".join(f + " " for f in flags)
        return head + ",".join(f"{n}={quote(e)}" for n, e in self.expressions)


@dataclass(frozen=True)
class RegexpParser:
    regex: str

    def __str__(self) -> str:
        return f"| regexp {quote(self.regex)}"


@dataclass(frozen=True)
class PatternParser:
    pattern: str

    def __str__(self) -> str:
        return f"| pattern {quote(self.pattern)}"


@dataclass(frozen=True)
class UnpackParser:
    def __str__(self) -> str:
        return "| unpack"


@dataclass(frozen=True)
class LineFormat:
    template: str

    def __str__(self) -> str:
        return f"| line_format {quote(self.template)}"


@dataclass(frozen=True)
class LabelFormatItem:
    name: str
    value: str  # a template, or the source label when ``rename``
    rename: bool

    def __str__(self) -> str:
        return f"{self.name}={self.value if self.rename else quote(self.value)}"


@dataclass(frozen=True)
class LabelFormat:
    items: tuple[LabelFormatItem, ...]

    def __str__(self) -> str:
        return "| label_format " + ",".join(str(i) for i in self.items)


@dataclass(frozen=True)
class Decolorize:
    def __str__(self) -> str:
        return "| decolorize"


# ``drop``/``keep`` take names and matchers: ``| drop level, method="GET"``.
NamedMatcher = str | Matcher


def _named(item: NamedMatcher) -> str:
    return item if isinstance(item, str) else matcher_str(item)


@dataclass(frozen=True)
class DropLabels:
    items: tuple[NamedMatcher, ...]

    def __str__(self) -> str:
        return "| drop " + ",".join(_named(i) for i in self.items)


@dataclass(frozen=True)
class KeepLabels:
    items: tuple[NamedMatcher, ...]

    def __str__(self) -> str:
        return "| keep " + ",".join(_named(i) for i in self.items)


Stage = (LineFilter | LabelFilterStage | JSONParser | LogfmtParser | RegexpParser | PatternParser
         | UnpackParser | LineFormat | LabelFormat | Decolorize | DropLabels | KeepLabels)


@dataclass(frozen=True)
class LogSelector:
    """A stream selector and its pipeline: ``{app="api"} |= "error" | json``."""
    matchers: tuple[Matcher, ...]
    stages: tuple[Stage, ...] = ()

    def __str__(self) -> str:
        head = "{" + ", ".join(matcher_str(m) for m in self.matchers) + "}"
        return " ".join([head, *(str(s) for s in self.stages)])

    def needles(self) -> tuple[str, ...]:
        """Substrings every matching line contains: the ``|=`` filters before any stage that
        may rewrite the line (a store may use them to skip chunks)."""
        out = []
        for stage in self.stages:
            if isinstance(stage, LineFilter):
                if stage.op == "|=" and not stage.ip and len(stage.values) == 1 and stage.values[0]:
                    out.append(stage.values[0])
            elif isinstance(stage, (LineFormat, Decolorize, UnpackParser)):
                break  # the line the later filters see is not the stored line
        return tuple(out)


@dataclass(frozen=True)
class Unwrap:
    label: str
    conversion: str = ""  # "", "bytes", "duration", "duration_seconds"
    post_filters: tuple[LabelFilter, ...] = ()

    def __str__(self) -> str:
        target = f"{self.conversion}({self.label})" if self.conversion else self.label
        return f" | unwrap {target}" + "".join(f" | {f}" for f in self.post_filters)


@dataclass(frozen=True)
class LogRange:
    selector: LogSelector
    range_ns: int
    offset_ns: int = 0
    unwrap: Unwrap | None = None

    def __str__(self) -> str:
        text = str(self.selector) + (str(self.unwrap) if self.unwrap else "")
        text += f"[{format_duration_ms(self.range_ns // 1_000_000)}]"
        if self.offset_ns:
            text += f" offset {format_go_duration(self.offset_ns)}"
        return text


@dataclass(frozen=True)
class Grouping:
    labels: tuple[str, ...] = ()
    without: bool = False

    def __str__(self) -> str:
        return f" {'without' if self.without else 'by'} ({','.join(self.labels)})"


@dataclass(frozen=True)
class RangeAggregation:
    op: str  # count_over_time, rate, ...
    range: LogRange
    grouping: Grouping | None = None
    param: float | None = None  # the quantile of quantile_over_time

    def __str__(self) -> str:
        param = "" if self.param is None else format_float_f(self.param) + ","
        grouping = str(self.grouping) if self.grouping else ""
        return f"{self.op}({param}{self.range}){grouping}"


@dataclass(frozen=True)
class VectorAggregation:
    op: str  # sum, avg, min, max, count, stddev, stdvar, topk, bottomk, sort, sort_desc
    expr: SampleExpr
    grouping: Grouping | None = None
    param: int | None = None  # k of topk/bottomk

    def __str__(self) -> str:
        grouping = ""
        if self.grouping and (self.grouping.labels or self.grouping.without):
            grouping = str(self.grouping)
        param = "" if self.param is None else f"{self.param},"
        return f"{self.op}{grouping}({param}{self.expr})"


@dataclass(frozen=True)
class VectorMatching:
    on: bool = False
    labels: tuple[str, ...] = ()
    card: str = "one-to-one"  # "many-to-one" (group_left), "one-to-many" (group_right)
    include: tuple[str, ...] | None = None


@dataclass(frozen=True)
class BinOp:
    op: str
    lhs: SampleExpr
    rhs: SampleExpr
    return_bool: bool = False
    matching: VectorMatching = field(default_factory=VectorMatching)

    def __str__(self) -> str:
        op = self.op + (" bool" if self.return_bool else "")
        m = self.matching
        if m.on or m.labels:  # as Loki: an empty ignoring() is not printed
            group = {"many-to-one": "group_left", "one-to-many": "group_right"}.get(m.card, "")
            if m.include is not None:
                group = f"{group} ({','.join(m.include)})"
            op = f"{op} {'on' if m.on else 'ignoring'} ({','.join(m.labels)}) {group}"
        return f"({self.lhs} {op} {self.rhs})"


@dataclass(frozen=True)
class Literal:
    value: float

    def __str__(self) -> str:
        return format_float_v(self.value)


@dataclass(frozen=True)
class VectorExpr:
    value: float

    def __str__(self) -> str:
        return f"vector({format_float_v(self.value)})"


@dataclass(frozen=True)
class LabelReplace:
    """``label_replace(expr, "dst", "replacement", "src", "regex")``, as PromQL's."""
    expr: SampleExpr
    dst: str
    replacement: str
    src: str
    regex: str

    def __str__(self) -> str:
        args = ",".join(quote(a) for a in (self.dst, self.replacement, self.src, self.regex))
        return f"label_replace({self.expr},{args})"


SampleExpr = RangeAggregation | VectorAggregation | BinOp | Literal | VectorExpr | LabelReplace
Expr = (LogSelector | RangeAggregation | VectorAggregation | BinOp | Literal | VectorExpr
        | LabelReplace)
