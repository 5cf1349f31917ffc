"""Numbers, times and JSON written byte-for-byte the way Prometheus's Go server writes them.

Grafana and other Prometheus clients parse these responses; matching Go's spelling (shortest
round-trip digits, ``+Inf``, ``1e-07``, RFC 3339 with trimmed nanoseconds) keeps diffs
against a real Prometheus empty.

* :func:`format_sample_value` - a sample value in a query result (Prometheus ``jsonutil``).
* :func:`format_float_f` / :func:`format_float_e` - Go ``strconv.FormatFloat(f, 'f'|'e', -1, 64)``.
* :func:`format_timestamp` - a sample timestamp (int ms) as the JSON number of seconds.
* :func:`rfc3339` - a ``time.Time`` as Go's JSON encodes it (zero time for ``None``).
* :func:`format_duration` - seconds as a Prometheus ``model.Duration`` string (``1m30s``).
* :func:`dumps` - compact JSON as Go's ``encoding/json`` writes it; :class:`Raw` embeds a
  fragment that is already JSON.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal

__all__ = [
    "Raw",
    "dumps",
    "format_duration",
    "format_float_e",
    "format_float_f",
    "format_sample_value",
    "format_timestamp",
    "json_float",
    "json_string",
    "rfc3339",
]


def _special(f: float) -> str | None:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return None


def _shortest(f: float) -> tuple[bool, str, int]:
    """(negative, digits, exponent) with ``f == ±int(digits) * 10**exponent`` and the
    fewest digits that round-trip (Python's repr and Go's shortest formatting agree)."""
    sign, digit_tuple, exponent = Decimal(repr(f)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0") or "0"
    stripped = digits.rstrip("0") or "0"
    exponent += len(digits) - len(stripped)
    if stripped == "0":
        exponent = 0
    return bool(sign), stripped, exponent


def format_float_f(f: float) -> str:
    """Go's ``strconv.FormatFloat(f, 'f', -1, 64)``: positional, shortest round-trip digits."""
    text = repr(f)
    if "e" not in text and text[-1] != "n" and text[-1] != "f":
        # Fast path: between 1e-4 and 1e16 repr is already positional and shortest.
        return text[:-2] if text.endswith(".0") else text
    special = _special(f)
    if special is not None:
        return special
    negative, digits, exponent = _shortest(f)
    if exponent >= 0:
        text = digits + "0" * exponent
    else:
        point = len(digits) + exponent
        if point > 0:
            text = digits[:point] + "." + digits[point:]
        else:
            text = "0." + "0" * (-point) + digits
    return ("-" if negative else "") + text


def format_float_e(f: float) -> str:
    """Go's ``strconv.FormatFloat(f, 'e', -1, 64)``, e.g. ``1e+00``, ``4.25e-07``."""
    special = _special(f)
    if special is not None:
        return special
    negative, digits, exponent = _shortest(f)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = len(digits) - 1 + exponent if digits != "0" else 0
    return f"{'-' if negative else ''}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def format_sample_value(f: float) -> str:
    """A sample value as the string Prometheus puts in query results: positional notation,
    except exponent notation below 1e-6 and from 1e21 on; ``+Inf``, ``-Inf``, ``NaN``."""
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):  # False for NaN
        return format_float_e(f)
    return format_float_f(f)


def json_float(f: float) -> str:
    """A float as Go's encoding/json writes it (``1e-7`` not ``1e-07``)."""
    if not math.isfinite(f):
        raise ValueError(f"JSON cannot represent {f}")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        text = format_float_e(f)
        if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
            text = text[:-2] + text[-1]
        return text
    return format_float_f(f)


def format_timestamp(ts_ms: int) -> str:
    """Seconds as a JSON number, with the milliseconds always written as three digits
    (``1.500``), the way Prometheus writes sample timestamps."""
    sign = "-" if ts_ms < 0 else ""
    ts_ms = abs(ts_ms)
    seconds, fraction = divmod(ts_ms, 1000)
    return f"{sign}{seconds}.{fraction:03d}" if fraction else f"{sign}{seconds}"


def rfc3339(dt: datetime | None) -> str:
    """RFC 3339 in UTC with trailing zeros of the fraction trimmed; ``None`` is Go's zero time.
    A naive datetime is taken to be UTC."""
    if dt is None:
        return "0001-01-01T00:00:00Z"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += "." + f"{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


_DAY_MS = 86_400_000
_DURATION_UNITS = (("y", 365 * _DAY_MS, True), ("w", 7 * _DAY_MS, True), ("d", _DAY_MS, False),
                   ("h", 3_600_000, False), ("m", 60_000, False), ("s", 1000, False),
                   ("ms", 1, False))


def format_duration(seconds: float) -> str:
    """A duration as Prometheus's ``model.Duration`` prints it: ``15s``, ``1m30s``, ``90d``.
    Years and weeks are used only when they divide the duration exactly."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = ""
    for unit, size, exact in _DURATION_UNITS:
        if exact and ms % size:
            continue
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out


class Raw(str):
    """A string that :func:`dumps` writes verbatim because it is already JSON."""

    __slots__ = ()


_HTML_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                               "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_string(s: str) -> str:
    """A JSON string literal as Go writes it (UTF-8 kept, ``<>&`` escaped for HTML safety)."""
    return json.dumps(s, ensure_ascii=False).translate(_HTML_ESCAPES)


def dumps(obj: object) -> str:
    """Compact JSON with Go's spelling of strings and floats. Dicts keep insertion order;
    :class:`Raw` fragments are inserted as they are. Non-finite floats raise ValueError."""
    if isinstance(obj, Raw):
        return str(obj)
    if isinstance(obj, str):
        return json_string(obj)
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return json_float(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json_string(str(k))}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")
