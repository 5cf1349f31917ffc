"""Tables of the public status page (issue 17), on the shared :data:`vigil.state.schema.metadata`
(revision 0013): manual overrides of a component's status, the latest result of each
component's health query, and the log of status transitions the uptime bars are computed from.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from vigil.state.schema import metadata

__all__ = ["status_page_checks", "status_page_overrides", "status_page_transitions"]

TZ = DateTime(timezone=True)

# A person's word on a component, replacing what the queries and incidents say until it is
# cleared or expires.
status_page_overrides = Table(
    "status_page_overrides",
    metadata,
    Column("component", String(64), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("message", Text, nullable=False, default=""),  # public text
    Column("set_by", String(256), nullable=False),
    Column("set_at", TZ, nullable=False),
    Column("expires_at", TZ),  # None: until cleared
)

# The newest evaluation of each component's query by the primary (every check interval).
status_page_checks = Table(
    "status_page_checks",
    metadata,
    Column("component", String(64), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("healthy", Integer, nullable=False),  # series healthy
    Column("total", Integer, nullable=False),  # series returned
    Column("checked_at", TZ, nullable=False),
)

# One row each time a component's shown status changed: what was shown from ``since`` on and
# what decided it (query | incident | override | maintenance).
status_page_transitions = Table(
    "status_page_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("component", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("since", TZ, nullable=False),
    Column("source", String(16), nullable=False),
    Index("ix_status_page_transitions_component", "component", "since", "id"),
)
