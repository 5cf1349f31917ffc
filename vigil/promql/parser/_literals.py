"""Number and duration literals, parsed with Go's (and Prometheus's) rules."""

from __future__ import annotations

import math
import re

from vigil.promql._quoting import go_quote

__all__ = ["parse_duration_ms", "parse_number"]

_DURATION_RE = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_DURATION_UNITS = [365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1]
_MAX_DURATION_MS = (1 << 63) // 1_000_000


def parse_duration_ms(text: str) -> int:
    """Prometheus ``model.ParseDuration`` (``1h30m``, ``5m``, ``100ms``) in ms; ValueError if bad."""
    if text == "0":
        return 0
    if not text:
        raise ValueError('empty duration string')
    m = _DURATION_RE.fullmatch(text)
    if m is None or not any(m.groups()):
        for unit in re.findall(r"\d+([a-zA-Z]+)", text):
            if unit not in ("y", "w", "d", "h", "m", "s", "ms"):
                raise ValueError(f'unknown unit "{unit}" in duration "{text}"')
        raise ValueError(f'not a valid duration string: "{text}"')
    total = sum(int(g) * u for g, u in zip(m.groups(), _DURATION_UNITS, strict=True) if g)
    if total > _MAX_DURATION_MS:
        raise ValueError("duration out of range")
    return total


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
