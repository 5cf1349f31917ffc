"""LogQL's parser stages: ``json``, ``logfmt``, ``pattern``, ``regexp`` and ``unpack``.

Each takes a line and returns the labels it extracts, or raises :class:`ExtractError` (the
pipeline then sets ``__error__``, as Loki does, and keeps the line). Semantics follow Loki's
documentation: ``json`` flattens nested objects into ``a_b`` names and skips arrays and nulls;
``logfmt`` (read by :mod:`~._logfmt`) skips keys without a value unless ``--keep-empty``;
a ``pattern`` is literals and ``<name>``/``<_>`` captures, a capture
taking the text up to the next literal; ``unpack`` takes the string fields of a JSON object and
makes its ``_entry`` field the line.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from vigil.logs.logql._logfmt import scan_logfmt
from vigil.model.labels import is_label_name

__all__ = ["ExtractError", "compile_pattern", "extract_json", "extract_json_paths",
           "extract_logfmt", "sanitize_key", "unpack"]


class ExtractError(Exception):
    """A line the parser could not read; ``kind`` is Loki's ``__error__`` value."""

    def __init__(self, kind: str, details: str,
                 extracted: list[tuple[str, str]] | None = None) -> None:
        super().__init__(details)
        self.kind = kind
        self.details = details
        self.extracted = extracted or []  # what was read before the error


_INVALID_KEY_CHAR = re.compile(r"[^A-Za-z0-9_]")


@functools.lru_cache(maxsize=4096)  # the same few keys come back on every line
def sanitize_key(key: str, first: bool = True) -> str:
    """A JSON or logfmt key as a label name: other characters become ``_``, and a leading
    digit gets a ``_`` before it (only in the first part of a nested JSON name)."""
    key = _INVALID_KEY_CHAR.sub("_", key.strip())
    if first and key[:1].isdigit():
        key = "_" + key
    return key


# ---------------------------------------------------------------------- json


class RawNumber(str):
    """A JSON number kept as written (Loki hands numbers on as their text)."""


def _number_as_text(text: str) -> str:
    return RawNumber(text)


