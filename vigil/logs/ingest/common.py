"""What every decoder shares: the result type, per-line errors, levels, times and names."""

from __future__ import annotations

import calendar
import gzip
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import cramjam

from vigil.errors import ParseError
from vigil.logs.model import LogEntry

__all__ = [
    "Decoded", "IngestError", "LineError", "decompress_body", "flatten", "label_name",
    "normalise_level", "parse_rfc3339_ns", "parse_time_value", "scalar_text",
    "syslog_severity_level",
]


class IngestError(ParseError):
    """The whole body is unreadable (bad compression, not the expected document): nothing
    in it could be decoded. An HTTP 400 next wave."""


@dataclass(frozen=True, slots=True)
class LineError:
    """One bad line or record. ``line`` is 1-based (0 when the format has no lines),
    ``offset`` the byte offset of its start in the body (-1 when unknown), ``where`` the
    field or record path (``streams[2].values[5][0]``) and ``message`` what is wrong."""
    line: int
    offset: int
    where: str
    message: str

    def __str__(self) -> str:
        parts = []
        if self.line:
            parts.append(f"line {self.line}")
        if self.offset >= 0:
            parts.append(f"byte {self.offset}")
        if self.where:
            parts.append(self.where)
        return f"{', '.join(parts)}: {self.message}" if parts else self.message


@dataclass(slots=True)
class Decoded:
    """The entries read from one body, in body order, and the errors of its bad parts."""
    entries: list[LogEntry] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)

    def extend(self, other: Decoded) -> None:
        self.entries.extend(other.entries)
        self.errors.extend(other.errors)


# Words shippers use for a level, mapped to the five the model knows. Syslog's keywords,
# OTLP's severity texts, log4j/logrus/zap/Python names and single letters (glog, klog).
_LEVELS = {
    "trace": "debug", "debug": "debug", "dbug": "debug", "d": "debug", "verbose": "debug",
    "info": "info", "information": "info", "informational": "info", "i": "info",
    "notice": "info", "ok": "info",
    "warn": "warn", "warning": "warn", "w": "warn",
    "error": "error", "err": "error", "eror": "error", "e": "error",
    "crit": "critical", "critical": "critical", "fatal": "critical", "panic": "critical",
    "alert": "critical", "emerg": "critical", "emergency": "critical", "f": "critical",
    "c": "critical",
}


def normalise_level(text: str) -> str:
    """``WARNING`` → ``warn``; anything unknown → ``""``."""
    return _LEVELS.get(text) or _LEVELS.get(text.strip().lower(), "")


_SYSLOG_LEVELS = ("critical", "critical", "critical", "error", "warn", "info", "info", "debug")


def syslog_severity_level(severity: int) -> str:
    """Syslog severity 0 (emerg) … 7 (debug) → the model's level."""
    return _SYSLOG_LEVELS[severity]


_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?\d*([Zz]|[+-]\d\d:?\d\d)?$")
_FRACTION_SCALE = (0, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1)
# Seconds of "YYYY-MM-DDTHH:MM:SS" texts seen lately: a batch of lines mostly shares its
# seconds, and calendar.timegm is most of the cost of a time. Cleared when full.
_SECONDS: dict[str, int] = {}
_SECONDS_MAX = 8192


def parse_rfc3339_ns(text: str, *, default_offset_s: int | None = 0) -> int:
    """An RFC 3339 / ISO 8601 time to Unix ns, keeping all nine fractional digits (Python's
    datetime keeps six). Without a zone the time is ``default_offset_s`` east of UTC, or an
    error when that is ``None``. Raises ValueError."""
    if len(text) > 20 and text[-1] == "Z" and text[19] == ".":
        # The usual shipper time, 2024-05-01T10:00:00.123Z, once its second has been seen.
        seconds = _SECONDS.get(text[:19])
        frac = text[20:-1]
        if seconds is not None and len(frac) <= 9 and frac.isascii() and frac.isdigit():
            return seconds * 1_000_000_000 + int(frac) * _FRACTION_SCALE[len(frac)]
    m = _RFC3339.match(text)
    if m is None:
        m = _RFC3339.match(text.strip())
        if m is None:
            raise ValueError(f"not an RFC 3339 time: {text!r}")
    stamp, frac, zone = m.groups()
    seconds = _SECONDS.get(stamp)
    if seconds is None:
        seconds = _utc_seconds(stamp)
    if zone is None:
        if default_offset_s is None:
            raise ValueError(f"time without a zone: {text!r}")
        seconds -= default_offset_s
    elif zone not in ("Z", "z"):
        minutes = int(zone[1:3]) * 60 + int(zone[-2:])
        seconds -= minutes * 60 if zone[0] == "+" else -minutes * 60
    if frac:
        return seconds * 1_000_000_000 + int(frac) * _FRACTION_SCALE[len(frac)]
    return seconds * 1_000_000_000


