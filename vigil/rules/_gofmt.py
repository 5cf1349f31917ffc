"""Go ``fmt`` formatting of the values templates print, so expanded text matches Prometheus.

Only what templates need: ``%v`` of the value kinds a template sees (string, float64, int,
bool, nil, maps, slices, structs) and ``Sprintf`` with the common verbs.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any


class GoStruct(dict[str, Any]):
    """A Go struct value: field access to a missing field is an error (a map gives "")."""

    type_name = "struct"


def go_type(v: Any) -> str:
    """The Go type name of a value, for error messages."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, GoStruct):
        return v.type_name
    if isinstance(v, dict):
        return "map[string]string"
    if isinstance(v, list):
        return "[]interface {}"
    return type(v).__name__


def _digits(v: float) -> tuple[str, int]:
    """Shortest decimal digits of ``abs(v)`` and the decimal point position (Go ``digs.dp``)."""
    sign, digits, exp = Decimal(repr(abs(v))).as_tuple()
    ds = "".join(map(str, digits)).lstrip("0")
    dp = len("".join(map(str, digits))) + int(exp) - (len("".join(map(str, digits))) - len(ds))
    stripped = ds.rstrip("0")
    return stripped or "0", dp


def format_float_v(v: float) -> str:
    """Go ``%v`` of a float64: shortest digits, exponent form when exp < -4 or >= 6 (``1e+06``)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    ds, dp = _digits(v)
    sign = "-" if v < 0 else ""
    exp = dp - 1
    # strconv 'g' with the shortest precision decides %e vs %f as if the precision were 6.
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{ds}"
    if dp >= len(ds):
        return sign + ds + "0" * (dp - len(ds))
    return f"{sign}{ds[:dp]}.{ds[dp:]}"


def go_str(v: Any) -> str:
    """Go ``fmt.Sprint`` of a template value (what ``{{ x }}`` prints)."""
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float_v(v)
    if isinstance(v, str):
        return v
    if isinstance(v, GoStruct):
        return "{" + " ".join(_inner(x) for x in v.values()) + "}"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_inner(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_inner(x) for x in v) + "]"
    return str(v)


def _inner(v: Any) -> str:
    return "<nil>" if v is None else go_str(v)


def format_g(v: float, prec: int) -> str:
    """Go ``%.<prec>g`` (Python's %g agrees on finite values; NaN/Inf are spelled as Go does)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"%.{prec}g" % v


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def sprintf(fmt: str, *args: Any) -> str:
    """Go ``fmt.Sprintf`` for the verbs v s d f F e E g G x X o q t c and %%."""
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
        extra = ", ".join(f"{go_type(a)}={go_str(a)}" for a in args[argi:])
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
    return f"%!{verb}({go_type(arg)}={go_str(arg)})"


def _format_one(flags: str, width: str | None, prec: str | None, verb: str, arg: Any) -> str:
    pyflags = "".join(f for f in flags if f in "+ ")
    if verb == "v":
        s = go_str(arg)
    elif verb == "s":
        if isinstance(arg, (str, list, dict)) or arg is None:
            s = go_str(arg)
        else:
            return _bad(verb, arg)
        if prec is not None:
            s = s[: int(prec)]
    elif verb == "q":
        if not isinstance(arg, str):
            return _bad(verb, arg)
        s = json.dumps(arg, ensure_ascii=False)
    elif verb == "t":
        if not isinstance(arg, bool):
            return _bad(verb, arg)
        s = go_str(arg)
    elif verb in "dxXoc":
        if isinstance(arg, str) and verb in "xX":
            s = arg.encode().hex()
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
        if math.isnan(arg) or math.isinf(arg):
            s = format_g(arg, 6)
            if pyflags and s[0] not in "+-":
                s = pyflags[0] + s
        elif verb in "gG" and prec is None:
            s = format_float_v(arg)
            if "+" in pyflags and arg >= 0:
                s = "+" + s
        else:
            p = 6 if prec is None else int(prec)
            s = f"%{pyflags}.{p}{verb}" % arg
    else:
        return f"%!{verb}({go_type(arg)}={go_str(arg)})"
    return _pad(s, flags, width)
