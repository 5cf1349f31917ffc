"""The table of users' notification rules (issue 16): per urgency, which contact methods in
which order with which delays, and the working hours outside which a user takes only
high-urgency pages.

Added by revision 0009 on the shared :data:`vigil.state.schema.metadata`. Rows are written
by provisioning (the config's ``users:``) and by the API (``PUT /api/vigil/v1/users/{name}/contacts``);
the escalation engine reads them at every step, so every replica sees a change at once.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, Table

from vigil.state.schema import metadata

__all__ = ["notification_rules"]

# One row per user that has rules or working hours; no row: every contact method at once.
notification_rules = Table(
    "notification_rules",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # {"high": [{"contact": "email", "after": 0.0}, ...], "low": [...]}
    Column("rules", JSON, nullable=False),
    # [{"kind": "weekly", "start": "mon 09:00", "end": "mon 17:00"}, ...]
    Column("working_hours", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
