"""Line-level lexing shared by the two exposition formats.

Valid lines are recognised by one compiled regular expression per line (the fast path, which
a 10k-line scrape goes through). Only when that fails does :func:`diagnose_sample` walk the
line token by token to say *what* is wrong and where; that slow path runs once per failed
parse, so its cost does not matter.
"""

from __future__ import annotations

import re

from vigil.model.labels import LABEL_NAME_PATTERN as LABEL_NAME
from vigil.model.labels import METRIC_NAME_PATTERN as METRIC_NAME

_LABEL_VALUE = r'"(?:[^"\\]|\\.)*"'

# OpenMetrics numbers: decimal reals, plus case-insensitive inf/infinity/nan for values.
# Timestamps and bucket bounds are reals only (no NaN/Inf, no hex, no underscores).
OM_REAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
OM_NUMBER = rf"(?:{OM_REAL}|[+-]?(?i:inf(?:inity)?)|(?i:nan))"
# Prometheus text 0.0.4: values are Go ParseFloat (decimal forms and inf/nan); timestamps
# are integer milliseconds.
TEXT_NUMBER = OM_NUMBER
TEXT_TIMESTAMP = r"[+-]?[0-9]+"

_OM_PAIR = rf"{LABEL_NAME}={_LABEL_VALUE}"
_OM_LABELS = rf"\{{(?:{_OM_PAIR}(?:,{_OM_PAIR})*)?\}}"

OM_SAMPLE = re.compile(
    rf"({METRIC_NAME})({_OM_LABELS})? ({OM_NUMBER})(?: ({OM_REAL}))?"
    rf"(?: # ({_OM_LABELS}) ({OM_NUMBER})(?: ({OM_REAL}))?)?"
)
OM_PAIR = re.compile(rf'({LABEL_NAME})="((?:[^"\\]|\\.)*)"')

_WS = r"[ \t]"
_TEXT_PAIR = rf"{LABEL_NAME}{_WS}*={_WS}*{_LABEL_VALUE}"
_TEXT_LABELS = (
    rf"\{{{_WS}*(?:{_TEXT_PAIR}(?:{_WS}*,{_WS}*{_TEXT_PAIR})*{_WS}*,?{_WS}*)?\}}"
)
TEXT_SAMPLE = re.compile(
    rf"{_WS}*({METRIC_NAME}){_WS}*({_TEXT_LABELS})?{_WS}+({TEXT_NUMBER})"
    rf"(?:{_WS}+({TEXT_TIMESTAMP}))?{_WS}*"
)
TEXT_PAIR = re.compile(rf'({LABEL_NAME}){_WS}*={_WS}*"((?:[^"\\]|\\.)*)"')

_METRIC_NAME_RE = re.compile(METRIC_NAME)
_LABEL_NAME_RE = re.compile(LABEL_NAME)
_VALUE_BODY = re.compile(r'(?:[^"\\]|\\.)*"')
_OM_NUMBER_RE = re.compile(OM_NUMBER)
_OM_REAL_RE = re.compile(OM_REAL)
_TEXT_TS_RE = re.compile(TEXT_TIMESTAMP)
_ESCAPE = re.compile(r"\\(.)")
_LABEL_ESCAPES = {"n": "\n", "\\": "\\", '"': '"'}
_TEXT_HELP_ESCAPES = {"n": "\n", "\\": "\\"}


def _unescape_with(table: dict[str, str]):
    def sub(m: re.Match[str]) -> str:
        # Unknown escapes are kept verbatim, as Prometheus's parsers do.
        return table.get(m.group(1), m.group(0))

    return sub


_label_sub = _unescape_with(_LABEL_ESCAPES)
_text_help_sub = _unescape_with(_TEXT_HELP_ESCAPES)


def unescape_label(value: str) -> str:
    """Undo ``\\\\``, ``\\"`` and ``\\n`` in a label value (or OpenMetrics HELP text)."""
    return _ESCAPE.sub(_label_sub, value) if "\\" in value else value


def unescape_text_help(value: str) -> str:
    """Undo ``\\\\`` and ``\\n`` in Prometheus-text HELP (``\\"`` stays as written)."""
    return _ESCAPE.sub(_text_help_sub, value) if "\\" in value else value


def parse_labels(text: str, pair: re.Pattern[str]) -> list[tuple[str, str]] | None:
    """The ``(name, value)`` pairs of a label block already matched by a line regex, or
    None when a label name repeats (so the caller falls back to :func:`diagnose_sample`)."""
    pairs = [(n, unescape_label(v)) for n, v in pair.findall(text)]
    if len({n for n, _ in pairs}) != len(pairs):
        return None
    return pairs


class LineError(Exception):
    """A reason a line is malformed, with the 1-based column where it was noticed."""

    def __init__(self, reason: str, column: int) -> None:
        self.reason = reason
        self.column = column
        super().__init__(reason)


