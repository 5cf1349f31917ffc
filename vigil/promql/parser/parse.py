"""PromQL parser: :func:`parse_expr` turns query text into an :mod:`vigil.promql.parser.ast` tree.

A hand-written precedence-climbing parser that accepts the Prometheus 3.x grammar and
reports errors in Prometheus's words and positions (``1:5: parse error: ...``). As in
Prometheus, syntax is checked first and types only when the syntax is valid
(:mod:`vigil.promql.parser._typecheck`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from vigil.errors import ParseError
from vigil.gocompat.quote import quote as go_quote
from vigil.gocompat.quote import unquote
from vigil.model.features import BINOP_FILL_MODIFIERS, DEFAULT_FEATURES, EXPERIMENTAL_FUNCTIONS
from vigil.model.labels import METRIC_NAME
from vigil.model.matchers import Matcher, MatchType
from vigil.promql.parser import ast
from vigil.promql.parser._literals import parse_duration_ms, parse_number
from vigil.promql.parser._postfix import Postfix
from vigil.promql.parser._typecheck import check
from vigil.promql.parser.functions_meta import FUNCTIONS
from vigil.promql.parser.lexer import (
    AGGR,
    DURATION,
    EOF,
    IDENTIFIER,
    KEYWORD,
    METRIC_IDENTIFIER,
    NUMBER,
    OP,
    PUNCT,
    STRING,
)

_log = logging.getLogger(__name__)

__all__ = ["PRECEDENCE", "Parser", "parse_duration_ms", "parse_expr", "parse_number"]

# Binary operator precedence, lowest first; "^" is right-associative.
PRECEDENCE = {
    "or": 1,
    "and": 2, "unless": 2,
    "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
    "+": 4, "-": 4,
    "*": 5, "/": 5, "%": 5, "atan2": 5,
    "^": 6,
}
_UNARY_PREC = 5  # unary minus binds like "*": -a^b is -(a^b), -a*b is (-a)*b
_PARAM_AGGS = {"topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio"}

class Parser(Postfix):
    """Parses one query. Use :func:`parse_expr`; the class is public for its helpers."""

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> ast.Expr:
        if self.peek().type == EOF:
            raise self.err(0, "no expression found in input")
        expr = self.binary(0)
        t = self.peek()
        if t.type != EOF:
            raise self.unexpected(t)
        check(self, expr)
        return expr

    def binary(self, min_prec: int) -> ast.Expr:
        lhs = self.unary()
        while True:
            t = self.peek()
            if t.type != OP or t.val.lower() not in PRECEDENCE:
                return lhs
            op = t.val.lower()
            prec = PRECEDENCE[op]
            if prec < min_prec:
                return lhs
            self.next()
            return_bool, matching = self.bin_modifiers(op)
            rhs = self.binary(prec if op == "^" else prec + 1)
            if ((matching.fill_lhs is not None or matching.fill_rhs is not None)
                    and BINOP_FILL_MODIFIERS not in self.features):
                # Prometheus checks this once the whole expression is built and reports it
                # at the expression's start.
                raise self.err(self.start(lhs), "binop fill modifiers are experimental and not "
                                                "enabled")
            node = ast.BinaryExpr(op, lhs, rhs, return_bool, matching)
            self.spans[id(node)] = (self.start(lhs), self.end(rhs))
            lhs = node

    def bin_modifiers(self, op: str) -> tuple[bool, ast.VectorMatching]:
        return_bool = False
        vm = ast.VectorMatching(card="many-to-many" if op in ast.SET_OPS else "one-to-one")
        t = self.peek()
        if t.type == KEYWORD and t.val.lower() == "bool":
            self.next()
            return_bool = True
            t = self.peek()
        if t.type == KEYWORD and t.val.lower() in ("on", "ignoring"):
            self.next()
            vm.on = t.val.lower() == "on"
            vm.labels = self.grouping_labels()
            t = self.peek()
            if t.type == KEYWORD and t.val.lower() in ("group_left", "group_right"):
                self.next()
                vm.card = "many-to-one" if t.val.lower() == "group_left" else "one-to-many"
                if self.peek().type == PUNCT and self.peek().val == "(":
                    vm.include = self.grouping_labels()
        self.fill_modifiers(vm)
        return return_bool, vm

    def fill_modifiers(self, vm: ast.VectorMatching) -> None:
        while True:
            t = self.peek()
            word = t.val.lower()
            if not (t.type == IDENTIFIER and word in ("fill", "fill_left", "fill_right")
                    and self.peek(1).type == PUNCT and self.peek(1).val == "("):
                return
            self.next()
            self.next()
            sign = 1.0
            n = self.peek()
            if n.type == OP and n.val in ("+", "-"):
                sign = -1.0 if n.val == "-" else 1.0
                self.next()
                n = self.peek()
            if n.type != NUMBER:
                raise self.unexpected(n, "fill modifier", "number")
            self.next()
            value = sign * self.number(n)
            self.expect(")", "fill modifier")
            if word in ("fill", "fill_left"):
                vm.fill_lhs = value
            if word in ("fill", "fill_right"):
                vm.fill_rhs = value

    def grouping_labels(self) -> list[str]:
        t = self.peek()
        if not (t.type == PUNCT and t.val == "("):
            raise self.unexpected(t, "grouping opts", '"("')
        self.next()
        labels: list[str] = []
        while True:
            t = self.peek()
            if t.type == PUNCT and t.val == ")":
                self.next()
                return labels
            if t.type in (IDENTIFIER, METRIC_IDENTIFIER, AGGR, KEYWORD) or (
                t.type == OP and t.val.isalpha()
            ) or (t.type == NUMBER and t.val.isalpha()):
                if t.type == METRIC_IDENTIFIER:
                    raise self.unexpected(t, "grouping opts", "label")
                labels.append(t.val)
            elif t.type == STRING:
                labels.append(unquote(t.val))
            else:
                raise self.unexpected(t, "grouping opts", "label")
            self.next()
            t = self.peek()
            if t.type == PUNCT and t.val == ",":
                self.next()
            elif not (t.type == PUNCT and t.val == ")"):
                raise self.unexpected(t, "grouping opts", '"," or ")"')

    def unary(self) -> ast.Expr:
        t = self.peek()
        if t.type == OP and t.val in ("+", "-"):
            self.next()
            operand = self.binary(_UNARY_PREC + 1)
            if isinstance(operand, ast.NumberLiteral):
                if t.val == "-":
                    operand.val = -operand.val
                self.spans[id(operand)] = (t.pos, self.end(operand))
                return operand
            node = ast.UnaryExpr(t.val, operand)
            return self.span(node, t.pos, self.end(operand))
        return self.postfix(self.primary())

    def primary(self) -> ast.Expr:
        t = self.peek()
        if t.type == NUMBER:
            self.next()
            return self.span(ast.NumberLiteral(self.number(t)), t.pos, t.end)
        if t.type == DURATION:
            self.next()
            ms = self.duration_value(t)
            return self.span(ast.NumberLiteral(ms / 1000, duration=True), t.pos, t.end)
        if t.type == STRING:
            self.next()
            return self.span(ast.StringLiteral(unquote(t.val)), t.pos, t.end)
        if t.type == PUNCT and t.val == "(":
            self.next()
            inner = self.binary(0)
            close = self.peek()
            if not (close.type == PUNCT and close.val == ")"):
                raise self.unexpected(close, "", "")
            self.next()
            return self.span(ast.ParenExpr(inner), t.pos, close.end)
        if t.type == PUNCT and t.val == "{":
            return self.selector("", t.pos)
        if t.type == AGGR:
            n = self.peek(1)
            if (n.type == PUNCT and n.val == "(") or (
                n.type == KEYWORD and n.val.lower() in ("by", "without")
            ):
                return self.aggregation()
        if (t.type == IDENTIFIER or (t.type == KEYWORD and t.val.lower() in ("start", "end"))) and (
            self.peek(1).type == PUNCT and self.peek(1).val == "("
        ):
            return self.call()
        if t.type in (IDENTIFIER, METRIC_IDENTIFIER, AGGR) or (
            t.type == KEYWORD and t.val.lower() not in ("bool", "on", "ignoring", "group_left",
                                                          "group_right")
        ) or (t.type == OP and t.val.lower() in ("and", "or", "unless")):
            self.next()
            return self.selector(t.val, t.pos)
        raise self.unexpected(t)

    def selector(self, name: str, start: int) -> ast.Expr:
        matchers: list[Matcher] = []
        end = self.last_end()
        t = self.peek()
        if t.type == PUNCT and t.val == "{":
            self.next()
            matchers = self.label_matchers()
            end = self.last_end()
        if name:
            for m in matchers:
                if m.name == METRIC_NAME:
                    raise self.err(start, f"metric name must not be set twice: {go_quote(name)} "
                                          f"or {go_quote(m.value)}")
            matchers.append(Matcher(MatchType.EQUAL, METRIC_NAME, name))
        return self.span(ast.VectorSelector(name, matchers), start, end)

    def label_matchers(self) -> list[Matcher]:
        ctx = "label matching"
        out: list[Matcher] = []
        while True:
            t = self.next()
            if t.type == PUNCT and t.val == "}":
                return out
            if t.type not in (IDENTIFIER, STRING):
                raise self.unexpected(t, ctx, 'identifier or "}"')
            name = t.val if t.type == IDENTIFIER else unquote(t.val)
            op = self.peek()
            if op.type == STRING or (op.type == PUNCT and op.val in (",", "}")):
                if t.type != STRING:
                    raise self.unexpected(op, ctx, "label matching operator")
                # A bare quoted string is the metric name: {"my.metric"}.
                out.append(Matcher(MatchType.EQUAL, METRIC_NAME, name))
            else:
                if not (op.type in (PUNCT, OP) and op.val in ("=", "!=", "=~", "!~")):
                    raise self.unexpected(op, ctx, "label matching operator")
                self.next()
                v = self.peek()
                if v.type != STRING:
                    raise self.unexpected(v, ctx, "string")
                self.next()
                value = unquote(v.val)
                try:
                    out.append(Matcher(MatchType(op.val), name, value))
                except re.error as e:
                    raise self.err(v.pos, f"invalid regular expression {go_quote(value)}: {e}") from None
            t = self.peek()
            if t.type == PUNCT and t.val == ",":
                self.next()
            elif not (t.type == PUNCT and t.val == "}"):
                raise self.unexpected(t, ctx, '"," or "}"')

    def aggregation(self) -> ast.Expr:
        t = self.next()
        op = t.val.lower()
        grouping: list[str] = []
        without = False
        have_grouping = False
        n = self.peek()
        if n.type == KEYWORD and n.val.lower() in ("by", "without"):
            self.next()
            without = n.val.lower() == "without"
            grouping = self.grouping_labels()
            have_grouping = True
        args = self.call_args()
        close_end = self.last_end()
        n = self.peek()
        if n.type == KEYWORD and n.val.lower() in ("by", "without"):
            if have_grouping:
                raise self.unexpected(n)
            self.next()
            without = n.val.lower() == "without"
            grouping = self.grouping_labels()
            close_end = self.last_end()
        if not args:
            raise self.err(t.pos, "no arguments for aggregate expression provided")
        want = 2 if op in _PARAM_AGGS else 1
        if len(args) != want:
            raise self.err(t.pos, "wrong number of arguments for aggregate expression provided, "
                                  f"expected {want}, got {len(args)}")
        if op in ("limitk", "limit_ratio") and EXPERIMENTAL_FUNCTIONS not in self.features:
            raise self.err(t.pos, f"{op}() is experimental and must be enabled with "
                                  "--enable-feature=promql-experimental-functions")
        param = args[0] if want == 2 else None
        node = ast.AggregateExpr(op, args[-1], param, grouping, without)
        return self.span(node, t.pos, close_end)

    def call_args(self) -> list[ast.Expr]:
        self.expect("(")
        args: list[ast.Expr] = []
        t = self.peek()
        if t.type == PUNCT and t.val == ")":
            self.next()
            return args
        while True:
            args.append(self.binary(0))
            t = self.peek()
            if t.type == PUNCT and t.val == ",":
                comma = self.next()
                n = self.peek()
                if n.type == PUNCT and n.val == ")":
                    raise self.err(comma.pos, "trailing commas not allowed in function call args")
                continue
            if t.type == PUNCT and t.val == ")":
                self.next()
                return args
            raise self.unexpected(t, "", "")

    def call(self) -> ast.Expr:
        t = self.next()
        fn = FUNCTIONS.get(t.val if t.type == IDENTIFIER else t.val.lower())
        if fn is None:
            raise self.err(t.pos, f"unknown function with name {go_quote(t.val)}")
        if fn.experimental and EXPERIMENTAL_FUNCTIONS not in self.features:
            raise self.err(t.pos, f"function {go_quote(t.val)} is not enabled")
        args = self.call_args()
        return self.span(ast.Call(fn.name, args, fn.return_type), t.pos, self.last_end())


def parse_expr(text: str, *, features: Iterable[str] = DEFAULT_FEATURES) -> ast.Expr:
    """Parse a PromQL expression; raises :class:`vigil.errors.ParseError` (Prometheus wording).

    ``features`` are the enabled ``--enable-feature`` names (:mod:`vigil.model.features`);
    without any, what Prometheus accepts by default is accepted.
    """
    try:
        return Parser(text, features).parse()
    except ParseError:
        raise
    except (ArithmeticError, ValueError, IndexError, KeyError, TypeError, AssertionError,
            RecursionError) as e:
        # A bug (or nesting too deep for Python) is what Prometheus's parser reports for a
        # recovered panic: "unexpected error", logged with the query, never a crash.
        _log.exception("parser failed on %r", text[:200])
        raise ParseError("unexpected error") from e
