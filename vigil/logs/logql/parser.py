"""The LogQL parser: query text to the tree of :mod:`vigil.logs.logql.ast`.

A recursive-descent reading of Loki's grammar. Errors are Loki's: a syntax error names the
unexpected token and the position of that token (``parse error at line 1, col 9: syntax
error: unexpected IDENTIFIER``); checks made on the whole tree afterwards (an aggregation
without ``unwrap``, a ``topk`` without its parameter, a selector that matches everything)
carry no position (``parse error : ...``), as in Loki.
"""

from __future__ import annotations

import re

from vigil.gocompat.floats import parse_float
from vigil.logs.logql import ast
from vigil.logs.logql._stages import StageParser, literal
from vigil.logs.logql.binops import apply_scalar_op
from vigil.logs.logql.errors import ParseError
from vigil.model.regex import compile_go

__all__ = ["parse_expr", "parse_log_selector", "parse_sample_expr"]

_EMPTY_SELECTOR = (
    "queries require at least one regexp or equality matcher that does not have an "
    "empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but "
    "app=~\".+\" will")
_RANGE_OPS = {"COUNT_OVER_TIME", "RATE", "RATE_COUNTER", "BYTES_OVER_TIME", "BYTES_RATE",
              "AVG_OVER_TIME", "SUM_OVER_TIME", "MIN_OVER_TIME", "MAX_OVER_TIME", "STDVAR_OVER_TIME",
              "STDDEV_OVER_TIME", "QUANTILE_OVER_TIME", "FIRST_OVER_TIME", "LAST_OVER_TIME",
              "ABSENT_OVER_TIME"}
_VECTOR_OPS = {"SUM", "AVG", "COUNT", "MAX", "MIN", "STDDEV", "STDVAR", "BOTTOMK", "TOPK",
               "APPROX_TOPK", "SORT", "SORT_DESC"}
_BINARY_PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<": 3, "<=": 3,
                      ">": 3, ">=": 3, "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6}
_LOGICAL = ("or", "and", "unless")
# Aggregations that read the extracted value (``unwrap``) and those that count lines.
_UNWRAP_OK = {"avg_over_time", "sum_over_time", "max_over_time", "min_over_time",
              "stddev_over_time", "stdvar_over_time", "quantile_over_time", "rate",
              "rate_counter", "absent_over_time", "first_over_time", "last_over_time"}
_NO_UNWRAP_OK = {"bytes_over_time", "bytes_rate", "count_over_time", "rate", "absent_over_time"}
_GROUPING_OK = {"avg_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time",
                "max_over_time", "min_over_time", "first_over_time", "last_over_time"}


def _go_type(selector: ast.LogSelector) -> str:
    """The Go type Loki names in its error about a log selector where a sample is needed."""
    return "*syntax.PipelineExpr" if selector.stages else "*syntax.MatchersExpr"


