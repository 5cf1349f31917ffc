"""Floats as Go writes and reads them.

* :func:`format_float` - ``strconv.FormatFloat(f, fmt, prec, 64)`` for ``'e' 'E' 'f' 'g' 'G'``;
  ``prec=-1`` is the shortest spelling that reads back as the same float.
* :func:`format_float_f` / :func:`format_float_e` / :func:`format_float_v` - the three
  shortest forms callers use most: ``'f'`` (PromQL's printer, ``count_values`` labels),
  ``'e'`` (alert values in the API) and ``%v`` = ``'g'`` (what a Go template prints).
* :func:`format_sample_value` - a sample value as Prometheus's API writes it (``jsonutil``:
  ``'f'``, but ``'e'`` below 1e-6 and from 1e21).
* :func:`format_json_float` - a float64 as Go's ``encoding/json`` writes it (``1e-7``, not
  ``1e-07``).
* :func:`parse_float` - ``strconv.ParseFloat(s, 64)`` for decimal text (``1e3``, ``.5``,
  ``Inf``, ``NaN``).

Go and Python agree on the shortest round-trip digits (``repr``) and on correctly rounded
fixed precision, so only the layout (where the exponent goes, how it is spelled, ``+Inf``)
is Go's own here.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from vigil.gocompat.quote import quote

__all__ = [
    "format_float",
    "format_float_e",
    "format_float_f",
    "format_float_v",
    "format_json_float",
    "format_sample_value",
    "parse_float",
]


def _special(f: float) -> str | None:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return None


def _shortest(f: float) -> tuple[bool, str, int]:
    """(negative, digits, exponent) with ``abs(f) == int(digits) * 10**exponent``, digits the
    fewest that round-trip, without trailing zeros ("0" for zero)."""
    sign, digit_tuple, exponent = Decimal(repr(f)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0") or "0"
    stripped = digits.rstrip("0") or "0"
    exponent += len(digits) - len(stripped)
    if stripped == "0":
        exponent = 0
    return bool(sign), stripped, exponent


def format_float_f(f: float) -> str:
    """``strconv.FormatFloat(f, 'f', -1, 64)``: positional, shortest round-trip digits."""
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


def _exponent_form(negative: bool, digits: str, exp: int, letter: str) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{'-' if negative else ''}{mantissa}{letter}{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def format_float_e(f: float, letter: str = "e") -> str:
    """``strconv.FormatFloat(f, 'e', -1, 64)``: ``1e+00``, ``4.25e-07``."""
    special = _special(f)
    if special is not None:
        return special
    negative, digits, exponent = _shortest(f)
    exp = len(digits) - 1 + exponent if digits != "0" else 0
    return _exponent_form(negative, digits, exp, letter)


def format_float_v(f: float, letter: str = "e") -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)``, which is also ``fmt``'s ``%v``: shortest digits,
    exponent form when the exponent is below -4 or at least 6 (Go decides as if the precision
    were 6): ``100000``, ``1e+06``, ``1e-05``, ``1.2345678e+06``."""
    special = _special(f)
    if special is not None:
        return special
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    negative, digits, exponent = _shortest(f)
    exp = len(digits) - 1 + exponent
    if exp < -4 or exp >= 6:
        return _exponent_form(negative, digits, exp, letter)
    return format_float_f(f)


def format_float(f: float, fmt: str = "g", prec: int = -1) -> str:
    """``strconv.FormatFloat(f, fmt, prec, 64)`` for ``fmt`` in ``e E f g G``."""
    if fmt not in ("e", "E", "f", "g", "G"):
        raise ValueError(f"unsupported float format {fmt!r}")
    special = _special(f)
    if special is not None:
        return special
    if prec < 0:
        if fmt == "f":
            return format_float_f(f)
        if fmt in "eE":
            return format_float_e(f, fmt)
        return format_float_v(f, "e" if fmt == "g" else "E")
    # Fixed precision: Python rounds the exact binary value correctly, as Go does, and its
    # %g layout (exponent when below -4 or at least the precision, trailing zeros removed)
    # is Go's.
    return f"%.{prec}{fmt}" % f


def format_sample_value(f: float) -> str:
    """A sample value as Prometheus's API writes it: ``'f'`` except ``'e'`` for magnitudes
    below 1e-6 and from 1e21; ``+Inf``, ``-Inf``, ``NaN``."""
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):  # False for NaN
        return format_float_e(f)
    return format_float_f(f)


def format_json_float(f: float) -> str:
    """A float64 as Go's ``encoding/json`` writes it: like :func:`format_sample_value`, with
    a one-digit negative exponent written ``e-7`` (ES6 number spelling). NaN and the
    infinities are not JSON: ValueError."""
    if not math.isfinite(f):
        raise ValueError(f"JSON cannot represent {f}")
    text = format_sample_value(f)
    if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
        text = text[:-2] + text[-1]
    return text


_GO_DECIMAL_FLOAT = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE)


def parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)`` for decimal text: digits with an optional point and
    exponent, ``Inf``/``Infinity``/``NaN`` in any case, an optional sign. ValueError for
    anything else and for a finite literal too large for a float64 (Go's range error)."""
    if not _GO_DECIMAL_FLOAT.fullmatch(text):
        raise ValueError(f"strconv.ParseFloat: parsing {quote(text)}: invalid syntax")
    value = float(text)
    if math.isinf(value) and "inf" not in text.lower():
        raise ValueError(f"strconv.ParseFloat: parsing {quote(text)}: value out of range")
    return value
