"""The "Status page" section of ``/incidents`` (issue 17): each status-page component's
status as the public page shows it, why (its query, an open incident, an override set by
hand, maintenance), and for responders the forms that set and clear a manual override.

The forms post to ``/incidents/status-page/{component}/override`` and ``.../clear`` (routes
in :mod:`vigil.web.incidents_ui`), not under ``/status``: that prefix is the public, read-only
page a reverse proxy may publish as it is. Both go through
:class:`vigil.incidents.status_page_service.StatusPageService`, as the override API does, so
the change and its audit entry (``statuspage.override``) are one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from vigil.config.status_page import COMPONENT_STATUSES
from vigil.gocompat.durations import parse_duration_ms
from vigil.gocompat.times import parse_rfc3339
from vigil.incidents.status_page import STATUS_LABELS
from vigil.incidents.status_page_service import StatusPageService
from vigil.state.status_page_store import StatusPageError
from vigil.web.incidents_view import when

__all__ = ["SOURCE_TEXT", "override_until", "status_page_section"]

# Why a component shows its status, in words (the API's "source").
SOURCE_TEXT = {"query": "its query", "incident": "an open incident", "override": "set by hand",
               "maintenance": "maintenance", "none": "not checked yet"}


def active_status_page(service: StatusPageService | None) -> StatusPageService | None:
    """The service when this Vigil serves a status page (configured and enabled)."""
    return service if service is not None and service.section.active else None


def status_page_section(service: StatusPageService | None) -> dict[str, Any] | None:
    """What the section shows (None when there is no status page): each component's status,
    label, source (and its words), public message, when its query was last checked, and the
    override in force with who set it and until when; the statuses an override may set."""
    service = active_status_page(service)
    if service is None:
        return None
    now = service.store.now()
    overrides = {name: o for name, o in service.store.overrides().items() if o.in_force(now)}
    rows = []
    for c in service.statuses(now):
        o = overrides.get(c.name)
        rows.append({"name": c.name, "description": c.description, "group": c.group or "",
                     "status": c.status, "label": c.label, "source": c.source,
                     "why": SOURCE_TEXT.get(c.source, c.source), "message": c.message,
                     "checked": when(c.checked_at),
                     "override": None if o is None else {
                         "status": STATUS_LABELS.get(o.status, o.status), "by": o.set_by, "at": when(o.set_at),
                         "until": when(o.expires_at) or "cleared"}})
    return {"title": service.section.title, "components": rows,
            "statuses": [(s, STATUS_LABELS[s]) for s in COMPONENT_STATUSES]}


def override_until(text: str, now: datetime) -> datetime | None:
    """The end of an override from the form's ``until``: empty for "until cleared", a
    duration from ``now`` (``2h``, ``30m``), or a time — RFC 3339 or ``2026-12-07 18:00``
    (UTC, as the pages show times; a trailing ``UTC`` is allowed)."""
    text = text.strip()
    if not text:
        return None
    try:
        return now + timedelta(milliseconds=parse_duration_ms(text))
    except ValueError:
        pass
    try:
        return parse_rfc3339(text)
    except ValueError:
        pass
    plain = text.removesuffix("UTC").strip()
    try:
        at = datetime.fromisoformat(plain)
    except ValueError:
        raise StatusPageError(f"until: {text!r} is neither a duration such as 2h nor a time such as "
                              "2026-12-07 18:00 (UTC)", "invalid") from None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at