def _utc_seconds(stamp: str) -> int:
    year, month, day = int(stamp[:4]), int(stamp[5:7]), int(stamp[8:10])
    hour, minute, second = int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        raise ValueError(f"time out of range: {stamp[:10]}T{stamp[11:]}")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if len(_SECONDS) >= _SECONDS_MAX:
        _SECONDS.clear()
    _SECONDS[stamp] = seconds
    return seconds


_DIGITS = re.compile(r"\d+(\.\d+)?")


def parse_time_value(value: Any) -> int:
    """A document's time field to Unix ns: an RFC 3339 string, or a number (or digit string)
    of seconds, milliseconds, microseconds or nanoseconds told apart by magnitude, as
    Filebeat, Fluent Bit and most JSON loggers write them. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, str):
        if len(value) >= 19 and value[4] == "-":  # the usual case, RFC 3339
            return parse_rfc3339_ns(value)
        text = value.strip()
        if _DIGITS.fullmatch(text):
            value = Decimal(text) if "." in text else int(text)
        else:
            return parse_rfc3339_ns(text)
    if isinstance(value, int):
        magnitude = abs(value)
        if magnitude < 10**11:
            return value * 1_000_000_000
        if magnitude < 10**14:
            return value * 1_000_000
        if magnitude < 10**17:
            return value * 1_000
        return value
    if isinstance(value, float):
        if value != value or abs(value) > 1e19:
            raise ValueError(f"not a time: {value!r}")
        value = Decimal(repr(value))  # 1704164645.25 stays .25, not .2499999
    if isinstance(value, Decimal):
        if abs(value) < 10**11:
            return int(value * 1_000_000_000)
        return parse_time_value(int(value))
    raise ValueError(f"not a time: {value!r}")


_NOT_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """A field name made a valid label name: ``service.name`` → ``service_name``."""
    name = _NOT_LABEL_CHARS.sub("_", key)
    return f"_{name}" if not name or name[0].isdigit() else name


def scalar_text(value: Any) -> str:
    """A JSON scalar as the text a field keeps: ``true``, ``42``, ``1.5``, strings as is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


# Dotted names made once: documents of a body repeat their nested keys, and a name built anew
# per document would be a new string to hash at every use (a dict key, a plan's key).
_JOINED: dict[str, dict[str, str]] = {}


def _joined(prefix: str, key: str) -> str:
    names = _JOINED.get(prefix)
    if names is None:
        if len(_JOINED) >= 4096:
            _JOINED.clear()
        names = _JOINED[prefix] = {}
    name = names.get(key)
    if name is None:
        if len(names) >= 4096:
            names.clear()
        name = names[key] = prefix + key
    return name


def flatten(document: Mapping[str, Any], prefix: str = "",
            into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested objects as dotted keys (``{"host": {"name": "a"}}`` → ``host.name``), in
    document order; arrays and scalars are leaves (arrays stay JSON-encoded by the caller)."""
    flat: dict[str, Any] = {} if into is None else into
    for key, value in document.items():
        name = _joined(prefix, key) if prefix else key
        if not isinstance(value, dict):
            flat[name] = value
            continue
        # The usual second level (``log.level``, ``host.name``) without a call per object.
        outer = _joined(name, ".")
        for inner, leaf in value.items():
            if isinstance(leaf, dict):
                flatten(leaf, _joined(_joined(outer, inner), "."), flat)
            else:
                flat[_joined(outer, inner)] = leaf
    return flat


def decompress_body(body: bytes, content_encoding: str, *, max_bytes: int = 64 << 20) -> bytes:
    """Undo an HTTP ``Content-Encoding`` (gzip, deflate, zstd, snappy framed); identity as is."""
    encoding = content_encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            data = body
        elif encoding in ("gzip", "x-gzip"):
            data = gzip.decompress(body)
        elif encoding == "deflate":
            data = zlib.decompress(body)
        elif encoding == "zstd":
            data = bytes(cramjam.zstd.decompress(body))
        elif encoding == "snappy":
            data = bytes(cramjam.snappy.decompress(body))
        else:
            raise IngestError(f"unsupported Content-Encoding {content_encoding!r}")
    except (OSError, EOFError, zlib.error, cramjam.DecompressionError) as e:
        raise IngestError(f"body is not valid {encoding}: {e}") from None
    if len(data) > max_bytes:
        raise IngestError(f"body decompresses to {len(data)} bytes, over {max_bytes}")
    return data