class _Cursor:
    def __init__(self, line: str, openmetrics: bool) -> None:
        self.line = line
        self.pos = 0
        self.om = openmetrics

    def fail(self, reason: str) -> LineError:
        return LineError(reason, self.pos + 1)

    def peek(self) -> str:
        return self.line[self.pos] if self.pos < len(self.line) else ""

    def skip_ws(self) -> int:
        """In the text format, skip blanks and tabs; OpenMetrics allows none. Returns count."""
        start = self.pos
        if not self.om:
            while self.peek() in (" ", "\t") and self.peek():
                self.pos += 1
        return self.pos - start

    def take(self, pattern: re.Pattern[str]) -> str | None:
        m = pattern.match(self.line, self.pos)
        if not m or m.end() == self.pos:
            return None
        self.pos = m.end()
        return m.group(0)

    def token(self) -> str:
        """Up to the next blank (or tab in the text format)."""
        end = self.pos
        stops = " " if self.om else " \t"
        while end < len(self.line) and self.line[end] not in stops:
            end += 1
        tok, self.pos = self.line[self.pos:end], end
        return tok

    def separator(self, what: str) -> None:
        if self.om:
            if self.peek() != " ":
                raise self.fail(f"expected ' ' before {what}")
            self.pos += 1
            if self.peek() == " ":
                raise self.fail(f"expected exactly one ' ' before {what}")
        elif self.skip_ws() == 0:
            raise self.fail(f"expected whitespace before {what}")


def _diagnose_labels(cur: _Cursor) -> None:
    seen: set[str] = set()
    cur.pos += 1  # the '{'
    after_comma = False
    while True:
        cur.skip_ws()
        if cur.peek() == "}":
            if after_comma and cur.om:
                raise cur.fail("unexpected '}' after ',' in label set")
            cur.pos += 1
            return
        if not cur.peek():
            raise cur.fail("unterminated label set, expected '}'")
        name = cur.take(_LABEL_NAME_RE)
        if name is None:
            raise cur.fail(f"invalid label name starting with {cur.peek()!r}")
        cur.skip_ws()
        if cur.peek() != "=":
            raise cur.fail("expected '=' after label name")
        cur.pos += 1
        cur.skip_ws()
        if cur.peek() != '"':
            raise cur.fail("expected '\"' to start label value")
        cur.pos += 1
        m = _VALUE_BODY.match(cur.line, cur.pos)
        if not m:
            raise cur.fail("unterminated label value, expected closing '\"'")
        if name == "__name__":
            raise cur.fail("label name '__name__' is reserved for the metric name")
        if name in seen:
            raise cur.fail(f"duplicate label name {name!r}")
        seen.add(name)
        cur.pos = m.end()
        cur.skip_ws()
        if cur.peek() == ",":
            cur.pos += 1
            after_comma = True
        elif cur.peek() == "}":
            after_comma = False
        else:
            raise cur.fail("expected ',' or '}' after label value")


def _diagnose_number(cur: _Cursor, what: str, pattern: re.Pattern[str]) -> None:
    start = cur.pos
    tok = cur.token()
    if not tok:
        raise cur.fail(f"missing {what}")
    if not pattern.fullmatch(tok):
        cur.pos = start
        raise cur.fail(f"invalid {what} {tok!r}")


def diagnose_sample(line: str, openmetrics: bool) -> LineError:
    """Why ``line`` is not a valid sample line. Only called after the fast regex failed."""
    cur = _Cursor(line, openmetrics)
    try:
        cur.skip_ws()
        if cur.take(_METRIC_NAME_RE) is None:
            return cur.fail(f"expected metric name, got {cur.peek()!r}")
        if cur.peek() not in ("", " ", "\t", "{"):
            return cur.fail(f"invalid character {cur.peek()!r} in metric name")
        ws = cur.skip_ws()
        if cur.peek() == "{":
            _diagnose_labels(cur)
            ws = 0
        if cur.pos >= len(line):
            return cur.fail("missing value")
        if ws == 0:
            cur.separator("value")
        if not cur.peek():
            return cur.fail("missing value")
        _diagnose_number(cur, "value", _OM_NUMBER_RE)
        if not cur.peek():
            return cur.fail("invalid sample line")
        if openmetrics:
            return _diagnose_om_tail(cur)
        cur.separator("timestamp")
        if not cur.peek():
            return cur.fail("invalid sample line")
        _diagnose_number(cur, "timestamp", _TEXT_TS_RE)
        cur.skip_ws()
        return cur.fail("unexpected text after timestamp")
    except LineError as e:
        return e


def _diagnose_om_tail(cur: _Cursor) -> LineError:
    cur.separator("timestamp or exemplar")
    if not cur.peek():
        return cur.fail("unexpected trailing whitespace")
    if cur.peek() != "#":
        _diagnose_number(cur, "timestamp", _OM_REAL_RE)
        if not cur.peek():
            return cur.fail("invalid sample line")
        cur.separator("exemplar")
    if not cur.line.startswith("# {", cur.pos):
        return cur.fail("expected '# {' to start an exemplar")
    cur.pos += 2
    _diagnose_labels(cur)
    cur.separator("exemplar value")
    _diagnose_number(cur, "exemplar value", _OM_NUMBER_RE)
    if cur.peek():
        cur.separator("exemplar timestamp")
        _diagnose_number(cur, "exemplar timestamp", _OM_REAL_RE)
        if cur.peek():
            return cur.fail("unexpected text after exemplar")
    return cur.fail("invalid sample line")
