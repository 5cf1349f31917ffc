"""Tables of the alert lifecycle (issue 16): episodes of alert groups and their event logs.

Added by revision 0005 on the shared :data:`vigil.state.schema.metadata`.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from vigil.state.schema import metadata

__all__ = ["alert_episodes", "episode_events", "oncall_keys"]

TZ = DateTime(timezone=True)

# One episode of one aggregation group: from its first firing alert until it is resolved.
alert_episodes = Table(
    "alert_episodes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("group_key", String(1024), nullable=False, index=True),
    # The group key while the episode is not resolved, NULL after: a unique column, so a
    # group has at most one unresolved episode even when two replicas open one at once.
    Column("open_key", String(1024), unique=True),
    Column("receiver", String(256), nullable=False),
    Column("group_labels", JSON, nullable=False),
    Column("priority", String(8), nullable=False),
    Column("state", String(16), nullable=False),  # open | acknowledged | resolved
    Column("opened_at", TZ, nullable=False),
    Column("ack_deadline_at", TZ, nullable=False),
    Column("first_acknowledged_at", TZ),
    Column("acknowledged_at", TZ),
    Column("acknowledged_by", String(256)),
    Column("breached_at", TZ),  # the acknowledge deadline passed unacknowledged (recorded once)
    Column("resolved_at", TZ),
    Column("resolved_by", String(256)),
    Column("classification", String(32)),
    Column("procedure", Text),
    Column("note", Text),
    Column("previous_id", String(36)),  # the group's episode before this one
    Column("runbooks", JSON, nullable=False),  # runbook ids/URLs the alerts' annotations name
)

# Who did what and when to an episode, in order.
episode_events = Table(
    "episode_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("episode_id", String(36), ForeignKey("alert_episodes.id", ondelete="CASCADE"),
           nullable=False),
    Column("at", TZ, nullable=False),
    # opened | acknowledged | unacknowledged | resolved | sla_breach | priority_raised
    Column("kind", String(32), nullable=False),
    Column("actor", String(256)),  # None: Vigil itself
    Column("via", String(32), nullable=False),  # api | ui | cli | link | vigil
    Column("detail", JSON, nullable=False),
    Index("ix_episode_events_episode", "episode_id", "id"),
)

# Secrets every replica shares, made once by whichever comes first (the key that signs the
# action links put in notifications).
oncall_keys = Table(
    "oncall_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("secret", String(256), nullable=False),
    Column("created_at", TZ, nullable=False),
)
