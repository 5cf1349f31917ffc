"""Action items of incidents in the state database (issue 17): what a post-mortem asks to be
done, with an owner, an optional due date and a link (a ticket), open until closed. They
belong to an incident but outlive it: the open ones across every incident are one query.

Every change is ONE transaction under the incident's lock that writes the item, an
``action_item`` event in the incident's timeline and one audit entry. Times are the
database's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from vigil.state.access_store import _audit
from vigil.state.coordination import db_now
from vigil.state.incident_candidates_schema import incident_action_items
from vigil.state.incident_schema import incidents
from vigil.state.incident_store import REF_PATTERN, IncidentError, lock_incident, record_event

__all__ = ["ACTION_ITEM_STATES", "ActionItem", "ActionItemStore"]

ACTION_ITEM_STATES: tuple[str, ...] = ("open", "closed")


@dataclass(frozen=True)
class ActionItem:
    id: int
    incident_id: str
    incident_ref: str
    title: str
    owner: str | None
    due_date: date | None
    link: str
    state: str  # open | closed
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _item(row: Any) -> ActionItem:
    return ActionItem(row["id"], row["incident_id"], row["ref"], row["title"], row["owner"],
                      row["due_date"], row["link"] or "", row["state"], row["created_by"],
                      _utc(row["created_at"]), row["closed_by"], _utc(row["closed_at"]))  # type: ignore[arg-type]


def _select() -> Any:
    t = incident_action_items
    return select(t, incidents.c.ref).join(incidents, incidents.c.id == t.c.incident_id)


def _incident_of(conn: Connection, id_or_ref: str) -> tuple[str, str]:
    i = incidents
    key = i.c.ref == id_or_ref.upper() if REF_PATTERN.match(id_or_ref) else i.c.id == id_or_ref
    row = conn.execute(select(i.c.id, i.c.ref).where(key)).first()
    if row is None:
        raise IncidentError(f"no incident {id_or_ref!r}", "not_found")
    return row[0], row[1]


def _get(conn: Connection, item_id: int) -> ActionItem:
    row = conn.execute(_select().where(incident_action_items.c.id == item_id)).mappings().first()
    if row is None:
        raise IncidentError(f"no action item {item_id}", "not_found")
    return _item(row)


def _public(item: ActionItem) -> dict[str, Any]:
    return {"id": item.id, "title": item.title, "owner": item.owner, "state": item.state,
            "due_date": None if item.due_date is None else item.due_date.isoformat(), "link": item.link}


class ActionItemStore:
    """Action items on ``engine`` (the Store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def items(self, *, incident: str | None = None, state: str | None = None,
              limit: int = 1000) -> list[ActionItem]:
        """Action items of one incident (id or ref) or of all, optionally in one state;
        oldest first."""
        if state is not None and state not in ACTION_ITEM_STATES:
            raise IncidentError(f"state must be one of {', '.join(ACTION_ITEM_STATES)}, not {state!r}", "invalid")
        t = incident_action_items
        stmt = _select()
        with self.engine.connect() as conn:
            if incident is not None:
                stmt = stmt.where(t.c.incident_id == _incident_of(conn, incident)[0])
            if state is not None:
                stmt = stmt.where(t.c.state == state)
            return [_item(r) for r in conn.execute(stmt.order_by(t.c.id).limit(limit)).mappings()]

    def get(self, item_id: int) -> ActionItem:
        with self.engine.connect() as conn:
            return _get(conn, item_id)

    def add(self, incident: str, *, title: str, actor: str, via: str, owner: str | None = None,
            due_date: date | None = None, link: str = "") -> ActionItem:
        """Add an open action item to an incident (open or resolved)."""
        title = title.strip()
        if not title:
            raise IncidentError("title: an action item needs a title", "invalid")
        with self.engine.begin() as conn:
            incident_id, ref = _incident_of(conn, incident)
            lock_incident(conn, incident_id)
            now = db_now(conn)
            result = conn.execute(insert(incident_action_items).values(
                incident_id=incident_id, title=title[:512], owner=owner or None, due_date=due_date,
                link=link, state="open", created_by=actor, created_at=now))
            item = _get(conn, int(result.inserted_primary_key[0]))
            record_event(conn, incident_id=incident_id, at=now, kind="action_item", actor=actor, via=via,
                         detail={"action": "added", **_public(item)})
            _audit(conn, now=now, actor=actor, action="incident.action_item.add",
                   target=f"incident {ref} action item {item.id}", after=_public(item))
            return item

    def set_state(self, item_id: int, state: str, *, actor: str, via: str) -> ActionItem:
        """Close an open item or reopen a closed one; the other way is a conflict."""
        if state not in ACTION_ITEM_STATES:
            raise IncidentError(f"state must be one of {', '.join(ACTION_ITEM_STATES)}, not {state!r}", "invalid")
        t = incident_action_items
        with self.engine.begin() as conn:
            item = _get(conn, item_id)
            lock_incident(conn, item.incident_id)
            item = _get(conn, item_id)
            if item.state == state:
                raise IncidentError(f"action item {item_id} is {state} already", "conflict")
            now = db_now(conn)
            closing = state == "closed"
            conn.execute(update(t).where(t.c.id == item_id).values(
                state=state, closed_by=actor if closing else None, closed_at=now if closing else None))
            after = _get(conn, item_id)
            record_event(conn, incident_id=item.incident_id, at=now, kind="action_item", actor=actor,
                         via=via, detail={"action": "closed" if closing else "reopened", **_public(after)})
            _audit(conn, now=now, actor=actor, action="incident.action_item." + ("close" if closing else "reopen"),
                   target=f"incident {item.incident_ref} action item {item_id}",
                   before={"state": item.state}, after={"state": state})
            return after
