"""Checks that several config sections make of their values: an http(s) URL, an IANA time
zone, names that must be unique in a list. Each raises ``ValueError`` with a message that
names the value; the caller's validator adds where it is (:func:`check_unique_names` raises a
:class:`~vigil.config.located.LocatedValueError` naming the repeated item's place)."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence

from vigil.config.located import LocatedValueError

__all__ = ["check_http_url", "check_time_zone", "check_unique_names", "check_url_name", "repeated_at"]

_HTTP_URL = re.compile(r"^https?://[^/\s]+")
_URL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_http_url(url: str, *, field: str = "url") -> str:
    """``url`` unchanged if it is an http:// or https:// URL with a host."""
    if not _HTTP_URL.match(url):
        raise ValueError(f"{field} {url!r} must be an http:// or https:// URL")
    return url


def check_url_name(name: str, what: str, part_of: str) -> str:
    """``name`` unchanged if it may name a ``what`` (schedule, escalation policy) that is
    part of URLs (and ``part_of`` says of what else): letters, digits and ``. _ -``, at
    most 64, starting with a letter or digit."""
    if not _URL_NAME.match(name):
        raise ValueError(f"invalid {what} name {name!r}: letters, digits and . _ - "
                         f"(it is part of {part_of}), at most 64")
    return name


def check_time_zone(name: str) -> str:
    """``name`` unchanged if it is a time zone of the IANA database."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)") from None
    return name


def repeated_at(names: Sequence[str]) -> int | None:
    """The index of the first name that stands earlier in ``names`` too, or None."""
    for i, name in enumerate(names):
        if name in names[:i]:
            return i
    return None


def check_unique_names(names: Sequence[str], message: str, under: tuple[str | int, ...] = ()) -> None:
    """Raise ``message: 'name'`` at ``(*under, i, "name")`` for the first name that stands
    earlier in ``names`` too (the items of a list whose ``name`` field must be unique)."""
    i = repeated_at(names)
    if i is not None:
        raise LocatedValueError(f"{message}: {names[i]!r}", (*under, i, "name"))
