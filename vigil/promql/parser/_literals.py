"""Number and duration literals, parsed with Go's (and Prometheus's) rules. A duration is
prometheus/common ``model.ParseDuration``, which :mod:`vigil.gocompat.durations` implements."""

from __future__ import annotations

import math

from vigil.gocompat.durations import parse_duration_ms
from vigil.gocompat.quote import quote as go_quote

__all__ = ["parse_duration_ms", "parse_number"]


def parse_number(text: str) -> float:
    """A NUMBER token's value, with Go's ``ParseInt(x, 0, 64)`` then ``ParseFloat`` rules."""
    t = text.replace("_", "")
    low = t.lower()
    if low in ("inf", "+inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    if low == "nan":
        return math.nan
    try:
        if low.startswith("0x"):
            if "p" in low or "." in low:
                return float.fromhex(t)
            return float(int(t, 16))
        if len(t) > 1 and t[0] == "0" and t.isdigit():
            return float(int(t, 8))
    except ValueError:
        pass
    v = float(t)
    if math.isinf(v):
        raise ValueError(f'strconv.ParseFloat: parsing {go_quote(text)}: value out of range')
    return v
