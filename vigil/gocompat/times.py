"""RFC 3339 times as Go writes and reads them. Vigil's times are ``datetime``s (microsecond
precision) and are always written in UTC, as the servers Vigil stands in for run.

Three spellings, each where its Go counterpart is used:

* :func:`format_rfc3339_nano` - ``time.Time`` in ``encoding/json`` (``time.RFC3339Nano``):
  the fraction without trailing zeros, none when zero: ``2024-05-01T10:00:00.25Z``. Prometheus's
  API (``activeAt``, ``lastEvaluation``, ``lastScrape``, runtimeinfo ``startTime``) and
  Alertmanager's webhook payload (``startsAt``/``endsAt``) write this.
* :func:`format_rfc3339_millis` - go-openapi ``strfmt.DateTime``: always three fraction
  digits, ``2024-05-01T10:00:00.250Z``. Alertmanager's API v2 and amtool write this.
* :func:`format_rfc3339` - ``time.RFC3339``: whole seconds, ``2024-05-01T10:00:00Z``.

And :func:`format_go_time`, ``time.Time.String`` (``2024-05-01 10:00:00.25 +0000 UTC``), which
is what an Alertmanager template prints for ``{{ .StartsAt }}``.

``None`` stands for Go's zero ``time.Time`` (``0001-01-01T00:00:00Z``). :func:`parse_rfc3339`
is ``time.Parse(time.RFC3339, s)``, which also takes any fraction of up to nine digits.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from vigil.gocompat.quote import quote

__all__ = ["format_go_time", "format_rfc3339", "format_rfc3339_millis", "format_rfc3339_nano",
           "parse_rfc3339"]

_ZERO = "0001-01-01T00:00:00"


def _utc(dt: datetime) -> datetime:
    """A naive datetime is taken to be UTC already."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def format_rfc3339_nano(dt: datetime | None) -> str:
    """Go's JSON spelling of a ``time.Time`` (RFC 3339 with trimmed fraction), in UTC."""
    if dt is None:
        return _ZERO + "Z"
    dt = _utc(dt)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += "." + f"{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_rfc3339_millis(dt: datetime | None) -> str:
    """go-openapi ``strfmt.DateTime``: RFC 3339 with exactly three fraction digits, in UTC."""
    if dt is None:
        return _ZERO + ".000Z"
    dt = _utc(dt)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def format_rfc3339(dt: datetime | None) -> str:
    """Go ``time.RFC3339``: whole seconds (the fraction is dropped, not rounded), in UTC."""
    if dt is None:
        return _ZERO + "Z"
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_go_time(dt: datetime | None) -> str:
    """Go ``time.Time.String`` of a UTC time (layout ``2006-01-02 15:04:05.999999999 -0700
    MST``: the fraction without trailing zeros, none when zero)."""
    if dt is None:
        return "0001-01-01 00:00:00 +0000 UTC"
    dt = _utc(dt)
    text = dt.strftime("%Y-%m-%d %H:%M:%S")
    if dt.microsecond:
        text += "." + f"{dt.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?"
                      r"(?:(Z)|([+-])(\d\d):(\d\d))")


def parse_rfc3339(text: str) -> datetime:
    """Go ``time.Parse(time.RFC3339, text)`` as an aware UTC datetime (nanoseconds are cut to
    microseconds). The ``T`` and ``Z`` must be upper case, as Go wants them. ValueError
    (``parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse``, Go's opening; the
    detail after it is shorter than Go's) otherwise."""
    m = _RFC3339.fullmatch(text)
    bad = f'parsing time {quote(text)} as "2006-01-02T15:04:05Z07:00": cannot parse'
    if m is None:
        raise ValueError(bad)
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    micro = int((m.group(7) or "0").ljust(6, "0")[:6])
    if m.group(8):
        zone = timezone.utc
    else:
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 23 or minutes > 59:
            raise ValueError(f"{bad}: time zone offset out of range")
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if m.group(9) == "-" else offset)
    try:
        value = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    except ValueError as exc:
        raise ValueError(f"{bad}: {exc}") from None
    return value.astimezone(timezone.utc)
