"""Go ``fmt.Sprintf`` for the verbs templates use (``printf``), so expanded text matches
Prometheus and Alertmanager: ``v s d f F e E g G x X o q t c`` and ``%%``, with flags, width
and precision, and Go's ``%!verb(type=value)`` / ``%!(EXTRA ...)`` / ``%!v(MISSING)`` marks."""

from __future__ import annotations

import re
from typing import Any

from vigil.gocompat.floats import format_float
from vigil.gocompat.quote import quote, quote_rune
from vigil.gocompat.template.values import go_str, go_type

__all__ = ["sprintf"]

_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def sprintf(fmt: str, *args: Any) -> str:
    """Go ``fmt.Sprintf(fmt, args...)``."""
    out: list[str] = []
    pos = 0
    argi = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if width == "*" or prec == "*":
            out.append("%!(BADWIDTH)")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(_format_one(flags, width, prec, verb, arg))
    out.append(fmt[pos:])
    if argi < len(args):
        extra = ", ".join("<nil>" if a is None else f"{go_type(a)}={go_str(a)}"
                          for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _pad(s: str, flags: str, width: str | None) -> str:
    if not width:
        return s
    w = int(width)
    if "-" in flags:
        return s.ljust(w)
    if "0" in flags and s[:1] in "+-" and s[1:2].isdigit():
        return s[0] + s[1:].rjust(w - 1, "0")
    if "0" in flags and (s[:1].isdigit()):
        return s.rjust(w, "0")
    return s.rjust(w)


def _bad(verb: str, arg: Any) -> str:
    if arg is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(arg)}={go_str(arg)})"


def _format_float(flags: str, prec: str | None, verb: str, arg: float) -> str:
    """Go's ``fmt.fmtFloat``: the sign rules for ``+`` and space, ``+Inf`` always signed,
    ``NaN`` signed only when asked."""
    # %v/%g without a precision is the shortest spelling; F is f (Go has no upper-case f).
    fmt = "f" if verb == "F" else verb
    digits = -1 if prec is None and verb in "gG" else 6 if prec is None else int(prec)
    text = format_float(arg, fmt, digits)
    num = text if text[0] in "+-" else "+" + text
    plus, space = "+" in flags, " " in flags
    if space and num[0] == "+" and not plus:
        num = " " + num[1:]
    if num[1] == "N" and not space and not plus:
        return num[1:]
    if num[1] in "IN" or plus or num[0] != "+":
        return num
    return num[1:]


def _format_one(flags: str, width: str | None, prec: str | None, verb: str, arg: Any) -> str:
    pyflags = "".join(f for f in flags if f in "+ ")
    if verb == "v":
        s = "<nil>" if arg is None else go_str(arg)
    elif verb == "s":
        if isinstance(arg, (str, list, dict)):
            s = go_str(arg)
        else:
            return _bad(verb, arg)
        if prec is not None:
            s = s[: int(prec)]
    elif verb == "q":
        if isinstance(arg, str):
            s = quote(arg)
        elif isinstance(arg, int) and not isinstance(arg, bool):
            s = quote_rune(arg)
        else:
            return _bad(verb, arg)
    elif verb == "t":
        if not isinstance(arg, bool):
            return _bad(verb, arg)
        s = go_str(arg)
    elif verb in "dxXoc":
        if isinstance(arg, str) and verb in "xX":
            s = arg.encode("utf-8", "surrogateescape").hex()
            s = s.upper() if verb == "X" else s
        elif not isinstance(arg, int) or isinstance(arg, bool):
            return _bad(verb, arg)
        elif verb == "c":
            s = chr(arg)
        else:
            s = format(arg, pyflags + {"d": "d", "x": "x", "X": "X", "o": "o"}[verb])
    elif verb in "eEfFgG":
        if not isinstance(arg, float):
            return _bad(verb, arg)
        s = _format_float(flags, prec, verb, arg)
    else:
        return _bad(verb, arg)
    return _pad(s, flags, width)
