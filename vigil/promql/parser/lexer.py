"""PromQL lexer: turns query text into :class:`Token` s.

Follows the lexing rules of Prometheus 3.x (``promql/parser/lex.go``): keywords are
case-insensitive, label matchers inside ``{}`` treat keywords as plain identifiers, and
``[...]`` switches to duration lexing. Positions are byte offsets into the UTF-8 query,
as Prometheus reports them. Lexing errors raise :class:`vigil.errors.ParseError` with the
Prometheus message (``1:5: parse error: unexpected character: '.'``).
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.errors import ParseError
from vigil.gocompat.quote import quote as go_quote
from vigil.gocompat.quote import quote_rune as go_quote_rune

EOF = "EOF"
NUMBER = "NUMBER"
DURATION = "DURATION"
STRING = "STRING"
IDENTIFIER = "IDENTIFIER"
METRIC_IDENTIFIER = "METRIC_IDENTIFIER"
OP = "OP"  # binary operators, incl. the word operators and/or/unless/atan2
AGGR = "AGGR"  # aggregation operators (sum, topk, ...)
KEYWORD = "KEYWORD"  # offset, by, without, on, ignoring, group_left, group_right, bool, start, end
PUNCT = "PUNCT"  # ( ) { } [ ] , = : @ and the matcher operators =~ !~ inside braces

WORD_OPERATORS = {"and", "or", "unless", "atan2"}
AGGREGATORS = {
    "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
    "count_values", "quantile", "limitk", "limit_ratio",
}
KEYWORDS = {
    "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "start", "end", "smoothed", "anchored",
}
_DURATION_KEYWORDS = {"step", "range", "min_of", "max_of"}


@dataclass(frozen=True)
class Token:
    type: str
    val: str
    pos: int  # byte offset of the first character

    @property
    def end(self) -> int:
        return self.pos + len(self.val.encode())

    def describe(self) -> str:
        """How Prometheus names this token in "unexpected ..." messages."""
        if self.type == EOF:
            return "end of input"
        if self.type == OP or (self.type == PUNCT and self.val in ("=~", "!~", "@")):
            return f"<op:{self.val}>"
        if self.type == AGGR:
            return f"<aggr:{self.val}>"
        if self.type == KEYWORD:
            return f"<{self.val}>"
        if self.type == PUNCT:
            return go_quote(self.val)
        names = {
            IDENTIFIER: "identifier", METRIC_IDENTIFIER: "metric identifier",
            NUMBER: "number", DURATION: "duration", STRING: "string",
        }
        text = go_quote(self.val)
        if len(self.val) > 10 and self.type not in (IDENTIFIER, METRIC_IDENTIFIER):
            text = go_quote(self.val[:10]) + "..."
        return f"{names[self.type]} {text}"


def position(query: str, pos: int) -> tuple[int, int]:
    """1-based ``(line, col)`` of byte offset ``pos``, counted as Prometheus does."""
    prefix = query.encode()[:pos].decode(errors="replace")
    line = prefix.count("\n") + 1
    last = prefix.rfind("\n")
    col = len(prefix[last + 1:].encode()) + 1 if last >= 0 else pos + 1
    return line, col


def parse_error(query: str, pos: int, msg: str) -> ParseError:
    if not query:
        return ParseError(f"unknown position: parse error: {msg}")
    line, col = position(query, pos)
    return ParseError(f"{line}:{col}: parse error: {msg}", line=line, column=col)


def _is_alpha(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_alnum(c: str) -> bool:
    return _is_alpha(c) or _is_digit(c)


_SPACE = " \t\n\r"
# What Go's lexer reads past the end (its eof, -1); %q prints it as '\ufffd'.
_EOF_RUNE = -1


class Lexer:
    """Produces all tokens of ``query`` up front (queries are short)."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.text = query
        self.i = 0  # character index
        self.tokens: list[Token] = []
        self.paren_depth = 0
        self.brace_open = False
        self.bracket_open = False
        self.got_colon = False
        # Byte offsets: precompute for non-ASCII input.
        self._ascii = query.isascii()

    def bpos(self, i: int) -> int:
        return i if self._ascii else len(self.text[:i].encode())

    def error(self, start: int, msg: str) -> ParseError:
        return parse_error(self.query, self.bpos(start), msg)

    def emit(self, typ: str, start: int, end: int) -> None:
        self.tokens.append(Token(typ, self.text[start:end], self.bpos(start)))

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.text[j] if j < len(self.text) else ""

    def run(self) -> list[Token]:
        while True:
            if self.brace_open:
                self._inside_braces()
            elif not self._statement():
                break
        return self.tokens

    def _statement(self) -> bool:
        t = self.text
        start = self.i
        if t.startswith("#", start):
            while self.i < len(t) and t[self.i] not in "\r\n":
                self.i += 1
            return True
        c = self.peek()
        if c == "":
            if self.paren_depth != 0:
                raise self.error(start, "unclosed left parenthesis")
            if self.bracket_open and not (self.tokens and self.tokens[-1].val == "["):
                # Right after "[" the parser reports the missing duration instead.
                raise self.error(start, "unclosed left bracket")
            self.tokens.append(Token(EOF, "", self.bpos(start)))
            return False
        self.i += 1
        if c in _SPACE:
            while self.peek() and self.peek() in _SPACE:
                self.i += 1
        elif c == ",":
            self.emit(PUNCT, start, self.i)
        elif c in "*/%+-^":
            self.emit(OP, start, self.i)
        elif c == "=":
            n = self.peek()
            if n == "=":
                self.i += 1
                self.emit(OP, start, self.i)
            elif n == "~":
                raise self.error(start, f"unexpected character after '=': {go_quote_rune(n)}")
            else:
                self.emit(PUNCT, start, self.i)
        elif c == "!":
            n = self.peek()
            self.i += 1
            if n != "=":
                raise self.error(start, f"unexpected character after '!': {go_quote_rune(n or _EOF_RUNE)}")
            self.emit(OP, start, self.i)
        elif c in "<>":
            if self.peek() == "=":
                self.i += 1
            self.emit(OP, start, self.i)
        elif _is_digit(c) or (c == "." and _is_digit(self.peek())):
            self.i = start
            self._number_or_duration()
        elif c in "\"'":
            self._string(c, start)
        elif c == "`":
            self._raw_string(start)
        elif _is_alpha(c) or c == ":":
            if not self.bracket_open:
                self.i = start
                self._keyword_or_identifier()
                return True
            if c == ":":
                if self.got_colon:
                    raise self.error(start, "unexpected colon ':'")
                self.emit(PUNCT, start, self.i)
                self.got_colon = True
                return True
            while _is_alpha(self.peek()):
                self.i += 1
            word = t[start:self.i].lower()
            if word in _DURATION_KEYWORDS:
                self.emit(KEYWORD, start, self.i)
                return True
            raise self.error(start, f"unexpected character: {go_quote_rune(c)}, expected ':'")
        elif c == "(":
            self.emit(PUNCT, start, self.i)
            self.paren_depth += 1
        elif c == ")":
            self.emit(PUNCT, start, self.i)
            self.paren_depth -= 1
            if self.paren_depth < 0:
                raise self.error(self.i, "unexpected right parenthesis ')'")
        elif c == "{":
            self.emit(PUNCT, start, self.i)
            self.brace_open = True
        elif c == "[":
            if self.bracket_open:
                raise self.error(self.i, "unexpected left bracket '['")
            self.got_colon = False
            self.emit(PUNCT, start, self.i)
            self.bracket_open = True
        elif c == "]":
            if not self.bracket_open:
                raise self.error(self.i, "unexpected right bracket ']'")
            self.emit(PUNCT, start, self.i)
            self.bracket_open = False
        elif c == "@":
            self.emit(PUNCT, start, self.i)
        else:
            raise self.error(start, f"unexpected character: {go_quote_rune(c)}")
        return True

    def _inside_braces(self) -> None:
        t = self.text
        start = self.i
        if t.startswith("#", start):
            while self.i < len(t) and t[self.i] not in "\r\n":
                self.i += 1
            return
        c = self.peek()
        if c == "":
            raise self.error(start, "unexpected end of input inside braces")
        self.i += 1
        if c in _SPACE:
            while self.peek() and self.peek() in _SPACE:
                self.i += 1
        elif _is_alpha(c):
            while _is_alnum(self.peek()):
                self.i += 1
            self.emit(IDENTIFIER, start, self.i)
        elif c == ",":
            self.emit(PUNCT, start, self.i)
        elif c in "\"'":
            self._string(c, start)
        elif c == "`":
            self._raw_string(start)
        elif c == "=":
            if self.peek() == "~":
                self.i += 1
            self.emit(PUNCT, start, self.i)
        elif c == "!":
            n = self.peek()
            if n in ("~", "="):
                self.i += 1
                self.emit(PUNCT, start, self.i)
            else:
                raise self.error(
                    start, f"unexpected character after '!' inside braces: {go_quote_rune(n or _EOF_RUNE)}"
                )
        elif c == "{":
            raise self.error(self.i, "unexpected left brace '{'")
        elif c == "}":
            self.emit(PUNCT, start, self.i)
            self.brace_open = False
        else:
            raise self.error(start, f"unexpected character inside braces: {go_quote_rune(c)}")

    def _keyword_or_identifier(self) -> None:
        start = self.i
        while _is_alnum(self.peek()) or self.peek() == ":":
            self.i += 1
        word = self.text[start:self.i]
        low = word.lower()
        if low in WORD_OPERATORS:
            self.emit(OP, start, self.i)
        elif low in AGGREGATORS:
            self.emit(AGGR, start, self.i)
        elif low in KEYWORDS:
            self.emit(KEYWORD, start, self.i)
        elif low in ("inf", "nan"):
            self.emit(NUMBER, start, self.i)
        elif ":" in word:
            self.emit(METRIC_IDENTIFIER, start, self.i)
        else:
            self.emit(IDENTIFIER, start, self.i)

    def _accept(self, chars: str) -> bool:
        c = self.peek()
        if c and c in chars:
            self.i += 1
            return True
        return False

    def _scan_number(self) -> bool:
        start = self.i
        digits = "0123456789"
        if self._accept("0") and self._accept("xX"):
            self._accept("_")
            digits = "0123456789abcdefABCDEF"
        self._accept(".")
        self._accept(digits)
        dot = exp = False
        while self.peek() and self.peek() in digits + "._eE":
            c = self.peek()
            if c == "." and dot:
                self.i += 1
                return False
            if c in "eE" and exp and len(digits) == 10:
                self.i += 1
                return False
            if self._accept("."):
                dot = True
                if self._accept("_.") or len(digits) > 10:
                    return False
                continue
            if len(digits) == 10 and self._accept("eE"):
                exp = True
                self._accept("+-")
                if self._accept("._eE") or self.peek() == "":
                    return False
                continue
            if self._accept("_"):
                if self._accept("._eE") or self.peek() == "":
                    return False
                continue
            while self.peek() and self.peek() in digits:
                self.i += 1
        if self.i == start:
            return False
        return not _is_alnum(self.peek())

    def _number_or_duration(self) -> None:
        start = self.i
        if self._scan_number():
            self.emit(NUMBER, start, self.i)
            return
        # Not a plain number: try a duration like 1h30m or 5m from where the number stopped.
        if self._remaining_duration():
            self.emit(DURATION, start, self.i)
            return
        raise self.error(start, f"bad number or duration syntax: {go_quote(self.text[start:self.i])}")

    def _remaining_duration(self) -> bool:
        if not self._accept("smhdwy"):
            return False
        self._accept("s")
        while self._accept("0123456789"):
            while self._accept("0123456789"):
                pass
            if not self._accept("smhdwy"):
                return False
            self._accept("s")
        if _is_alnum(self.peek()):
            self.i += 1
            return False
        return True

    def _string(self, quote: str, start: int) -> None:
        t = self.text
        while True:
            c = self.peek()
            if c == "\\":
                self.i += 1
                self._escape(quote, start)
                continue
            if c == "" or c == "\n":
                raise self.error(start, "unterminated quoted string")
            self.i += 1
            if c == quote:
                break
        self.tokens.append(Token(STRING, t[start:self.i], self.bpos(start)))

    def _escape(self, quote: str, start: int) -> None:
        c = self.peek()
        if c == "":
            raise self.error(start, "escape sequence not terminated")
        self.i += 1
        if c in "abfnrtv\\" or c == quote:
            return
        if c in "01234567xuU":
            n, base, maxv = {"x": (2, 16, 255), "u": (4, 16, 0x10FFFF), "U": (8, 16, 0x10FFFF)}.get(
                c, (3, 8, 255)
            )
            if c in "01234567":
                self.i -= 1
            val = 0
            for _ in range(n):
                d = self.peek()
                if d == "":
                    raise self.error(start, "escape sequence not terminated")
                try:
                    dv = int(d, base)
                except ValueError:
                    raise self.error(
                        start, f"illegal character {_unicode_name(d)} in escape sequence"
                    ) from None
                val = val * base + dv
                self.i += 1
            if val > maxv or 0xD800 <= val < 0xE000:
                raise self.error(start, "escape sequence is an invalid Unicode code point")
            return
        raise self.error(start, f"unknown escape sequence {_unicode_name(c)}")

    def _raw_string(self, start: int) -> None:
        j = self.text.find("`", self.i)
        if j < 0:
            raise self.error(start, "unterminated raw string")
        self.i = j + 1
        self.tokens.append(Token(STRING, self.text[start:self.i], self.bpos(start)))


def _unicode_name(c: str) -> str:
    return f"U+{ord(c):04X} {go_quote_rune(c)}"


def lex(query: str) -> list[Token]:
    """All tokens of ``query`` ending with an EOF token; raises ParseError."""
    return Lexer(query).run()