class _Parser(StageParser):
    # ------------------------------------------------------------------ expressions

    def parse(self) -> ast.Expr:
        expr = self.expr(0)
        if self.tok.kind != "$end":
            raise self.unexpected()
        return expr

    def expr(self, min_prec: int) -> ast.Expr:
        lhs = self.operand()
        while True:
            op = self.tok.kind
            prec = _BINARY_PRECEDENCE.get(op)
            if prec is None or prec < min_prec:
                return lhs
            self.advance()
            return_bool, matching = self.bin_modifiers()
            rhs = self.expr(prec if op == "^" else prec + 1)
            lhs = _binary(op, lhs, rhs, return_bool, matching)

    def bin_modifiers(self) -> tuple[bool, ast.VectorMatching]:
        return_bool = False
        if self.tok.kind == "bool":
            self.advance()
            return_bool = True
        if self.tok.kind not in ("on", "ignoring"):
            return return_bool, ast.VectorMatching()
        on = self.advance().kind == "on"
        labels = self.label_list()
        card, include = "one-to-one", None
        if self.tok.kind in ("group_left", "group_right"):
            card = "many-to-one" if self.advance().kind == "group_left" else "one-to-many"
            if self.tok.kind == "(":
                include = self.label_list()
        return return_bool, ast.VectorMatching(on, labels, card, include)

    def label_list(self) -> tuple[str, ...]:
        self.expect("(")
        names: list[str] = []
        while self.tok.kind != ")":
            if names:
                if self.tok.kind != ",":
                    raise self.unexpected(")", ",")
                self.advance()
            if self.tok.kind != "IDENTIFIER":
                raise self.unexpected("IDENTIFIER", ")") if not names else self.unexpected(
                    "IDENTIFIER")
            names.append(str(self.advance().value))
        self.advance()
        return tuple(names)

    def operand(self) -> ast.Expr:
        kind = self.tok.kind
        if kind == "(":
            self.advance()
            inner = self.expr(0)
            self.expect(")")
            return inner
        if kind == "{":
            return self.log_selector()
        if kind == "NUMBER":
            return literal(str(self.advance().value), False)
        if kind in ("+", "-") and self.peek().kind == "NUMBER":
            negative = self.advance().kind == "-"
            return literal(str(self.advance().value), negative)
        if kind in _RANGE_OPS:
            return self.range_aggregation()
        if kind in _VECTOR_OPS:
            return self.vector_aggregation()
        if kind == "LABEL_REPLACE":
            return self.label_replace()
        if kind == "VECTOR":
            self.advance()
            self.expect("(")
            number = self.expect("NUMBER")
            self.expect(")")
            return ast.VectorExpr(parse_float(str(number.value)))
        raise self.unexpected()

    def label_replace(self) -> ast.LabelReplace:
        self.advance()
        self.expect("(")
        inner = self.expr(0)
        args = []
        for _ in range(4):
            self.expect(",")
            args.append(str(self.expect("STRING").value))
        self.expect(")")
        if isinstance(inner, ast.LogSelector):
            raise ParseError("unexpected type for label_replace: " + _go_type(inner))
        try:
            compile_go(f"^(?:{args[3]})$")
        except re.error as exc:
            raise ParseError(f"invalid regex in label_replace: error parsing regexp: {exc}"
                             ) from None
        return ast.LabelReplace(inner, *args)

    def grouping(self) -> ast.Grouping:
        without = self.advance().kind == "without"
        return ast.Grouping(self.label_list(), without)

    def vector_aggregation(self) -> ast.VectorAggregation:
        op = str(self.advance().value)
        grouping = self.grouping() if self.tok.kind in ("by", "without") else None
        self.expect("(")
        param_text = None
        if self.tok.kind == "NUMBER" and self.peek().kind == ",":
            param_text = str(self.advance().value)
            self.advance()
        inner = self.expr(0)
        self.expect(")")
        if grouping is None and self.tok.kind in ("by", "without"):
            grouping = self.grouping()
        if isinstance(inner, ast.LogSelector):
            raise ParseError(f"unexpected type for vector aggregation {op}: "
                             f"{_go_type(inner)}")
        param = None
        if op in ("topk", "bottomk", "approx_topk"):
            if param_text is None:
                raise ParseError(f"parameter required for operation {op}")
            if not re.fullmatch(r"[+-]?[0-9]+", param_text):
                raise ParseError(f"invalid parameter {op}({param_text},")
            param = int(param_text)
            if param <= 0:
                raise ParseError(f"invalid parameter (must be greater than 0) {op}({param_text}")
            if op == "approx_topk" and grouping is not None:  # Loki: group in an inner sum
                raise ParseError(f"grouping not allowed for {op} aggregation")
        elif param_text is not None:
            raise ParseError(f"unsupported parameter for operation {op}({param_text},")
        return ast.VectorAggregation(op, inner, grouping, param)

    def range_aggregation(self) -> ast.RangeAggregation:
        op = str(self.advance().value)
        self.expect("(")
        param_text = None
        if self.tok.kind == "NUMBER" and self.peek().kind == ",":
            param_text = str(self.advance().value)
            self.advance()
        log_range = self.log_range()
        self.expect(")")
        grouping = self.grouping() if self.tok.kind in ("by", "without") else None
        param = None
        if param_text is not None:
            if op != "quantile_over_time":
                raise ParseError(f"parameter {param_text} not supported for operation {op}")
            param = parse_float(param_text)
        elif op == "quantile_over_time":
            raise ParseError(f"parameter required for operation {op}")
        if grouping is not None and op not in _GROUPING_OK:
            raise ParseError(f"grouping not allowed for {op} aggregation")
        if log_range.unwrap is not None and op not in _UNWRAP_OK:
            raise ParseError(f"invalid aggregation {op} with unwrap")
        if log_range.unwrap is None and op not in _NO_UNWRAP_OK:
            raise ParseError(f"invalid aggregation {op} without unwrap")
        return ast.RangeAggregation(op, log_range, grouping, param)

    # ------------------------------------------------------------------ log ranges

    def log_range(self) -> ast.LogRange:
        if self.tok.kind == "(":
            self.advance()
            if self.tok.kind == "(":
                inner = self.log_range()
                self.expect(")")
                return inner
            selector, unwrap = self.selector_and_unwrap()
            if self.tok.kind == "RANGE":  # a whole range inside the parentheses
                inner = self.finish_range(selector, unwrap)
                self.expect(")")
                return inner
            self.expect(")")
            if self.tok.kind != "RANGE":
                raise self.unexpected("RANGE")
            return self.finish_range(selector, unwrap)
        if self.tok.kind != "{":
            raise self.unexpected("{", "(")
        selector, unwrap = self.selector_and_unwrap()
        if self.tok.kind != "RANGE":
            raise self.unexpected("RANGE")
        return self.finish_range(selector, unwrap)

    def selector_and_unwrap(self) -> tuple[ast.LogSelector, ast.Unwrap | None]:
        selector = self.log_selector()
        unwrap = self.unwrap() if self.tok.kind == "|" and self.peek().kind == "unwrap" else None
        return selector, unwrap

    def finish_range(self, selector: ast.LogSelector, unwrap: ast.Unwrap | None) -> ast.LogRange:
        range_ns = int(self.advance().value)  # type: ignore[call-overload]
        offset_ns = 0
        if self.tok.kind == "offset":
            self.advance()
            offset_ns = int(self.expect("DURATION").value)  # type: ignore[call-overload]
        if unwrap is None:  # Loki also takes the pipeline after the range
            stages = self.pipeline()
            if stages:
                selector = ast.LogSelector(selector.matchers, selector.stages + stages)
            if self.tok.kind == "|" and self.peek().kind == "unwrap":
                unwrap = self.unwrap()
        return ast.LogRange(selector, range_ns, offset_ns, unwrap)

    def unwrap(self) -> ast.Unwrap:
        self.advance()
        self.advance()
        conversion = ""
        if self.tok.kind in ("BYTES", "DURATION", "DURATION_SECONDS") and self.peek().kind == "(":
            conversion = str(self.advance().value)
            self.advance()
            label = str(self.expect("IDENTIFIER").value)
            self.expect(")")
        else:
            label = str(self.expect("IDENTIFIER").value)
        filters: list[ast.LabelFilter] = []
        while self.tok.kind == "|" and self.peek().kind in ("IDENTIFIER", "("):
            self.advance()
            filters.append(self.label_filter())
        return ast.Unwrap(label, conversion, tuple(filters))


