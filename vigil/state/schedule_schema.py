"""Tables of on-call schedules (issue 16): overrides (a swap is two overrides sharing a
``swap_id``) and the calendar feed tokens.

Added by revision 0006 on the shared :data:`vigil.state.schema.metadata`. The schedules
themselves are configuration (``schedules:``); only what people change at run time is here.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from vigil.state.schema import metadata

__all__ = ["schedule_feed_tokens", "schedule_overrides"]

TZ = DateTime(timezone=True)

# `user` covers [starts_at, ends_at) on `schedule`, above every layer.
schedule_overrides = Table(
    "schedule_overrides",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("schedule", String(64), nullable=False),
    Column("user", String(256), nullable=False),
    Column("starts_at", TZ, nullable=False),
    Column("ends_at", TZ, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("note", Text, nullable=False),
    # Set on both halves of a swap (each user covers the other's shift); deleted together.
    Column("swap_id", String(36)),
    Index("ix_schedule_overrides_schedule_ends", "schedule", "ends_at"),
)

# One calendar feed token per user; only its SHA-256 is kept. Replacing it revokes the old.
schedule_feed_tokens = Table(
    "schedule_feed_tokens",
    metadata,
    Column("user", String(256), primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", TZ, nullable=False),
)
