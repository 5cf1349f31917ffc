"""Users' notification rules and working hours in the state database (revision 0009).

Plain JSON in, JSON out; the rules' meaning and validation live in
:mod:`vigil.config.access` (the ``users:`` entries) and :mod:`vigil.oncall.reach`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from vigil.state import schema
from vigil.state.coordination import lock_for_transaction
from vigil.state.reach_schema import notification_rules

__all__ = ["NotificationRules", "NotificationRulesStore"]


@dataclass(frozen=True)
class NotificationRules:
    """``rules``: urgency -> [{"contact", "after"}]; ``working_hours``: [{"kind", "start", "end"}]."""

    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    working_hours: list[dict[str, str]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {"notification_rules": self.rules, "working_hours": self.working_hours}


class NotificationRulesStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, user: str) -> NotificationRules:
        """The user's rules; empty when they have none (or no such user)."""
        u, n = schema.users, notification_rules
        with self.engine.connect() as conn:
            row = conn.execute(select(n.c.rules, n.c.working_hours).join(u, u.c.id == n.c.user_id)
                               .where(u.c.name == user)).first()
        return NotificationRules() if row is None else NotificationRules(dict(row[0]), list(row[1]))

    def put(self, user: str, value: NotificationRules, *, now: datetime) -> bool:
        """Replace the user's rules (no rules and no working hours: the row is deleted).
        False when there is no such user."""
        u, n = schema.users, notification_rules
        with self.engine.begin() as conn:
            lock_for_transaction(conn, "user", user)
            user_id = conn.execute(select(u.c.id).where(u.c.name == user)).scalar()
            if user_id is None:
                return False
            exists = conn.execute(select(n.c.user_id).where(n.c.user_id == user_id)).first()
            if not value.rules and not value.working_hours:
                conn.execute(delete(n).where(n.c.user_id == user_id))
            elif exists:
                conn.execute(update(n).where(n.c.user_id == user_id).values(
                    rules=value.rules, working_hours=value.working_hours, updated_at=now))
            else:
                conn.execute(insert(n).values(user_id=user_id, rules=value.rules,
                                              working_hours=value.working_hours, updated_at=now))
            return True
