"""Duration expressions: ``foo[5m + 1m]``, ``foo offset step() * 2``, ``x[1h:step()]``.

Prometheus 3.14 accepts arithmetic on durations inside brackets and after ``offset``
always (its ``promql-duration-expr`` flag became a no-op), and so does Vigil. A constant expression is folded to milliseconds at parse time; one that uses
``step()`` or ``range()`` is kept and resolved per query by :func:`resolve_durations`.
"""

from __future__ import annotations

import copy
import math

from vigil.errors import QueryError
from vigil.promql.parser import ast
from vigil.promql.parser._cursor import TokenCursor
from vigil.promql.parser.lexer import DURATION, IDENTIFIER, KEYWORD, NUMBER, OP, PUNCT

_PREC = {"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6}
_FUNCS = ("step", "range", "min_of", "max_of")


def _word(p: TokenCursor) -> str | None:
    t = p.peek()
    if t.type in (KEYWORD, IDENTIFIER) and t.val.lower() in _FUNCS:
        n = p.peek(1)
        if n.type == PUNCT and n.val == "(":
            return t.val.lower()
    return None


def duration_expr(p: TokenCursor, context: str, min_prec: int = 0) -> ast.Expr:
    """A full duration expression (binary operators allowed)."""
    lhs = _unary(p, context)
    while True:
        t = p.peek()
        if t.type != OP or t.val not in _PREC or _PREC[t.val] < min_prec:
            return lhs
        op = t.val
        p.next()
        rhs = duration_expr(p, context, _PREC[op] if op == "^" else _PREC[op] + 1)
        if op in ("/", "%") and isinstance(rhs, ast.NumberLiteral) and rhs.val == 0:
            raise p.err(t.pos, "division by zero" if op == "/" else "modulo by zero")
        lhs = ast.DurationExpr(op, lhs, rhs)


def _unary(p: TokenCursor, context: str) -> ast.Expr:
    t = p.peek()
    if t.type == OP and t.val in ("+", "-"):
        p.next()
        operand = duration_expr(p, context, 6)
        return _apply_sign(t.val, operand)
    return _atom(p, context)


def _apply_sign(sign: str, operand: ast.Expr) -> ast.Expr:
    if sign == "+":
        return operand
    if isinstance(operand, ast.NumberLiteral):
        return ast.NumberLiteral(-operand.val, operand.duration)
    return ast.DurationExpr("neg", None, operand)


def _atom(p: TokenCursor, context: str) -> ast.Expr:
    t = p.peek()
    if t.type == NUMBER:
        p.next()
        val = p.number(t)
        _check_range(p, t.pos, val)
        return ast.NumberLiteral(val)
    if t.type == DURATION:
        p.next()
        return ast.NumberLiteral(p.duration_value(t) / 1000, duration=True)
    word = _word(p)
    if word is not None:
        p.next()
        p.expect("(", context)
        if word in ("step", "range"):
            p.expect(")", context)
            return ast.DurationExpr(word)
        a = duration_expr(p, context)
        p.expect(",", context)
        b = duration_expr(p, context)
        p.expect(")", context)
        return ast.DurationExpr(word, a, b)
    if t.type == PUNCT and t.val == "(":
        p.next()
        inner = duration_expr(p, context)
        p.expect(")", context)
        return ast.DurationExpr("paren", None, inner)
    if t.type == "EOF" and context == "subquery or range selector":
        raise p.err(t.pos, "unexpected end of input in duration expression")
    raise p.unexpected(t, context, "number, duration, step(), or range()")


def offset_operand(p: TokenCursor) -> ast.Expr:
    """What follows ``offset``: one signed operand; "foo offset 2 ^ 2" is "(foo offset 2) ^ 2"."""
    t = p.peek()
    if t.type == OP and t.val in ("+", "-"):
        p.next()
        return _apply_sign(t.val, _atom(p, "offset"))
    return _atom(p, "offset")


def _check_range(p: TokenCursor, pos: int, seconds: float) -> None:
    if not math.isfinite(seconds) or abs(seconds) * 1000 > (1 << 63) // 1_000_000:
        raise p.err(pos, "duration out of range")


_MAX_MS = (1 << 63) // 1_000_000


def seconds_to_ms(seconds: float) -> int:
    """Whole milliseconds; ValueError("duration out of range") beyond what Go can hold."""
    if not math.isfinite(seconds) or abs(seconds) * 1000 > _MAX_MS:
        raise ValueError("duration out of range")
    return round(seconds * 1000)


def constant_ms(node: ast.Expr) -> int | None:
    """Milliseconds of a constant duration expression, None if it needs step()/range().

    Raises ValueError when the value is not a representable duration."""
    if isinstance(node, ast.NumberLiteral):
        return seconds_to_ms(node.val)
    assert isinstance(node, ast.DurationExpr)
    if not node.is_constant():
        return None
    return seconds_to_ms(node.seconds(0.0, 0.0))


def needs_resolving(expr: ast.Expr) -> bool:
    return any(getattr(n, attr, None) is not None for n in ast.walk(expr)
               for attr in ("offset_expr", "range_expr", "step_expr"))


def resolve_durations(expr: ast.Expr, step_ms: int, range_ms: int) -> ast.Expr:
    """A copy of ``expr`` with every step()/range()-dependent duration computed."""
    if not needs_resolving(expr):
        return expr
    expr = copy.deepcopy(expr)
    step_s, range_s = step_ms / 1000, range_ms / 1000

    def ms(d: ast.DurationExpr, positive: bool = False) -> int:
        try:
            value = seconds_to_ms(d.seconds(step_s, range_s))
        except ValueError as e:
            raise QueryError(f"{e}: {d}") from None
        if positive and value <= 0:
            raise QueryError(f"duration must be greater than 0: {d}")
        return value

    for n in ast.walk(expr):
        if isinstance(n, ast.VectorSelector) and n.offset_expr is not None:
            n.offset_ms, n.offset_expr = ms(n.offset_expr), None
        elif isinstance(n, ast.MatrixSelector) and n.range_expr is not None:
            n.range_ms, n.range_expr = ms(n.range_expr, True), None
        elif isinstance(n, ast.SubqueryExpr):
            if n.range_expr is not None:
                n.range_ms, n.range_expr = ms(n.range_expr, True), None
            if n.step_expr is not None:
                n.step_ms, n.step_expr = ms(n.step_expr, True), None
            if n.offset_expr is not None:
                n.offset_ms, n.offset_expr = ms(n.offset_expr), None
    return expr
