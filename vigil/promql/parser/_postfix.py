"""Parsing of what may follow a selector or subquery: ``[range]``, ``[range:step]``,
``offset``, ``@`` and the ``anchored``/``smoothed`` modifiers (the base of the parser)."""

from __future__ import annotations

import math

from vigil.model.features import EXTENDED_RANGE_SELECTORS
from vigil.promql.parser import ast
from vigil.promql.parser._cursor import TokenCursor
from vigil.promql.parser._durations import constant_ms, duration_expr, offset_operand
from vigil.promql.parser.lexer import DURATION, KEYWORD, NUMBER, OP, PUNCT


class Deferred(Exception):
    """An error whose position is the start of the expression being modified."""


class Postfix(TokenCursor):
    """The postfix part of the grammar; :class:`~vigil.promql.parser.parse.Parser` extends it."""

    # -- postfix: [range], [range:step], offset, @ ------------------------------------
    def postfix(self, expr: ast.Expr) -> ast.Expr:
        while True:
            t = self.peek()
            if t.type == PUNCT and t.val == "[":
                expr = self.range_or_subquery(expr)
            elif t.type == KEYWORD and t.val.lower() == "offset":
                self.next()
                self.apply_offset(expr, *self._duration("offset", False))
                self.spans[id(expr)] = (self.start(expr), self.last_end())
            elif t.type == KEYWORD and t.val.lower() in ("anchored", "smoothed"):
                self.next()
                self.set_extended(expr, t.val.lower())
                self.spans[id(expr)] = (self.start(expr), self.last_end())
            elif t.type == PUNCT and t.val == "@":
                self.next()
                try:
                    at = self.at_value()
                except Deferred as e:
                    raise self.err(self.start(expr), str(e)) from None
                self.apply_at(expr, at)
                self.spans[id(expr)] = (self.start(expr), self.last_end())
            else:
                return expr

    def _duration(self, context: str, positive: bool) -> tuple[int, ast.DurationExpr | None]:
        """A duration in brackets or after offset: (ms, None) if constant, else (0, expr)."""
        first = self.peek()
        node = (duration_expr(self, context) if positive else offset_operand(self))
        try:
            ms = constant_ms(node)
        except ValueError as e:
            raise self.err(first.pos, str(e)) from None
        if ms is None:
            assert isinstance(node, ast.DurationExpr)
            return 0, node
        if positive and ms <= 0 and isinstance(node, ast.NumberLiteral):
            # Only a literal is checked here; an expression is checked when it is resolved.
            raise self.err(first.pos, "duration must be greater than 0")
        # An expression is kept (besides its value) so it prints back as written.
        return ms, node if isinstance(node, ast.DurationExpr) else None

    def range_or_subquery(self, expr: ast.Expr) -> ast.Expr:
        lb = self.next()
        rng, rng_expr = self._duration("subquery or range selector", True)
        t = self.peek()
        if t.type == PUNCT and t.val == ":":
            self.next()
            step, step_expr = 0, None
            t = self.peek()
            if not (t.type == PUNCT and t.val == "]"):
                step, step_expr = self._duration("subquery or range selector", True)
            self.expect("]", "subquery selector")
            node = ast.SubqueryExpr(expr, rng, step, range_expr=rng_expr, step_expr=step_expr)
            return self.span(node, self.start(expr), self.last_end())
        t = self.peek()
        if not (t.type == PUNCT and t.val == "]"):
            raise self.unexpected(t, "range selector", '"]"')
        self.next()
        if not isinstance(expr, ast.VectorSelector):
            raise self.err(lb.pos, "ranges only allowed for vector selectors")
        if expr.offset_ms or expr.offset_expr is not None:
            raise self.err(lb.pos, "no offset modifiers allowed before range")
        if expr.at is not None:
            raise self.err(lb.pos, "no @ modifiers allowed before range")
        node = ast.MatrixSelector(expr, rng, range_expr=rng_expr)
        return self.span(node, self.start(expr), self.last_end())

    def at_value(self) -> ast.AtModifier:
        t = self.peek()
        if t.type == KEYWORD and t.val.lower() in ("start", "end"):
            self.next()
            self.expect("(", "@")
            self.expect(")", "@")
            return ast.AtModifier(start_or_end=t.val.lower())
        neg = False
        if t.type == OP and t.val in ("-", "+"):
            neg = t.val == "-"
            self.next()
            t = self.peek()
        if t.type not in (NUMBER, DURATION):
            raise self.unexpected(t, "@", "timestamp")
        self.next()
        if t.type == NUMBER:
            v = self.number(t)
        else:
            v = self.duration_value(t) / 1000
        v = -v if neg else v
        if not math.isfinite(v) or abs(v) * 1000 > 2**63 - 1:
            shown = "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
            if math.isfinite(v):
                shown = f"{v:f}"
            raise Deferred("timestamp out of bounds for @ modifier: " + shown)
        return ast.AtModifier(ts_ms=round(v * 1000))

    def _target(self, expr: ast.Expr) -> ast.Expr | None:
        if isinstance(expr, ast.MatrixSelector):
            return expr.vs
        if isinstance(expr, ast.VectorSelector | ast.SubqueryExpr):
            return expr
        return None

    def apply_offset(self, expr: ast.Expr, ms: int, dexpr: ast.DurationExpr | None) -> None:
        target = self._target(expr)
        if target is None:
            raise self.err(self.start(expr), "offset modifier must be preceded by an instant vector "
                                             "selector or range vector selector or a subquery")
        if target.offset_ms or target.offset_expr is not None:  # type: ignore[union-attr]
            raise self.err(self.start(expr), "offset may not be set multiple times")
        target.offset_ms = ms  # type: ignore[union-attr]
        target.offset_expr = dexpr  # type: ignore[union-attr]

    def set_extended(self, expr: ast.Expr, mode: str) -> None:
        start = self.start(expr)
        if EXTENDED_RANGE_SELECTORS not in self.features:
            raise self.err(start, f"{mode} modifier is experimental and not enabled")
        if isinstance(expr, ast.SubqueryExpr):
            raise self.err(start, f"{mode} modifier is not supported for subqueries")
        vs = expr.vs if isinstance(expr, ast.MatrixSelector) else expr
        if not isinstance(vs, ast.VectorSelector):
            raise self.err(start, f"{mode} modifier not implemented")
        setattr(vs, mode, True)
        if vs.anchored and vs.smoothed:
            raise self.err(start, "anchored and smoothed modifiers cannot be used together")

    def apply_at(self, expr: ast.Expr, at: ast.AtModifier) -> None:
        target = self._target(expr)
        if target is None:
            raise self.err(self.start(expr), "@ modifier must be preceded by an instant vector "
                                             "selector or range vector selector or a subquery")
        if target.at is not None:  # type: ignore[union-attr]
            raise self.err(self.start(expr), "@ <timestamp> may not be set multiple times")
        target.at = at  # type: ignore[union-attr]


