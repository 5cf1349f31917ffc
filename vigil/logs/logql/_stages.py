"""Parsing a log selector and its pipeline: matchers, line filters, parser stages, label
filters, formats, drop/keep. :class:`StageParser` is the token cursor and these rules;
:mod:`vigil.logs.logql.parser` adds the metric expressions on top."""

from __future__ import annotations

import re

from vigil.gocompat.floats import parse_float
from vigil.logs.logql import ast
from vigil.logs.logql.errors import ParseError
from vigil.logs.logql.lexer import Token, tokenize
from vigil.logs.logql.parsers import compile_pattern
from vigil.model.matchers import Matcher, MatchType
from vigil.model.regex import compile_go

__all__ = ["StageParser", "literal"]

_MATCH_TYPES = {"=": MatchType.EQUAL, "!=": MatchType.NOT_EQUAL, "=~": MatchType.REGEX,
                "!~": MatchType.NOT_REGEX}
_LINE_FILTER_OPS = ("|=", "!=", "|~", "!~", "|>", "!>")
_CMP_FROM_TOKEN = {"=": "==", "==": "==", "!=": "!=", ">": ">", ">=": ">=", "<": "<",
                   "<=": "<="}


class StageParser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    # ------------------------------------------------------------------ tokens

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, n: int = 1) -> Token:
        return self.tokens[min(self.i + n, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if self.i < len(self.tokens) - 1:
            self.i += 1
        return tok

    def unexpected(self, *expecting: str) -> ParseError:
        tok = self.tok
        msg = f"syntax error: unexpected {tok.kind}"
        if expecting:
            msg += ", expecting " + " or ".join(expecting)
        return ParseError(msg, tok.line, tok.col)

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected(kind)
        return self.advance()

    # ------------------------------------------------------------------ log selectors

    def log_selector(self) -> ast.LogSelector:
        self.expect("{")
        matchers: list[Matcher] = []
        if self.tok.kind != "}":
            matchers.append(self.matcher())
            while self.tok.kind == ",":
                self.advance()
                matchers.append(self.matcher())
            if self.tok.kind != "}":
                raise self.unexpected("}", ",")
        self.advance()
        return ast.LogSelector(tuple(matchers), self.pipeline())

    def matcher(self) -> Matcher:
        name = str(self.expect("IDENTIFIER").value)
        if self.tok.kind not in _MATCH_TYPES:
            raise self.unexpected()
        op = self.advance().kind
        value = str(self.expect("STRING").value)
        return _matcher(op, name, value)

    def pipeline(self) -> tuple[ast.Stage, ...]:
        stages: list[ast.Stage] = []
        while True:
            kind = self.tok.kind
            if kind in _LINE_FILTER_OPS:
                stages.extend(self.line_filter())
            elif kind == "|" and self.peek().kind != "unwrap":
                self.advance()
                stages.append(self.pipe_stage())
            else:
                return tuple(stages)

    def line_filter(self) -> list[ast.LineFilter]:
        op = self.advance().kind
        values, ip = [self.filter_value()], self.tokens[self.i - 1].kind == ")"
        while self.tok.kind == "or" and self.peek().kind in ("STRING", "ip"):
            self.advance()
            if (self.tok.kind == "ip") != ip:  # one filter is all addresses or all text
                raise self.unexpected()
            values.append(self.filter_value())
        if op.startswith("!"):  # "none of": one filter each
            return [ast.LineFilter(op, (v,), ip) for v in values]
        for v in values if op == "|~" else ():
            _regex(v)
        if op in ("|>", "!>"):
            for v in values:
                try:
                    compile_pattern(v, line_filter=True)
                except ValueError as exc:
                    raise ParseError(f"invalid pattern: {exc}") from None
        return [ast.LineFilter(op, tuple(values), ip)]

    def filter_value(self) -> str:
        if self.tok.kind == "ip":
            self.advance()
            self.expect("(")
            value = str(self.expect("STRING").value)
            self.expect(")")
            return value
        if self.tok.kind != "STRING":
            raise self.unexpected("STRING", "ip")
        return str(self.advance().value)

    def pipe_stage(self) -> ast.Stage:
        kind = self.tok.kind
        if kind == "json":
            self.advance()
            return ast.JSONParser(self.extraction_list())
        if kind == "logfmt":
            self.advance()
            flags = set()
            while self.tok.kind == "FUNCTION_FLAG":
                flags.add(self.advance().value)
            return ast.LogfmtParser("--strict" in flags, "--keep-empty" in flags,
                                    self.extraction_list())
        if kind in ("regexp", "pattern"):
            self.advance()
            value = str(self.expect("STRING").value)
            if kind == "regexp":
                try:
                    compiled = _regex(value)
                except ParseError as exc:
                    raise ParseError(f"invalid regexp parser: {exc.message}") from None
                if not compiled.groupindex:
                    raise ParseError("invalid regexp parser: at least one named capture "
                                     "must be supplied")
                return ast.RegexpParser(value)
            try:
                compile_pattern(value)
            except ValueError as exc:
                raise ParseError(f"invalid pattern parser: {exc}") from None
            return ast.PatternParser(value)
        if kind == "unpack":
            self.advance()
            return ast.UnpackParser()
        if kind == "line_format":
            self.advance()
            return ast.LineFormat(str(self.expect("STRING").value))
        if kind == "label_format":
            self.advance()
            return ast.LabelFormat(tuple(self.label_format_items()))
        if kind == "decolorize":
            self.advance()
            return ast.Decolorize()
        if kind in ("drop", "keep"):
            self.advance()
            items = self.named_matchers()
            return ast.DropLabels(items) if kind == "drop" else ast.KeepLabels(items)
        if kind in ("IDENTIFIER", "("):
            return ast.LabelFilterStage(self.label_filter())
        raise self.unexpected()

    def extraction_list(self) -> tuple[tuple[str, str], ...]:
        out: list[tuple[str, str]] = []
        while self.tok.kind == "IDENTIFIER":
            name = str(self.advance().value)
            expression = name
            if self.tok.kind == "=":
                self.advance()
                expression = str(self.expect("STRING").value)
            out.append((name, expression))
            if self.tok.kind != ",":
                break
            self.advance()
        return tuple(out)

    def label_format_items(self) -> list[ast.LabelFormatItem]:
        items = []
        while True:
            name = str(self.expect("IDENTIFIER").value)
            self.expect("=")
            if self.tok.kind == "IDENTIFIER":
                items.append(ast.LabelFormatItem(name, str(self.advance().value), True))
            elif self.tok.kind == "STRING":
                items.append(ast.LabelFormatItem(name, str(self.advance().value), False))
            else:
                raise self.unexpected("IDENTIFIER", "STRING")
            if self.tok.kind != ",":
                return items
            self.advance()

    def named_matchers(self) -> tuple[ast.NamedMatcher, ...]:
        items: list[ast.NamedMatcher] = []
        while True:
            name = str(self.expect("IDENTIFIER").value)
            if self.tok.kind in _MATCH_TYPES:
                op = self.advance().kind
                items.append(_matcher(op, name, str(self.expect("STRING").value)))
            else:
                items.append(name)
            if self.tok.kind != ",":
                return tuple(items)
            self.advance()

    # ------------------------------------------------------------------ label filters

    def label_filter(self) -> ast.LabelFilter:
        left = self.label_filter_and()
        while self.tok.kind == "or":
            self.advance()
            left = ast.BinaryLabelFilter(left, self.label_filter_and(), False)
        return left

    def label_filter_and(self) -> ast.LabelFilter:
        left = self.label_filter_primary()
        while True:
            if self.tok.kind in ("and", ","):
                self.advance()
            elif self.tok.kind not in ("IDENTIFIER", "("):
                return left
            left = ast.BinaryLabelFilter(left, self.label_filter_primary(), True)

    def label_filter_primary(self) -> ast.LabelFilter:
        if self.tok.kind == "(":
            self.advance()
            inner = self.label_filter()
            self.expect(")")
            return inner
        name = str(self.expect("IDENTIFIER").value)
        op = self.tok.kind
        if op not in ("=", "!=", "=~", "!~", ">", ">=", "<", "<=", "=="):
            raise self.unexpected()
        self.advance()
        nxt = self.tok
        if op in ("=", "!=", "=~", "!~") and nxt.kind == "STRING":
            self.advance()
            return ast.MatcherFilter(_matcher(op, name, str(nxt.value)))
        if op in ("=", "!=") and nxt.kind == "ip":
            self.advance()
            self.expect("(")
            pattern = str(self.expect("STRING").value)
            self.expect(")")
            return ast.IPLabelFilter(name, op, pattern)
        if op in ("=~", "!~"):
            raise self.unexpected("STRING")
        cmp = _CMP_FROM_TOKEN[op]
        if nxt.kind == "DURATION":
            self.advance()
            return ast.DurationFilter(name, cmp, int(nxt.value))  # type: ignore[call-overload]
        if nxt.kind == "BYTES":
            self.advance()
            return ast.BytesFilter(name, cmp, int(nxt.value))  # type: ignore[call-overload]
        negative = False
        if nxt.kind in ("+", "-") and self.peek().kind == "NUMBER":
            negative = self.advance().kind == "-"
        if self.tok.kind != "NUMBER":
            raise self.unexpected()
        value = literal(str(self.advance().value), negative).value
        return ast.NumericFilter(name, cmp, value)


# ---------------------------------------------------------------------- helpers


def _regex(value: str) -> re.Pattern[str]:
    try:
        return compile_go(value)
    except re.error as exc:
        raise ParseError(f"error parsing regexp: {exc}") from None


def _matcher(op: str, name: str, value: str) -> Matcher:
    try:
        return Matcher(_MATCH_TYPES[op], name, value)
    except re.error as exc:
        raise ParseError(f"error parsing regexp: {exc}") from None


def literal(text: str, negative: bool) -> ast.Literal:
    try:
        value = parse_float(text)
    except ValueError:
        raise ParseError("unable to parse literal as a float: strconv.ParseFloat: parsing "
                         f'"{text}": invalid syntax') from None
    return ast.Literal(-value if negative else value)

