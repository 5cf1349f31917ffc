"""The facts a checklist task's ``done_when`` names (:data:`DONE_WHEN_FACTS` of
:mod:`vigil.config.incident_response`), read from the incident's timeline: which event
proves each, and the note Vigil writes when it ticks a task because of it.

=====================  ==========================================================================
fact                   the first timeline event that proves it
=====================  ==========================================================================
``declared``           ``declared`` (the incident exists; its timeline is the incident log)
``paged``              ``page`` that reached someone: at declaration or a severity raise (no
                       ``problem``), or an attached group's escalation page (``paged`` not
                       empty). Pages about an overdue task do not count (paging the commander
                       because "Page on-call engineer" is late must not tick it).
``acknowledged``       ``acknowledged`` (the incident, or an attached group's alert episode)
``commander_set``      ``role`` with ``role: commander`` and a user (also at declaration)
``internal_sent``      ``communication`` with ``kind: internal`` (by a person or at declaration)
``external_sent``      ``public_update`` (an external update: what the status page shows)
``status:NAME``        ``status`` moving to NAME; ``status:investigating`` also ``declared``
=====================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vigil.incidents.communications import iso
from vigil.state.incident_store import IncidentEvent

__all__ = ["evidence", "evidence_note"]


def _paged(e: IncidentEvent) -> bool:
    d = e.detail
    if e.kind != "page" or d.get("problem") or d.get("reason") == "task_overdue":
        return False
    return bool(d["paged"]) if "paged" in d else True


def _commander(e: IncidentEvent) -> bool:
    return e.kind == "role" and e.detail.get("role") == "commander" and bool(e.detail.get("user"))


def _communication(kind: str) -> Callable[[IncidentEvent], bool]:
    return lambda e: e.kind == "communication" and e.detail.get("kind") == kind


def _status(name: str) -> Callable[[IncidentEvent], bool]:
    # Every incident is declared investigating; a later move there is a relapse or a reopen.
    return lambda e: (e.kind == "status" and e.detail.get("to") == name) or (
        name == "investigating" and e.kind == "declared")


_PROOF: dict[str, Callable[[IncidentEvent], bool]] = {
    "declared": lambda e: e.kind == "declared",
    "paged": _paged,
    "acknowledged": lambda e: e.kind == "acknowledged",
    "commander_set": _commander,
    "internal_sent": _communication("internal"),
    "external_sent": lambda e: e.kind == "public_update",
}


def evidence(fact: str, events: Sequence[IncidentEvent]) -> IncidentEvent | None:
    """The first of ``events`` (timeline order) that proves ``fact``; None when none does.
    ValueError for a fact that is not one of ``DONE_WHEN_FACTS`` (the config refuses those)."""
    if fact.startswith("status:"):
        proves = _status(fact.partition(":")[2])
    elif fact in _PROOF:
        proves = _PROOF[fact]
    else:
        raise ValueError(f"unknown done_when fact {fact!r}")
    return next((e for e in events if proves(e)), None)


def _what(fact: str, e: IncidentEvent) -> str:
    d = e.detail
    if fact == "paged":
        if d.get("source") == "escalation":
            return f"paged by escalation policy {d.get('policy')}"
        return f"paged {d.get('user')} via {d.get('via')}" if d.get("user") else "paged"
    if fact == "commander_set":
        return f"commander {d.get('user')}"
    return {"declared": "incident declared: its timeline is the log", "acknowledged": "acknowledged",
            "internal_sent": "internal notification sent",
            "external_sent": "external update posted to the status page"}.get(fact, fact.replace(":", " "))


def evidence_note(fact: str, e: IncidentEvent) -> str:
    """The note of a task Vigil ticked: what it saw, and the timeline event (kind and time),
    e.g. ``paged ann via schedule:primary (timeline: page at 2026-12-07T05:26:00Z)``."""
    return f"{_what(fact, e)} (timeline: {e.kind} at {iso(e.at)})"
