"""Running a LogQL pipeline over one entry: line filters, parsers, label filters, formatting.

A :class:`Row` holds the line and its labels while it goes through the stages: the stream
labels, then the entry's structured fields, then what parsers extract (a parsed name that
clashes with a stream label or a field gets ``_extracted``). A stage that cannot read a line
sets ``__error__`` (and ``__error_details__``) and keeps it, as Loki does, so
``| __error__=""`` can drop such lines.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vigil.gocompat.floats import parse_float
from vigil.gocompat.template import Template, TemplateError
from vigil.logs.logql import ast
from vigil.logs.logql._gotime import GoTime
from vigil.logs.logql.parsers import (
    ExtractError,
    compile_pattern,
    extract_json,
    extract_json_paths,
    extract_logfmt,
    parse_json_path,
    regexp_extractor,
    unpack,
)
from vigil.logs.logql.template_funcs import template_functions
from vigil.logs.logql.units import parse_bytes, parse_go_duration
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels
from vigil.model.regex import compile_go

__all__ = ["Pipeline", "Row", "label_filter_fn"]

ERROR = "__error__"
ERROR_DETAILS = "__error_details__"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(slots=True)
class Row:
    ts_ns: int
    line: str
    labels: dict[str, str]
    base: frozenset[str]  # stream labels and structured fields: parsers do not overwrite them
    error: str = ""
    details: str = ""

    @classmethod
    def of(cls, entry: LogEntry) -> Row:
        labels = dict(entry.labels)
        for k, v in entry.fields:
            labels.setdefault(k, v)
        # Loki adds the detected level as structured metadata; the entry's level plays that part.
        if entry.level and "detected_level" not in labels:
            labels["detected_level"] = entry.level
        return cls(entry.ts_ns, entry.line, labels, frozenset(labels))

    def get(self, name: str) -> str | None:
        if name == ERROR:
            return self.error
        return self.labels.get(name)

    def set_error(self, kind: str, details: str) -> None:
        if not self.error:
            self.error, self.details = kind, details

    def add_parsed(self, pairs: list[tuple[str, str]]) -> None:
        parsed = dict(pairs)  # a name twice: the last value, in the first one's place
        if self.base.isdisjoint(parsed):  # the usual case: no clash to rename
            self.labels.update(parsed)
            return
        labels, base = self.labels, self.base
        for name, value in pairs:
            if name in base:
                name += "_extracted"
            labels[name] = value

    def result_labels(self, cache: dict[tuple[object, ...], Labels] | None = None) -> Labels:
        """The row's labels with ``__error__``; ``cache`` (one per query) saves building the
        same label set again for every line of a stream."""
        if cache is not None:
            key = (*self.labels.items(), self.error, self.details)
            found = cache.get(key)
            if found is None:
                found = cache[key] = self.result_labels()
            return found
        labels = dict(self.labels)
        if self.error:
            labels[ERROR] = self.error
            if self.details:
                labels[ERROR_DETAILS] = self.details
        return Labels(labels)


Step = Callable[[Row], bool]


def _line_filter(f: ast.LineFilter) -> Step:
    op = f.op
    negate = op.startswith("!")
    if f.ip:
        nets = [_ip_matcher(v) for v in f.values]
        candidates = re.compile(r"[0-9A-Fa-f:.]{2,}")

        def has_ip(line: str) -> bool:
            for m in candidates.finditer(line):
                try:
                    addr = ipaddress.ip_address(m.group(0).strip(".:"))
                except ValueError:
                    continue
                if any(n(addr) for n in nets):
                    return True
            return False
        return lambda row: has_ip(row.line) != negate
    if op in ("|=", "!="):
        values = f.values
        if values == ("",):
            return lambda row: not negate
        return lambda row: any(v in row.line for v in values) != negate
    if op in ("|~", "!~"):
        regexes = [compile_go(v) for v in f.values]
        return lambda row: any(r.search(row.line) for r in regexes) != negate
    patterns = [compile_pattern(v, line_filter=True) for v in f.values]
    return lambda row: any(p.test(row.line) for p in patterns) != negate


def _ip_matcher(pattern: str) -> Callable[[Any], bool]:
    if "-" in pattern:
        lo, hi = (ipaddress.ip_address(p.strip()) for p in pattern.split("-", 1))
        return lambda a: a.version == lo.version and lo <= a <= hi
    if "/" in pattern:
        net = ipaddress.ip_network(pattern.strip(), strict=False)
        return lambda a: a.version == net.version and a in net
    one = ipaddress.ip_address(pattern.strip())
    return lambda a: a == one


def _compare(op: str, a: float, b: float) -> bool:
    return {"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b,
            "<=": a <= b}[op]


def label_filter_fn(f: ast.LabelFilter) -> Step:
    """A label filter as a predicate on a row (it may set ``__error__`` and keep the row)."""
    if isinstance(f, ast.BinaryLabelFilter):
        left, right = label_filter_fn(f.left), label_filter_fn(f.right)
        if f.and_:
            return lambda row: left(row) and right(row)
        return lambda row: left(row) or right(row)
    if isinstance(f, ast.MatcherFilter):
        m = f.matcher
        return lambda row: m.matches(row.get(m.name) or "")
    if isinstance(f, ast.IPLabelFilter):
        net = _ip_matcher(f.pattern)
        negate = f.op == "!="

        def ip_ok(row: Row) -> bool:
            value = row.get(f.name)
            try:
                hit = value is not None and net(ipaddress.ip_address(value))
            except ValueError:
                hit = False
            return hit != negate
        return ip_ok
    convert: Callable[[str], float]
    if isinstance(f, ast.NumericFilter):
        convert, wanted = parse_float, f.value
    elif isinstance(f, ast.DurationFilter):
        convert, wanted = parse_go_duration, f.value_ns
    else:
        convert, wanted = parse_bytes, f.value
    name, op = f.name, f.op

    def compare(row: Row) -> bool:
        value = row.get(name)
        if value is None:
            return False
        try:
            got = convert(value)
        except ValueError as exc:
            row.set_error("LabelFilterErr", str(exc))
            return True
        return _compare(op, got, wanted)
    return compare


class _Formatter:
    """``line_format`` and ``label_format`` templates, with Loki's extra functions
    (``__line__``, ``__timestamp__``) reading the row being formatted."""

    def __init__(self) -> None:
        self.row: Row | None = None
        funcs = template_functions()
        funcs["__line__"] = lambda: self.row.line if self.row else ""
        funcs["__timestamp__"] = lambda: GoTime(self.row.ts_ns if self.row else 0)
        self.funcs = funcs

    def compile(self, text: str) -> Template:
        return Template("line", text, self.funcs)

    def run(self, tmpl: Template, row: Row) -> str | None:
        self.row = row
        try:
            return tmpl.execute(dict(row.labels))
        except TemplateError as exc:
            row.set_error("TemplateFormatErr", str(exc))
            return None


def _stage(stage: ast.Stage, fmt: _Formatter) -> Step:
    if isinstance(stage, ast.LineFilter):
        return _line_filter(stage)
    if isinstance(stage, ast.LabelFilterStage):
        return label_filter_fn(stage.filter)
    if isinstance(stage, ast.JSONParser):
        if stage.expressions:
            paths = [(n, parse_json_path(e)) for n, e in stage.expressions]
            return _extract(lambda row: extract_json_paths(row.line, paths))
        return _extract(lambda row: extract_json(row.line))
    if isinstance(stage, ast.LogfmtParser):
        strict, keep = stage.strict, stage.keep_empty
        if stage.expressions:
            wanted = dict((e, n) for n, e in stage.expressions)

            def some(row: Row) -> list[tuple[str, str]]:
                found = dict(extract_logfmt(row.line, strict, True))
                return [(n, found.get(e, "")) for e, n in wanted.items()]
            return _extract(some)
        return _extract(lambda row: extract_logfmt(row.line, strict, keep))
    if isinstance(stage, ast.RegexpParser):
        extract = regexp_extractor(compile_go(stage.regex))
        return _extract(lambda row: extract(row.line))
    if isinstance(stage, ast.PatternParser):
        pattern = compile_pattern(stage.pattern)
        return _extract(lambda row: pattern.match(row.line) or [])
    if isinstance(stage, ast.UnpackParser):
        def do_unpack(row: Row) -> bool:
            try:
                pairs, row.line = unpack(row.line)
            except ExtractError as exc:
                row.set_error(exc.kind, exc.details)
                return True
            row.add_parsed(pairs)
            return True
        return do_unpack
    if isinstance(stage, ast.LineFormat):
        tmpl = fmt.compile(stage.template)

        def line_format(row: Row) -> bool:
            out = fmt.run(tmpl, row)
            if out is not None:
                row.line = out
            return True
        return line_format
    if isinstance(stage, ast.LabelFormat):
        items = [(i, None if i.rename else fmt.compile(i.value)) for i in stage.items]

        def label_format(row: Row) -> bool:
            for item, tmpl in items:
                if tmpl is None:
                    value = row.labels.pop(item.value, None)
                    if value is not None:
                        row.labels[item.name] = value
                else:
                    out = fmt.run(tmpl, row)
                    if out is not None:
                        row.labels[item.name] = out
            return True
        return label_format
    if isinstance(stage, ast.Decolorize):
        def decolorize(row: Row) -> bool:
            row.line = _ANSI.sub("", row.line)
            return True
        return decolorize
    if isinstance(stage, ast.DropLabels):
        return _drop_keep(stage.items, keep=False)
    assert isinstance(stage, ast.KeepLabels)
    return _drop_keep(stage.items, keep=True)


def _extract(fn: Callable[[Row], list[tuple[str, str]]]) -> Step:
    def run(row: Row) -> bool:
        try:
            row.add_parsed(fn(row))
        except ExtractError as exc:
            row.add_parsed(exc.extracted)
            row.set_error(exc.kind, exc.details)
        return True
    return run


def _drop_keep(items: tuple[ast.NamedMatcher, ...], keep: bool) -> Step:
    def selected(row: Row, name: str) -> bool:
        value = row.get(name) or ""
        return any((item == name) if isinstance(item, str) else (
            item.name == name and item.matches(value)) for item in items)

    def run(row: Row) -> bool:
        names = list(row.labels) + ([ERROR, ERROR_DETAILS] if row.error else [])
        for name in names:
            if selected(row, name) != keep:
                if name == ERROR:
                    row.error = ""
                elif name == ERROR_DETAILS:
                    row.details = ""
                else:
                    del row.labels[name]
        return True
    return run


class Pipeline:
    """The stages of a log selector, compiled once and run per entry."""

    def __init__(self, stages: tuple[ast.Stage, ...]) -> None:
        fmt = _Formatter()
        self.steps = [_stage(s, fmt) for s in stages]
        # A row's first labels per (stream, fields, level): lines of a stream share them.
        self._firsts: dict[tuple[object, ...], Row] = {}

    def run(self, entry: LogEntry) -> Row | None:
        """The row after every stage, or None when a filter dropped the entry."""
        key = (entry.labels, entry.fields, entry.level)
        first = self._firsts.get(key)
        if first is None:
            first = Row.of(entry)
            if len(self._firsts) < 4096:
                self._firsts[key] = first
        row = Row(entry.ts_ns, entry.line, first.labels.copy(), first.base)
        for step in self.steps:
            if not step(row):
                return None
        return row
