"""The parser's position in the token list and its error helpers.

Every part of the parser (:mod:`.parse`, :mod:`._postfix`, :mod:`._durations`,
:mod:`._typecheck`) works through a :class:`TokenCursor`; the grammar parts build on it, so
none of them needs to know the :class:`~vigil.promql.parser.parse.Parser` that combines them.
"""

from __future__ import annotations

from collections.abc import Iterable

from vigil.errors import ParseError
from vigil.gocompat.quote import quote as go_quote
from vigil.promql.parser import ast
from vigil.promql.parser._literals import parse_duration_ms, parse_number
from vigil.promql.parser.lexer import EOF, PUNCT, Token, lex, parse_error

__all__ = ["TokenCursor"]


class TokenCursor:
    """The tokens of ``query``, the index of the next one, and the byte span of each node
    built so far. ``features`` are the enabled ``--enable-feature`` names
    (:mod:`vigil.model.features`)."""

    def __init__(self, query: str, features: Iterable[str] = ()) -> None:
        self.query = query
        self.features = frozenset(features)
        self.toks = lex(query)
        self.i = 0
        # Byte offset ranges of nodes, keyed by id(node); nodes stay alive in the tree.
        self.spans: dict[int, tuple[int, int]] = {}

    def peek(self, k: int = 0) -> Token:
        """The token ``k`` ahead of the cursor (EOF past the end)."""
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Token:
        """Consume and return the next token (EOF stays put)."""
        t = self.toks[self.i]
        if t.type != EOF:
            self.i += 1
        return t

    def err(self, pos: int, msg: str) -> ParseError:
        """A ParseError at byte ``pos``, worded and positioned as Prometheus does."""
        return parse_error(self.query, pos, msg)

    def unexpected(self, tok: Token, context: str = "", expected: str = "") -> ParseError:
        msg = f"unexpected {tok.describe()}"
        if context:
            msg += f" in {context}"
        if expected:
            msg += f", expected {expected}"
        return self.err(tok.pos, msg)

    def expect(self, val: str, context: str = "") -> Token:
        t = self.peek()
        if t.type == PUNCT and t.val == val:
            return self.next()
        raise self.unexpected(t, context, go_quote(val))

    def span(self, node: ast.Expr, start: int, end: int) -> ast.Expr:
        self.spans[id(node)] = (start, end)
        return node

    def start(self, node: ast.Expr) -> int:
        return self.spans[id(node)][0]

    def end(self, node: ast.Expr) -> int:
        return self.spans[id(node)][1]

    def last_end(self) -> int:
        return self.toks[self.i - 1].end if self.i else 0

    def duration_value(self, t: Token) -> int:
        try:
            return parse_duration_ms(t.val)
        except ValueError as e:
            raise self.err(t.pos, str(e)) from None

    def number(self, t: Token) -> float:
        """A NUMBER token's value; one Go cannot read is a parse error in Prometheus's words
        (``error parsing number: strconv.ParseFloat: ...``)."""
        try:
            return parse_number(t.val)
        except ValueError as e:
            detail = str(e)
            if not detail.startswith("strconv."):
                detail = f"strconv.ParseFloat: parsing {go_quote(t.val)}: invalid syntax"
            raise self.err(t.pos, f"error parsing number: {detail}") from None
