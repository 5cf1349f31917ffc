"""The LogQL lexer: the text of a query as tokens with their line and column.

Token kinds follow Loki's grammar, and so do the names its syntax errors use: punctuation and
keywords by their text (``{``, ``|=``, ``by``, ``ip``), the function words by their grammar name
(``RATE``, ``SUM``, ``COUNT_OVER_TIME``) and the rest as ``IDENTIFIER``, ``STRING``,
``NUMBER``, ``DURATION``, ``BYTES``, ``RANGE`` and ``$end``. A word from the function list is a
function only when ``(`` (or ``by``/``without`` and then ``(``) follows it; otherwise it is an
identifier, so ``| rate > 5`` filters on a label named rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.gocompat.durations import parse_duration_ms
from vigil.gocompat.quote import unquote
from vigil.logs.logql.errors import ParseError
from vigil.logs.logql.units import parse_bytes, parse_go_duration

__all__ = ["FUNCTIONS", "Token", "tokenize"]

# Punctuation and keywords; their kind is their (lower-case) text.
_OPERATORS_2 = ("!=", "=~", "!~", "!>", "|=", "|~", "|>", "==", ">=", "<=")
_OPERATORS_1 = ",.{}=|()[]+-*/%^><"
KEYWORDS = frozenset({
    "by", "without", "bool", "offset", "on", "ignoring", "group_left", "group_right", "or",
    "and", "unless", "json", "regexp", "logfmt", "unpack", "pattern", "label_format",
    "line_format", "ip", "decolorize", "drop", "keep", "unwrap",
})
# Words that are functions when a parenthesis follows; their kind is the upper-case name.
FUNCTIONS = frozenset({
    "rate", "rate_counter", "count_over_time", "bytes_rate", "bytes_over_time", "avg_over_time",
    "sum_over_time", "min_over_time", "max_over_time", "stdvar_over_time", "stddev_over_time",
    "quantile_over_time", "first_over_time", "last_over_time", "absent_over_time", "vector",
    "sum", "avg", "max", "min", "count", "stddev", "stdvar", "bottomk", "topk", "approx_topk",
    "sort",
    "sort_desc", "bytes", "duration", "duration_seconds", "label_replace",
})
_FLAGS = ("--strict", "--keep-empty")
_DURATION_RUNES = set("nuµmshdwy")
_BYTES_RUNES = set("BikKMGTP")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # see the module docstring
    text: str  # the source text
    value: object  # str for STRING/IDENTIFIER/NUMBER, int ns for DURATION/RANGE, int for BYTES
    line: int
    col: int


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Token] = []

    def col_of(self, pos: int) -> int:
        return pos - self.line_start + 1

    def error(self, msg: str, pos: int) -> ParseError:
        return ParseError(msg, self.line, self.col_of(pos))

    def emit(self, kind: str, start: int, value: object = None) -> None:
        text = self.text[start:self.pos]
        self.tokens.append(Token(kind, text, text if value is None else value, self.line,
                                 self.col_of(start)))

    def skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\n":
                self.pos += 1
                self.line += 1
                self.line_start = self.pos
            elif ch.isspace():
                self.pos += 1
            elif ch == "#":  # a comment runs to the end of the line
                while self.pos < len(text) and text[self.pos] != "\n":
                    self.pos += 1
            else:
                return

    def run(self) -> list[Token]:
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                self.tokens.append(Token("$end", "", "", self.line, self.col_of(self.pos)))
                return self.tokens
            self.next_token()

    def next_token(self) -> None:
        text, start = self.text, self.pos
        ch = text[start]
        if ch.isdigit() or (ch == "." and text[start + 1:start + 2].isdigit()):
            self.number(start)
        elif ch == "-" and text.startswith("--", start):
            for flag in _FLAGS:
                end = start + len(flag)
                if text.startswith(flag, start) and not (text[end:end + 1].isalpha()
                                                         or text[end:end + 1] == "-"):
                    self.pos = end
                    self.emit("FUNCTION_FLAG", start)
                    return
            self.pos += 1
            self.emit("-", start)
        elif ch == "-" and self.try_unit(start, start + 1, _DURATION_RUNES, "DURATION"):
            return
        elif ch in "\"`":
            self.string(start)
        elif ch == "[":
            end = text.find("]", start)
            if end < 0:
                raise self.error("missing closing ']' in duration", len(text))
            try:
                ns = parse_duration_ms(text[start + 1:end]) * 1_000_000
            except ValueError as exc:
                raise self.error(str(exc), end + 1) from None
            self.pos = end + 1
            self.emit("RANGE", start, ns)
        elif ch.isalpha() or ch == "_":
            end = start
            while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                end += 1
            self.pos = end
            word = text[start:end]
            lower = word.lower()
            if lower in FUNCTIONS and self.function_follows(end):
                self.emit(lower.upper(), start, lower)
            elif lower in KEYWORDS:
                self.emit(lower, start, lower)
            else:
                self.emit("IDENTIFIER", start, word)
        elif text[start:start + 2] in _OPERATORS_2:
            self.pos += 2
            self.emit(text[start:start + 2], start)
        elif ch in _OPERATORS_1:
            self.pos += 1
            self.emit(ch, start)
        else:
            raise self.error(f"unexpected character: {ch!r}", start)

    def function_follows(self, pos: int) -> bool:
        rest = self.text[pos:].lstrip()
        if rest.startswith("("):
            return True
        for word in ("by", "without"):
            if rest[:len(word)].lower() == word:
                return rest[len(word):].lstrip().startswith("(")
        return False

    def number(self, start: int) -> None:
        text = self.text
        end = start
        while end < len(text) and (text[end].isdigit() or text[end] == "."):
            end += 1
        if end < len(text) and text[end] in "eE" and (
                text[end + 1:end + 2].isdigit() or (text[end + 1:end + 2] in ("+", "-")
                                                    and text[end + 2:end + 3].isdigit())):
            end += 2
            while end < len(text) and text[end].isdigit():
                end += 1
        for runes, kind in ((_DURATION_RUNES, "DURATION"), (_BYTES_RUNES, "BYTES")):
            if self.try_unit(start, end, runes, kind):
                return
        self.pos = end
        self.emit("NUMBER", start)

    def try_unit(self, start: int, end: int, runes: set[str], kind: str) -> bool:
        """A number followed, up to the next space, by unit letters: a duration or a size."""
        text = self.text
        stop = end
        while stop < len(text) and not text[stop].isspace() and (
                text[stop].isdigit() or text[stop] in runes or text[stop] == "."):
            stop += 1
        if stop == end:
            return False
        word = text[start:stop]
        try:
            if kind == "DURATION":
                try:
                    value: int = parse_duration_ms(word) * 1_000_000
                except ValueError:
                    value = parse_go_duration(word)
            else:
                value = parse_bytes(word)
        except ValueError:
            return False
        self.pos = stop
        self.emit(kind, start, value)
        return True

    def string(self, start: int) -> None:
        text = self.text
        quote_char = text[start]
        pos = start + 1
        while True:
            if pos >= len(text) or (quote_char == '"' and text[pos] == "\n"):
                raise self.error("literal not terminated", start)
            if text[pos] == "\\" and quote_char == '"':
                pos += 2
                continue
            if text[pos] == quote_char:
                break
            pos += 1
        raw = text[start:pos + 1]
        if quote_char == '"' and not _escapes_valid(raw):
            raise self.error("invalid char escape", start)
        try:
            value = unquote(raw)
        except (ValueError, IndexError) as exc:
            raise self.error(str(exc) or "invalid syntax", start) from None
        # A raw string may span lines: keep line numbers right for what follows.
        newlines = raw.count("\n")
        self.pos = pos + 1
        self.emit("STRING", start, value)
        if newlines:
            self.line += newlines
            self.line_start = start + raw.rfind("\n") + 1


_ESCAPE_DIGITS = {"x": (16, 2), "u": (16, 4), "U": (16, 8)}


def _escapes_valid(raw: str) -> bool:
    """Whether every escape of the double-quoted literal ``raw`` is one Go's text/scanner
    accepts (Loki's lexer): a named letter, the quote, a backslash, three octal digits, or
    ``\\x``/``\\u``/``\\U`` with two, four or eight hex digits."""
    i = 1
    while i < len(raw) - 1:
        if raw[i] != "\\":
            i += 1
            continue
        e = raw[i + 1]
        if e in 'abfnrtv\\"':
            i += 2
            continue
        base, count = (8, 3) if e in "01234567" else _ESCAPE_DIGITS.get(e, (0, 0))
        if base == 0:
            return False
        first = i + 1 if base == 8 else i + 2
        digits = raw[first:first + count]
        if len(digits) < count or any(not _is_digit(d, base) for d in digits):
            return False
        i = first + count
    return True


def _is_digit(ch: str, base: int) -> bool:
    return ch in "01234567" if base == 8 else ch in "0123456789abcdefABCDEF"


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with ``$end``; ParseError at the first bad character."""
    return _Lexer(text).run()
