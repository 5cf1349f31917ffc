"""Quoting as Go does it (``%q``, ``strconv.Quote``) and PromQL string unquoting."""

from __future__ import annotations

__all__ = ["go_quote", "go_quote_rune", "unquote"]


def go_quote(s: str) -> str:
    """Quote like Go's ``%q`` / ``strconv.Quote`` (printable UTF-8 kept as is)."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_quote_rune(ch: str) -> str:
    if ch == "'":
        return "'\\''"
    inner = go_quote(ch)[1:-1]
    return f"'{inner}'"


def unquote(raw: str) -> str:
    """The value of a STRING token's text (quotes and escapes removed)."""
    if raw[0] == "`":
        return raw[1:-1]
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", "'": "'", '"': '"'}
    pending = bytearray()

    def flush() -> None:
        if pending:
            out.append(pending.decode("utf-8", errors="surrogateescape"))
            pending.clear()

    while i < len(body):
        c = body[i]
        if c != "\\":
            flush()
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            flush()
            out.append(simple[e])
            i += 2
        elif e == "x":
            pending.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif e in "01234567":
            pending.append(int(body[i + 1:i + 4], 8))
            i += 4
        elif e == "u":
            flush()
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        else:  # U
            flush()
            out.append(chr(int(body[i + 2:i + 10], 16)))
            i += 10
    flush()
    return "".join(out)
