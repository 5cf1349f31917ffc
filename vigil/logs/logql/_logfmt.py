"""The logfmt reader of ``| logfmt``: ``key=value key="quoted value" lonely``.

As Loki reads logfmt: a key runs to ``=``, a space or the end (a bare key has no value); an
unquoted value runs to the next space, and ``=`` or ``"`` inside it is a syntax error; a quoted
value takes Go escapes. Without ``--strict`` a malformed pair is skipped and reading goes on at
the next space; with it, reading stops there and the error (``logfmt syntax error at pos N :
unexpected '"'``) is reported with what was read before it. Keys without a value are kept
(with an empty value) only with ``--keep-empty``.
"""

from __future__ import annotations

import json

__all__ = ["scan_logfmt"]


class _Syntax(Exception):
    def __init__(self, pos: int, msg: str) -> None:
        super().__init__(f"logfmt syntax error at pos {pos + 1} : {msg}")
        self.pos = pos


def _unexpected(ch: str) -> str:
    return "unexpected " + json.dumps(ch).replace('"', "'") if ch != '"' else "unexpected '\"'"


def _pair(line: str, pos: int) -> tuple[str, str | None, int]:
    """One pair starting at ``pos`` (not a space): key, value (None when it has none), end."""
    n = len(line)
    start = pos
    while pos < n and line[pos] > " " and line[pos] not in '="':
        pos += 1
    if pos < n and line[pos] == '"':
        raise _Syntax(pos, "unexpected '\"'")
    key = line[start:pos]
    if pos >= n or line[pos] <= " ":
        return key, None, pos
    if not key:  # "=value"
        raise _Syntax(pos, "unexpected '='")
    pos += 1  # the "="
    if pos >= n or line[pos] <= " ":
        return key, None, pos
    if line[pos] == '"':
        end = pos + 1
        while end < n and line[end] != '"':
            end += 2 if line[end] == "\\" else 1
        if end >= n:
            raise _Syntax(n, "unterminated quoted value")
        raw = line[pos:end + 1]
        try:
            value = json.loads(raw) if "\\" in raw else raw[1:-1]
        except ValueError:
            raise _Syntax(end + 1, "invalid quoted value") from None
        return key, value or None, end + 1
    start = pos
    while pos < n and line[pos] > " ":
        if line[pos] in '="':
            raise _Syntax(pos, _unexpected(line[pos]))
        pos += 1
    return key, line[start:pos], pos


def scan_logfmt(line: str, strict: bool) -> tuple[list[tuple[str, str | None]], str]:
    """The pairs of ``line`` in order, and the syntax error that stopped a strict reading
    ("" when none)."""
    out: list[tuple[str, str | None]] = []
    pos, n = 0, len(line)
    while True:
        while pos < n and line[pos] <= " ":
            pos += 1
        if pos >= n:
            return out, ""
        try:
            key, value, pos = _pair(line, pos)
        except _Syntax as exc:
            if strict:
                return out, str(exc)
            pos = exc.pos
            while pos < n and line[pos] > " ":  # skip the rest of the malformed pair
                pos += 1
            continue
        out.append((key, value))
