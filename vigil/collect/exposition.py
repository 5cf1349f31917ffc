"""Parsers for the Prometheus text format 0.0.4 and the OpenMetrics 1.0 text format.

Both turn a scraped page into :class:`Sample` rows — ``(labels incl. __name__, value,
ts_ms)`` — and per-family :class:`MetricMetadata`. Timestamps come out in milliseconds in
both cases: the text format writes integer milliseconds, OpenMetrics writes seconds as a
(possibly fractional) number, which is converted here.

Parsing is strict: the first malformed line raises :class:`vigil.errors.ParseError` whose
message is ``"line N: reason"`` (``line``/``column`` are set on the exception too), and no
samples are returned. OpenMetrics additionally requires ``# EOF`` and enforces the
family rules (counter ``_total``, histogram buckets, ...); exemplars are validated and
dropped.

The functions are pure and thread-safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

from vigil.collect import _lex
from vigil.collect._openmetrics import FamilyChecker, SemanticError
from vigil.errors import ParseError
from vigil.model.labels import METRIC_NAME, Labels, is_metric_name

__all__ = [
    "OPENMETRICS_CONTENT_TYPE", "TEXT_CONTENT_TYPE", "Format", "MetricMetadata", "ParseResult",
    "Sample", "format_for", "parse", "parse_openmetrics", "parse_text",
]

OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text"
TEXT_CONTENT_TYPE = "text/plain"
Format = Literal["openmetrics", "text"]

_EXEMPLAR_MAX_RUNES = 128
_TEXT_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
_TEXT_META = re.compile(r"#[ \t]+(HELP|TYPE)(?:[ \t]+|$)")
_TEXT_META_ARGS = re.compile(rf"({_lex.METRIC_NAME})(?:[ \t]+(.*))?")
_OM_META = re.compile(rf"# (HELP|TYPE|UNIT) ({_lex.METRIC_NAME}) (.*)")


class Sample(NamedTuple):
    """One scraped value. ``ts_ms`` is the exposed timestamp in ms, or None when absent."""

    labels: Labels
    value: float
    ts_ms: int | None


@dataclass
class MetricMetadata:
    """What HELP/TYPE/UNIT lines said about one metric family ("" when not said)."""

    type: str = ""
    help: str = ""
    unit: str = ""


@dataclass
class ParseResult:
    samples: list[Sample]
    metadata: dict[str, MetricMetadata]
    format: Format


def format_for(content_type: str | None) -> Format:
    """OpenMetrics for ``application/openmetrics-text``; the text format for anything else
    (Prometheus's fallback for missing or unknown content types)."""
    if content_type and content_type.split(";", 1)[0].strip().lower() == OPENMETRICS_CONTENT_TYPE:
        return "openmetrics"
    return "text"


def parse(data: bytes | str, content_type: str | None = None, *,
          label_cache: dict[str, Labels] | None = None) -> ParseResult:
    """Parse a scraped body, choosing the format from its Content-Type header.

    ``label_cache`` (optional, owned by the caller, e.g. one per scrape loop) maps the raw
    ``name{labels}`` text of a line to its parsed :class:`Labels`, so pages that repeat
    scrape after scrape skip label parsing. It only ever holds valid entries; the caller
    bounds its size.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise ParseError(f"line {line}: invalid UTF-8", line=line) from None
    else:
        text = data
    if format_for(content_type) == "openmetrics":
        return parse_openmetrics(text, label_cache=label_cache)
    return parse_text(text, label_cache=label_cache)


def _error(lineno: int, reason: str, column: int | None = None) -> ParseError:
    return ParseError(f"line {lineno}: {reason}", line=lineno, column=column)


def _line_error(lineno: int, line: str, openmetrics: bool) -> ParseError:
    e = _lex.diagnose_sample(line, openmetrics)
    return _error(lineno, e.reason, e.column)


def _labels(name: str, block: str | None, pair: re.Pattern[str]) -> Labels | None:
    if not block:
        return Labels(((METRIC_NAME, name),))
    pairs = _lex.parse_labels(block, pair)
    if pairs is None or "__name__" in block and any(n == METRIC_NAME for n, _ in pairs):
        return None
    pairs.append((METRIC_NAME, name))
    return Labels(pairs)


def parse_text(text: str, *, label_cache: dict[str, Labels] | None = None) -> ParseResult:
    """Parse the Prometheus text format 0.0.4 (timestamps are integer ms). CRLF line ends
    are accepted."""
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    cache = {} if label_cache is None else label_cache
    samples: list[Sample] = []
    metadata: dict[str, MetricMetadata] = {}
    seen_meta: set[tuple[str, str]] = set()
    match = _lex.TEXT_SAMPLE.fullmatch
    append = samples.append
    for lineno, line in enumerate(text.split("\n"), 1):
        m = match(line) if line[:1] != "#" else None
        if m is not None:
            name, block, value, ts = m.groups()
            key = name + block if block else name
            labels = cache.get(key)
            if labels is None:
                labels = _labels(name, block, _lex.TEXT_PAIR)
                if labels is None:
                    raise _line_error(lineno, line, False)
                cache[key] = labels
            append(Sample(labels, float(value), int(ts) if ts else None))
            continue
        stripped = line.strip(" \t\r")
        if not stripped:
            continue
        if stripped[0] != "#":
            raise _line_error(lineno, line.rstrip("\r"), False)
        meta = _TEXT_META.match(stripped)
        if meta is None:
            continue  # an ordinary comment
        kind = meta.group(1)
        args = _TEXT_META_ARGS.fullmatch(stripped, meta.end())
        if args is None:
            raise _error(lineno, f"expected metric name after # {kind}")
        name, arg = args.group(1), args.group(2) or ""
        if (kind, name) in seen_meta:
            raise _error(lineno, f"second # {kind} line for metric name {name!r}")
        seen_meta.add((kind, name))
        md = metadata.setdefault(name, MetricMetadata())
        if kind == "HELP":
            md.help = _lex.unescape_text_help(arg)
        else:
            arg = arg.strip(" \t")
            if arg not in _TEXT_TYPES:
                raise _error(lineno, f"invalid metric type {arg!r}")
            md.type = arg
    return ParseResult(samples, metadata, "text")


def _om_meta_error(line: str) -> str:
    parts = line.split(" ", 3)
    if parts[0] != "#":
        return "expected '# ' to start a HELP, TYPE, UNIT or EOF line"
    if len(parts) < 2 or parts[1] not in ("HELP", "TYPE", "UNIT"):
        word = parts[1] if len(parts) > 1 else ""
        return f"unknown comment {word!r}: expected HELP, TYPE, UNIT or EOF"
    if len(parts) < 3 or not is_metric_name(parts[2]):
        return f"expected metric name after # {parts[1]}"
    return f"expected ' ' and a value after the metric name in # {parts[1]}"


def _om_exemplar(block: str, lineno: int) -> None:
    pairs = _lex.parse_labels(block, _lex.OM_PAIR)
    if pairs is None:
        raise _error(lineno, "duplicate label name in exemplar")
    if sum(len(n) + len(v) for n, v in pairs) > _EXEMPLAR_MAX_RUNES:
        raise _error(lineno, f"exemplar labels longer than {_EXEMPLAR_MAX_RUNES} characters")


def parse_openmetrics(text: str, *,
                      label_cache: dict[str, Labels] | None = None) -> ParseResult:
    """Parse OpenMetrics 1.0 text (timestamps in seconds, returned as ms)."""
    cache = {} if label_cache is None else label_cache
    samples: list[Sample] = []
    checker = FamilyChecker()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    match = _lex.OM_SAMPLE.fullmatch
    eof = False
    lineno = 0
    try:
        for lineno, line in enumerate(lines, 1):
            m = match(line)
            if m is not None:
                name, block, value, ts, ex_block, _ex_value, _ex_ts = m.groups()
                key = name + block if block else name
                labels = cache.get(key)
                if labels is None:
                    labels = _labels(name, block, _lex.OM_PAIR)
                    if labels is None:
                        raise _line_error(lineno, line, True)
                    cache[key] = labels
                if ex_block is not None:
                    _om_exemplar(ex_block, lineno)
                v = float(value)
                ts_s = float(ts) if ts is not None else None
                checker.sample(name, _label_dict(labels), v, ts_s, ex_block is not None)
                samples.append(Sample(labels, v, round(ts_s * 1000) if ts_s is not None else None))
            elif line.startswith("#"):
                if line == "# EOF":
                    if lineno != len(lines):
                        raise _error(lineno + 1, "unexpected content after # EOF")
                    eof = True
                    break
                mm = _OM_META.fullmatch(line)
                if mm is None:
                    raise _error(lineno, _om_meta_error(line))
                kind, name, arg = mm.groups()
                checker.metadata(kind, name, _lex.unescape_label(arg) if kind == "HELP" else arg)
            elif not line:
                raise _error(lineno, "empty line (not allowed in OpenMetrics)")
            else:
                raise _line_error(lineno, line, True)
        if not eof:
            raise _error(len(lines) + 1, "missing # EOF at end of OpenMetrics text")
        checker.finish()
    except SemanticError as e:
        raise _error(lineno, str(e)) from None
    metadata = {
        name: MetricMetadata(f.type, f.help or "", f.unit or "")
        for name, f in checker.families.items()
    }
    return ParseResult(samples, metadata, "openmetrics")


def _label_dict(labels: Labels) -> dict[str, str]:
    return {k: v for k, v in labels if k != METRIC_NAME}
