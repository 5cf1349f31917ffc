"""The functions ``line_format`` and ``label_format`` templates may call, as Loki documents
them (its template functions page): Go's ``strings`` functions by their Go names and the
sprig-style lower-case ones Loki registers (``lower``, ``replace``, ``trunc``, ``default``,
``regexReplaceAll``, ``unixEpoch``...)."""

from __future__ import annotations

import base64
import json
import math
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from vigil.gocompat.floats import parse_float
from vigil.logs.logql._gotime import GoTime, format_layout, parse_layout
from vigil.logs.logql.units import parse_bytes, parse_go_duration
from vigil.model.regex import compile_go

__all__ = ["template_functions"]


def _s(v: Any) -> str:
    return v if isinstance(v, str) else str(v)


def _num(v: Any) -> float:
    return v if isinstance(v, (int, float)) else parse_float(_s(v))


def _trunc(n: Any, s: Any) -> str:
    n, s = int(_num(n)), _s(s)
    return s[:n] if n >= 0 else s[n:]


def _substr(start: Any, end: Any, s: Any) -> str:
    s, a, b = _s(s), int(_num(start)), int(_num(end))
    if a < 0:
        return s[:b]
    if b < 0 or b > len(s):
        return s[a:]
    return s[a:b]


def _indent(n: Any, s: Any) -> str:
    pad = " " * int(_num(n))
    return pad + _s(s).replace("\n", "\n" + pad)


def _default(default: Any, *given: Any) -> Any:
    if not given or given[0] in ("", None, 0, False):
        return default
    return given[0]


def _time(v: Any) -> GoTime:
    if isinstance(v, GoTime):
        return v
    raise ValueError(f"expected a time, got {v!r}")


def _unix_to_time(epoch: Any) -> GoTime:
    text = _s(epoch)
    # By its number of digits: days, seconds, milliseconds, microseconds or nanoseconds.
    scale = {5: 86_400 * 10**9, 10: 10**9, 13: 10**6, 16: 10**3, 19: 1}.get(len(text))
    if scale is None or not text.isdigit():
        raise ValueError(f"unable to parse time {text!r}")
    return GoTime(int(text) * scale)


def _from_json(v: Any) -> Any:
    try:
        return json.loads(_s(v))
    except ValueError:
        return ""


def _round(v: Any, places: Any, half: Any = 0.5) -> float:
    scale = 10 ** int(_num(places))
    x = _num(v) * scale
    whole = math.floor(x)
    return (whole + (1 if x - whole >= _num(half) else 0)) / scale


def _now() -> GoTime:
    return GoTime(time.time_ns())


def template_functions() -> dict[str, Callable[..., Any]]:
    return {
        # Go strings package names
        "ToLower": lambda s: _s(s).lower(),
        "ToUpper": lambda s: _s(s).upper(),
        "Replace": lambda s, old, new, n: _s(s).replace(_s(old), _s(new), int(n)),
        "Trim": lambda s, cut: _s(s).strip(_s(cut)),
        "TrimLeft": lambda s, cut: _s(s).lstrip(_s(cut)),
        "TrimRight": lambda s, cut: _s(s).rstrip(_s(cut)),
        "TrimPrefix": lambda s, p: _s(s).removeprefix(_s(p)),
        "TrimSuffix": lambda s, p: _s(s).removesuffix(_s(p)),
        "TrimSpace": lambda s: _s(s).strip(),
        # sprig-style functions (argument order as sprig: the piped value last)
        "lower": lambda s: _s(s).lower(),
        "upper": lambda s: _s(s).upper(),
        "title": lambda s: _s(s).title(),
        "trunc": _trunc,
        "substr": _substr,
        "replace": lambda old, new, s: _s(s).replace(_s(old), _s(new)),
        "trim": lambda s: _s(s).strip(),
        "trimAll": lambda cut, s: _s(s).strip(_s(cut)),
        "trimPrefix": lambda p, s: _s(s).removeprefix(_s(p)),
        "trimSuffix": lambda p, s: _s(s).removesuffix(_s(p)),
        "contains": lambda sub, s: _s(sub) in _s(s),
        "hasPrefix": lambda p, s: _s(s).startswith(_s(p)),
        "hasSuffix": lambda p, s: _s(s).endswith(_s(p)),
        "indent": _indent,
        "nindent": lambda n, s: "\n" + _indent(n, s),
        "repeat": lambda n, s: _s(s) * int(_num(n)),
        "default": _default,
        "count": lambda regex, s: len(compile_go(_s(regex)).findall(_s(s))),
        "regexReplaceAll": lambda r, s, repl: compile_go(_s(r)).sub(
            _s(repl).replace("\\", "\\\\").replace("${", "\\g<").replace("}", ">"), _s(s)),
        "regexReplaceAllLiteral": lambda r, s, repl: compile_go(_s(r)).sub(
            lambda _m: _s(repl), _s(s)),
        "urlencode": lambda s: urllib.parse.quote_plus(_s(s)),
        "urldecode": lambda s: urllib.parse.unquote_plus(_s(s)),
        "b64enc": lambda s: base64.b64encode(_s(s).encode()).decode(),
        "b64dec": lambda s: base64.b64decode(_s(s)).decode(errors="replace"),
        "date": lambda layout, t: format_layout(_time(t), _s(layout)),
        "now": _now,
        "toDate": lambda layout, text: parse_layout(_s(layout), _s(text)),
        "toDateInZone": lambda layout, zone, text: parse_layout(_s(layout), _s(text), _s(zone)),
        "unixEpoch": lambda t: str(_time(t).ns // 1_000_000_000),
        "unixEpochMillis": lambda t: str(_time(t).ns // 1_000_000),
        "unixEpochNanos": lambda t: str(_time(t).ns),
        "unixToTime": _unix_to_time,
        "duration": lambda v: parse_go_duration(_s(v)) / 1e9,
        "duration_seconds": lambda v: parse_go_duration(_s(v)) / 1e9,
        "bytes": lambda v: parse_bytes(_s(v)),
        "alignLeft": lambda n, s: _s(s)[:int(_num(n))].ljust(int(_num(n))),
        "alignRight": lambda n, s: _s(s)[-int(_num(n)):].rjust(int(_num(n))),
        "fromJson": _from_json,
        "int": lambda v: int(_num(v)),
        "float64": lambda v: float(_num(v)),
        "add": lambda *v: sum(int(_num(x)) for x in v),
        "sub": lambda a, b: int(_num(a)) - int(_num(b)),
        "mul": lambda *v: math.prod(int(_num(x)) for x in v),
        "div": lambda a, b: int(int(_num(a)) / int(_num(b))),
        "mod": lambda a, b: int(math.fmod(int(_num(a)), int(_num(b)))),
        "addf": lambda *v: float(sum(_num(x) for x in v)),
        "subf": lambda a, *v: float(_num(a) - sum(_num(x) for x in v)),
        "mulf": lambda *v: float(math.prod(_num(x) for x in v)),
        "divf": lambda a, *v: float(_num(a) / math.prod(_num(x) for x in v)),
        "ceil": lambda v: float(math.ceil(_num(v))),
        "floor": lambda v: float(math.floor(_num(v))),
        "round": _round,
        "max": lambda a, *v: max(int(_num(x)) for x in (a, *v)),
        "min": lambda a, *v: min(int(_num(x)) for x in (a, *v)),
        "maxf": lambda a, *v: max(float(_num(x)) for x in (a, *v)),
        "minf": lambda a, *v: min(float(_num(x)) for x in (a, *v)),
    }
