"""JSON written byte-for-byte the way Prometheus's Go server writes it.

Grafana and other Prometheus clients parse these responses; matching Go's spelling keeps
diffs against a real Prometheus empty. The number, duration and time spellings themselves
(sample values, ``1e-07``, RFC 3339) are :mod:`vigil.gocompat`'s.

* :func:`format_timestamp` - a sample timestamp (int ms) as the JSON number of seconds.
* :func:`dumps` - compact JSON as Go's ``encoding/json`` writes it; :class:`Raw` embeds a
  fragment that is already JSON.
"""

from __future__ import annotations

import json
import re

from vigil.gocompat.floats import format_json_float

__all__ = ["Raw", "dumps", "format_timestamp", "json_string"]


def format_timestamp(ts_ms: int) -> str:
    """Seconds as a JSON number, with the milliseconds always written as three digits
    (``1.500``), the way Prometheus writes sample timestamps."""
    sign = "-" if ts_ms < 0 else ""
    ts_ms = abs(ts_ms)
    seconds, fraction = divmod(ts_ms, 1000)
    return f"{sign}{seconds}.{fraction:03d}" if fraction else f"{sign}{seconds}"


class Raw(str):
    """A string that :func:`dumps` writes verbatim because it is already JSON."""

    __slots__ = ()


_HTML_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                               "\u2028": "\\u2028", "\u2029": "\\u2029"})


# Bytes that are not UTF-8 live in Vigil strings as surrogate code points (see
# vigil.gocompat.quote); Go's encoding/json writes each as U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_string(s: str) -> str:
    """A JSON string literal as Go writes it (UTF-8 kept, ``<>&`` escaped for HTML safety,
    invalid UTF-8 replaced by U+FFFD)."""
    if not s.isascii():
        s = _SURROGATE.sub("\ufffd", s)
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
        return format_json_float(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json_string(str(k))}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")