def _dump(value: object) -> str:
    """JSON text of a parsed value, numbers as they were written."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_dump(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    if isinstance(value, RawNumber):
        return str.__str__(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


_DECODER = json.JSONDecoder(parse_float=_number_as_text, parse_int=_number_as_text,
                            parse_constant=_number_as_text)


def _load(line: str) -> object:
    try:
        if line[:1] == "{":  # the usual line: one object, no whitespace around it
            doc, end = _DECODER.raw_decode(line)
            if end == len(line):
                return doc
        return _DECODER.decode(line)  # anything else, with json's own messages
    except json.JSONDecodeError as exc:
        raise ExtractError("JSONParserErr", f"{exc.msg} at offset {exc.pos}") from None


def extract_json(line: str) -> list[tuple[str, str]]:
    """Every string, number and boolean of a JSON object, nested names joined with ``_``."""
    doc = _load(line)
    if not isinstance(doc, dict):
        raise ExtractError("JSONParserErr", "expecting json object(6), but it is not")
    out: list[tuple[str, str]] = []
    _flatten(doc, "", out)
    return out


# Label names by prefix (the nested object's name, "" at the top) and key: the same few keys
# come back on every line, so each is sanitized once.
_NAMES: dict[str, dict[str, str]] = {}


def _name(prefix: str, key: str, names: dict[str, str]) -> str:
    name = sanitize_key(key, not prefix)
    if name and prefix:
        name = f"{prefix}_{name}"
    if len(names) < 1024:
        names[key] = name
    return name


def _flatten(obj: dict[str, object], prefix: str, out: list[tuple[str, str]]) -> None:
    names = _NAMES.get(prefix)
    if names is None:
        names = {} if len(_NAMES) >= 1024 else _NAMES.setdefault(prefix, {})
    for key, value in obj.items():
        name = names.get(key)
        if name is None:
            name = _name(prefix, key, names)
        if not name:
            continue
        kind = type(value)
        if kind is str or kind is RawNumber:
            out.append((name, value))  # type: ignore[arg-type]
        elif kind is dict:
            _flatten(value, name, out)  # type: ignore[arg-type]
        elif kind is bool:
            out.append((name, "true" if value else "false"))
        # arrays and nulls are not extracted (Loki's json parser skips them)


_PATH_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def parse_json_path(expression: str) -> list[str | int]:
    """``a.b[0]["c d"]`` as its steps; ValueError when it is not such a path."""
    steps: list[str | int] = []
    pos = 0
    while pos < len(expression):
        m = _PATH_PART.match(expression, pos)
        if m is None or (pos == 0 and expression.startswith(".")):
            raise ValueError(f"invalid JSON expression {expression!r}")
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            steps.append(json.loads(f'"{m.group(3)}"'))
        pos = m.end()
    return steps


def extract_json_paths(line: str, paths: list[tuple[str, list[str | int]]]) -> list[tuple[str, str]]:
    """``| json name="path"``: each path's value (objects and arrays as JSON text, a missing
    path as the empty string)."""
    doc = _load(line)
    out = []
    for name, steps in paths:
        value: object = doc
        for step in steps:
            if isinstance(step, int) and isinstance(value, list) and step < len(value):
                value = value[step]
            elif isinstance(step, str) and isinstance(value, dict) and step in value:
                value = value[step]
            else:
                value = None
                break
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            text = _dump(value)
        else:
            text = str(value)
        out.append((name, text))
    return out


def unpack(line: str) -> tuple[list[tuple[str, str]], str]:
    """The string fields of a JSON object, and the line (its ``_entry`` field, when there is one)."""
    doc = _load(line)
    if not isinstance(doc, dict):
        raise ExtractError("JSONParserErr", "expecting json object(6), but it is not")
    labels = []
    for key, value in doc.items():
        if key == "_entry" and isinstance(value, str):
            line = value
        elif isinstance(value, str) and not isinstance(value, RawNumber):
            labels.append((key, value))
    return labels, line


# ---------------------------------------------------------------------- logfmt

def extract_logfmt(line: str, strict: bool, keep_empty: bool) -> list[tuple[str, str]]:
    """The labels of a logfmt line; with ``strict``, ExtractError at the first malformed
    pair (its ``extracted`` holds the labels read before it)."""
    pairs, error = scan_logfmt(line, strict)
    out = [(sanitize_key(k), v or "") for k, v in pairs if v or keep_empty]
    if error:
        raise ExtractError("LogfmtParserErr", error, out)
    return out


# ---------------------------------------------------------------------- pattern

_CAPTURE = re.compile(r"<(_|[A-Za-z_][A-Za-z0-9_]*)>")


@dataclass(frozen=True)
class Pattern:
    """Literals and captures in order: ``("lit", text)`` or ``("cap", name)`` (``_`` unnamed)."""
    nodes: tuple[tuple[str, str], ...]

    def names(self) -> list[str]:
        return [v for k, v in self.nodes if k == "cap" and v != "_"]

    def match(self, line: str) -> list[tuple[str, str]] | None:
        """The named captures of ``line``, or None when its leading literal does not start it."""
        if not line:
            return None
        nodes = list(self.nodes)
        rest = line
        if nodes and nodes[0][0] == "lit":
            if not rest.startswith(nodes[0][1]):
                return None
            rest = rest[len(nodes[0][1]):]
            nodes = nodes[1:]
        if not nodes:
            return None
        out: list[tuple[str, str]] = []
        while nodes:
            name = nodes[0][1]
            if len(nodes) == 1:  # ending on a capture: it takes the rest
                if name != "_":
                    out.append((name, rest))
                return out
            literal = nodes[1][1]
            nodes = nodes[2:]
            i = rest.find(literal)
            if i < 0:
                if name != "_":
                    out.append((name, rest))
                return out
            if name != "_":
                out.append((name, rest[:i]))
            rest = rest[i + len(literal):]
        return out

    def test(self, line: str) -> bool:
        """Whether the whole line fits the pattern (``|>`` line filters)."""
        rest = line
        nodes = list(self.nodes)
        if nodes and nodes[0][0] == "lit":
            if not rest.startswith(nodes[0][1]):
                return False
            rest = rest[len(nodes[0][1]):]
            nodes = nodes[1:]
        for i, (kind, text) in enumerate(nodes):
            if kind != "lit":
                continue
            if i == len(nodes) - 1:
                return rest.endswith(text)
            j = rest.find(text)
            if j < 0:
                return False
            rest = rest[j + len(text):]
        return True


def compile_pattern(text: str, line_filter: bool = False) -> Pattern:
    """A pattern; ValueError in Loki's words when it is not a valid one."""
    nodes: list[tuple[str, str]] = []
    pos = 0
    for m in _CAPTURE.finditer(text):
        if m.start() > pos:
            nodes.append(("lit", text[pos:m.start()]))
        nodes.append(("cap", m.group(1)))
        pos = m.end()
    if pos < len(text):
        nodes.append(("lit", text[pos:]))
    pattern = Pattern(tuple(nodes))
    for a, b in zip(nodes, nodes[1:], strict=False):
        if a[0] == b[0] == "cap":
            raise ValueError(f"found consecutive capture '<{a[1]}><{b[1]}>': invalid expression")
    if line_filter:
        for kind, name in nodes:
            if kind == "cap" and name != "_":
                raise ValueError(f"named captures are not allowed: found '<{name}>'")
        return pattern
    names = pattern.names()
    if not names:
        raise ValueError("at least one capture is required")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate capture name ({name}): invalid expression")
        seen.add(name)
    return pattern


# ---------------------------------------------------------------------- regexp


def regexp_extractor(regex: re.Pattern[str]) -> Callable[[str], list[tuple[str, str]]]:
    names = [n for n in regex.groupindex if is_label_name(n)]

    def extract(line: str) -> list[tuple[str, str]]:
        m = regex.search(line)
        if m is None:
            return []
        return [(n, m.group(n)) for n in names if m.group(n) is not None]

    return extract
