"""Durations and byte sizes as LogQL reads and prints them.

LogQL compares extracted labels with Go's ``time.ParseDuration`` (``1.5s``, ``250ms``,
``1h30m``) and go-humanize's ``ParseBytes`` (``10KB``, ``1.5MiB``), and its printer writes them
back with ``time.Duration.String`` (``5m0s``) and ``humanize.Bytes`` (``20 MB``, here without
the space, as Loki's printer drops it). Written from the documented behaviour of both.
"""

from __future__ import annotations

import math
import re

from vigil.gocompat.quote import quote

__all__ = ["format_bytes", "format_go_duration", "parse_bytes", "parse_go_duration"]

_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
       "m": 60_000_000_000, "h": 3_600_000_000_000}
_INT64_MAX = 2**63 - 1
_GO_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def parse_go_duration(text: str) -> int:
    """Go ``time.ParseDuration``, in nanoseconds; ValueError with Go's wording."""
    invalid = f"time: invalid duration {quote(text)}"
    s = text
    negative = False
    if s[:1] in ("+", "-"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise ValueError(invalid)
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _GO_PART.match(s, pos)
        assert m is not None
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise ValueError(invalid)
        if not unit:
            raise ValueError(f"time: missing unit in duration {quote(text)}")
        # Go reads the unit up to the next digit or dot; an unknown one is named in the error.
        if unit not in _NS:
            raise ValueError(f"time: unknown unit {quote(unit)} in duration {quote(text)}")
        scale = _NS[unit]
        value = int(whole or "0") * scale
        if frac:
            value += int(int(frac) * scale / 10 ** len(frac))
        total += value
        if total > _INT64_MAX + (1 if negative else 0):
            raise ValueError(invalid)
        pos = m.end()
    return -int(total) if negative else int(total)


def _format_frac(v: int, prec: int) -> tuple[str, int]:
    digits = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    text = "".join(reversed(digits))
    return ("." + text if text else ""), v


def format_go_duration(ns: int) -> str:
    """Go ``time.Duration.String``: ``0s``, ``1.5ms``, ``5m0s``, ``1h2m3.5s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        for unit, prec in (("ns", 0), ("µs", 3), ("ms", 6)):
            if u < 10 ** (prec + 3) or unit == "ms":
                frac, whole = _format_frac(u, prec)
                return f"{sign}{whole}{frac}{unit}"
    frac, secs = _format_frac(u, 9)
    out = f"{secs % 60}{frac}s"
    minutes = secs // 60
    if minutes:
        out = f"{minutes % 60}m{out}"
        hours = minutes // 60
        if hours:
            out = f"{hours}h{out}"
    return sign + out


_BYTE_UNITS = {
    "b": 1, "": 1,
    "kib": 1024, "ki": 1024, "kb": 1000, "k": 1000,
    "mib": 1024**2, "mi": 1024**2, "mb": 1000**2, "m": 1000**2,
    "gib": 1024**3, "gi": 1024**3, "gb": 1000**3, "g": 1000**3,
    "tib": 1024**4, "ti": 1024**4, "tb": 1000**4, "t": 1000**4,
    "pib": 1024**5, "pi": 1024**5, "pb": 1000**5, "p": 1000**5,
    "eib": 1024**6, "ei": 1024**6, "eb": 1000**6, "e": 1000**6,
}
_UINT64_MAX = 2**64 - 1


def parse_bytes(text: str) -> int:
    """go-humanize ``ParseBytes``: ``42``, ``42 MB``, ``1.5KiB``; SI and IEC units."""
    last_digit = 0
    has_comma = False
    for ch in text:
        if not (ch.isdigit() or ch in ".,"):
            break
        has_comma = has_comma or ch == ","
        last_digit += 1
    number = text[:last_digit].replace(",", "") if has_comma else text[:last_digit]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing {quote(number)}: invalid syntax') from None
    unit = text[last_digit:].strip().lower()
    if unit not in _BYTE_UNITS:
        raise ValueError(f"unhandled size name: {unit}")
    size = value * _BYTE_UNITS[unit]
    if size >= _UINT64_MAX:
        raise ValueError(f"too large: {text}")
    return int(size)


def format_bytes(n: int) -> str:
    """go-humanize ``Bytes`` (SI units), without the space: ``20MB``, ``1.5kB``, ``9B``."""
    if n < 10:
        return f"{n}B"
    sizes = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    exp = int(math.floor(math.log(n) / math.log(1000)))
    val = math.floor(n / 1000**exp * 10 + 0.5) / 10
    text = f"{val:.1f}" if val < 10 else f"{val:.0f}"
    return f"{text}{sizes[exp]}"
