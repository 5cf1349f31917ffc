"""Times as the incident modules write and read them: RFC 3339 in UTC with ``Z`` (timeline
exports, alert events' details, page bodies), and the times read back from events' details.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

__all__ = ["parse_time", "utc_iso"]


def utc_iso(dt: datetime | None) -> str | None:
    """``dt`` in UTC as RFC 3339 with ``Z`` (microseconds kept); None stays None."""
    return None if dt is None else dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(text: Any) -> datetime | None:
    """A time an event's detail holds (``starts_at``, ``ends_at``); None when there is none or
    it cannot be read."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