# ---------------------------------------------------------------------- helpers


def _binary(op: str, lhs: ast.Expr, rhs: ast.Expr, return_bool: bool,
            matching: ast.VectorMatching) -> ast.SampleExpr:
    if isinstance(lhs, ast.LogSelector):
        raise ParseError(f"unexpected type for left leg of binary operation ({op}): "
                         f"{_go_type(lhs)}")
    if isinstance(rhs, ast.LogSelector):
        raise ParseError(f"unexpected type for right leg of binary operation ({op}): "
                         f"{_go_type(rhs)}")
    lit_l, lit_r = isinstance(lhs, ast.Literal), isinstance(rhs, ast.Literal)
    if op in _LOGICAL:
        for side, lit, node in (("left", lit_l, lhs), ("right", lit_r, rhs)):
            if lit:
                value = node.value  # type: ignore[union-attr]
                raise ParseError(f"unexpected literal for {side} leg of logical/set binary "
                                 f"operation ({op}): {value:f}")
    if lit_l and lit_r:  # Loki folds literal arithmetic when it parses
        return ast.Literal(apply_scalar_op(op, lhs.value, rhs.value))  # type: ignore[union-attr]
    return ast.BinOp(op, lhs, rhs, return_bool, matching)  # type: ignore[arg-type]


def _validate(expr: ast.Expr) -> None:
    if isinstance(expr, ast.LogSelector):
        if not any(not m.matches_empty() for m in expr.matchers):
            raise ParseError(_EMPTY_SELECTOR)
    elif isinstance(expr, ast.RangeAggregation):
        _validate(expr.range.selector)
    elif isinstance(expr, (ast.VectorAggregation, ast.LabelReplace)):
        _validate(expr.expr)
    elif isinstance(expr, ast.BinOp):
        _validate(expr.lhs)
        _validate(expr.rhs)


def parse_expr(text: str) -> ast.Expr:
    """Parse and validate a LogQL query (a log query or a metric query)."""
    if len(text) >= 131072:
        raise ParseError(f"input size too long ({len(text)} > 131072)")
    expr = _Parser(text).parse()
    _validate(expr)
    return expr


def parse_log_selector(text: str) -> ast.LogSelector:
    expr = parse_expr(text)
    if not isinstance(expr, ast.LogSelector):
        raise ParseError("only log selector expressions supported")
    return expr


def parse_sample_expr(text: str) -> ast.SampleExpr:
    expr = parse_expr(text)
    if isinstance(expr, ast.LogSelector):
        raise ParseError("only sample expression supported")
    return expr
