"""Go's ``strconv.Quote`` / ``QuoteRune`` (what ``%q`` prints) and ``strconv.Unquote``.

A Go string is bytes; a Vigil string is text. Bytes that are not valid UTF-8 reach Vigil as
the code points U+DC80..U+DCFF (Python's ``surrogateescape``, which is how :func:`unquote`
decodes ``"\\xc5"``), and Go writes each such byte as ``\\xHH``. Any other surrogate code point
is, to Go, three invalid bytes (its UTF-8 spelling), each written ``\\xHH``.
"""

from __future__ import annotations

__all__ = ["quote", "quote_rune", "unquote"]

# Go's appendEscapedRune: the escapes with a letter of their own.
_NAMED_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                  "\t": "\\t", "\v": "\\v"}
_ESCAPED_BYTES = range(0xDC80, 0xDD00)  # surrogateescape's home for the bytes 0x80..0xFF
_SURROGATES = range(0xD800, 0xE000)
_MAX_RUNE = 0x10FFFF


def _is_print(ch: str) -> bool:
    """Go ``strconv.IsPrint``: letters, marks, numbers, punctuation, symbols and U+0020.
    Python's ``isprintable`` draws the same line (it excludes Cc Cf Cs Co Cn Zl Zp Zs but
    keeps the ASCII space)."""
    return ch.isprintable()


def _escape(ch: str, quote_char: str, out: list[str]) -> None:
    """Append one rune as Go's ``appendEscapedRune`` writes it (Quote, not QuoteToASCII)."""
    if ch == quote_char or ch == "\\":
        out.append("\\" + ch)
        return
    if _is_print(ch):
        out.append(ch)
        return
    named = _NAMED_ESCAPES.get(ch)
    if named is not None:
        out.append(named)
        return
    code = ord(ch)
    if code < 0x20 or code == 0x7F:
        out.append(f"\\x{code:02x}")
    elif code < 0x10000:
        out.append(f"\\u{code:04x}")
    else:
        out.append(f"\\U{code:08x}")


def quote(s: str) -> str:
    """Go ``strconv.Quote(s)`` (and ``fmt``'s ``%q`` of a string): a double-quoted Go string
    literal; printable runes stay as they are, others are escaped, invalid bytes are ``\\xHH``."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if code in _SURROGATES:
            raw = bytes([code - 0xDC00]) if code in _ESCAPED_BYTES else \
                ch.encode("utf-8", "surrogatepass")
            out.extend(f"\\x{b:02x}" for b in raw)
        else:
            _escape(ch, '"', out)
    out.append('"')
    return "".join(out)


def quote_rune(r: str | int) -> str:
    """Go ``strconv.QuoteRune(r)`` (and ``%q`` of a rune): a single-quoted Go character
    literal. A value that is not a valid rune (a surrogate, > U+10FFFF) becomes U+FFFD."""
    code = ord(r) if isinstance(r, str) else r
    if code in _SURROGATES or not 0 <= code <= _MAX_RUNE:
        code = 0xFFFD
    out = ["'"]
    _escape(chr(code), "'", out)
    out.append("'")
    return "".join(out)


_SIMPLE_UNESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                     "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def unquote(raw: str) -> str:
    """The value of a Go (or PromQL) string literal that is already known to be well formed:
    ``"..."``, ``'...'`` or a raw ```...```. ``\\xHH`` and octal escapes are bytes; bytes
    that do not form UTF-8 become U+DC80..U+DCFF (see the module docstring)."""
    if raw[0] == "`":
        return raw[1:-1]
    body = raw[1:-1]
    out: list[str] = []
    pending = bytearray()

    def flush() -> None:
        if pending:
            out.append(pending.decode("utf-8", errors="surrogateescape"))
            pending.clear()

    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            flush()
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in _SIMPLE_UNESCAPES:
            flush()
            out.append(_SIMPLE_UNESCAPES[e])
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
