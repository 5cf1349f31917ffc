"""Byte sizes as Prometheus writes them (``512MB``, ``10GB``, ``1TiB``): powers of 1024, as
Prometheus's ``--storage.tsdb.retention.size`` reads them."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

__all__ = ["ByteSize", "parse_bytes"]

_SIZE = re.compile(r"^(\d+)\s*(B|[KMGTPE]i?B)$")
_POWER = {"B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse_bytes(text: str) -> int:
    """``"512MB"`` -> 536870912; ``"0"`` is zero. Raises ValueError naming the text."""
    text = text.strip()
    if text == "0":
        return 0
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f'invalid size "{text}": use a number and a unit such as 512MB or 10GB')
    return int(m.group(1)) * 1024 ** _POWER[m.group(2)[0]]


def _to_bytes(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512MB or 10GB")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("size must not be negative")
        return value
    if isinstance(value, str):
        return parse_bytes(value)
    raise ValueError("expected a size such as 512MB or 10GB")


ByteSize = Annotated[int, BeforeValidator(_to_bytes)]
