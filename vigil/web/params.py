"""Request parameters parsed with Prometheus's rules and error messages.

Times are unix seconds (float, rounded to the millisecond) or RFC 3339; durations are float
seconds or Prometheus duration strings (``5m``, ``1h30m``). Errors are :class:`ValueError`
whose message is Prometheus's own (``cannot parse "x" to a valid timestamp``); the caller
prefixes ``invalid parameter "name": ``.
"""

from __future__ import annotations

import math
import re

from starlette.requests import Request

from vigil.gocompat.floats import parse_float
from vigil.gocompat.quote import quote
from vigil.gocompat.times import parse_rfc3339

__all__ = ["Form", "MAX_TIME_MS", "MIN_TIME_MS", "parse_limit",
           "parse_time_ms", "read_form"]

# Prometheus's defaults for open time ranges (web/api/v1 MinTime/MaxTime), in ms.
MIN_TIME_MS = (-(2**63) // 1000 + 1 + 62135596801) * 1000
MAX_TIME_MS = ((2**63 - 1) // 1000 - 62135596801) * 1000 + 999



class Form:
    """Request parameters: form body values first, then URL query values (Go's ``r.Form``)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def get(self, name: str) -> str:
        """The first value of ``name``, or "" (Go's ``FormValue``)."""
        values = self._values.get(name)
        return values[0] if values else ""

    def get_all(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))


async def read_form(request: Request) -> Form:
    pairs: list[tuple[str, str]] = []
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded",
                                    "multipart/form-data")):
            form = await request.form()
            pairs.extend((k, v) for k, v in form.multi_items() if isinstance(v, str))
    pairs.extend(request.query_params.multi_items())
    return Form(pairs)


def parse_time_ms(text: str) -> int:
    """Unix seconds (the fraction rounded to ms) or RFC 3339 -> int ms since the epoch."""
    try:
        value = parse_float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value):
        fraction, whole = math.modf(value)
        return int(fraction * 1000 + (0.5 if fraction >= 0 else -0.5)) + int(whole) * 1000
    try:
        return round(parse_rfc3339(text).timestamp() * 1000)
    except ValueError:
        raise ValueError(f"cannot parse {quote(text)} to a valid timestamp") from None



def parse_limit(text: str) -> int:
    """The ``limit`` parameter; 0 (or absent) means no limit."""
    if text == "":
        return 0
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    limit = int(text)
    if limit < 0:
        raise ValueError("limit must be non-negative")
    return limit
