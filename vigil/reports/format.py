"""How a report writes a number in its unit: ``99.95 %``, ``4 min 12 s``, ``1.2 GiB``,
``12.3 days``. One function for the tables, the figures and the charts' axes."""

from __future__ import annotations

import math

__all__ = ["format_value"]

_BYTES = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def _number(value: float, digits: int = 3) -> str:
    """``value`` with about ``digits`` significant digits, no exponent for everyday sizes."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 10 ** digits or float(value).is_integer():
        return f"{value:,.0f}"
    decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
    return f"{value:,.{min(decimals, 6)}f}"


def _duration(seconds: float) -> str:
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    if s < 60:
        return f"{sign}{_number(s)} s"
    if s < 3600:
        minutes, rest = divmod(round(s), 60)
        return f"{sign}{minutes} min" + (f" {rest} s" if rest else "")
    if s < 86400:
        hours, rest = divmod(round(s / 60), 60)
        return f"{sign}{hours} h" + (f" {rest} min" if rest else "")
    return f"{sign}{_number(s / 86400)} days"


def format_value(value: float | None, unit: str = "") -> str:
    """``value`` written for a person; ``—`` when there is none (no data)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if unit == "percent":
        return f"{_number(value, 4)} %"
    if unit == "ratio":
        return f"{_number(value * 100, 4)} %"
    if unit == "seconds":
        return _duration(value)
    if unit == "bytes":
        magnitude, i = abs(value), 0
        while magnitude >= 1024 and i < len(_BYTES) - 1:
            magnitude /= 1024
            i += 1
        return f"{'-' if value < 0 else ''}{_number(magnitude)} {_BYTES[i]}"
    if unit == "days":
        return f"{_number(value)} day" + ("" if value == 1 else "s")
    if unit == "count":
        return f"{value:,.0f}" if float(value).is_integer() else _number(value)
    return f"{_number(value)} {unit}".rstrip()
