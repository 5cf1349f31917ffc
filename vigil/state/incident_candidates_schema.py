"""Tables of incident correlation and post-mortem follow-up (issue 17): incident candidates
(related alert groups Vigil proposes as one incident), their groups, and the action items
of incidents. Added by revision 0014 on the shared :data:`vigil.state.schema.metadata`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from vigil.state.schema import metadata

__all__ = ["incident_action_items", "incident_candidate_groups", "incident_candidates"]

TZ = DateTime(timezone=True)

incident_candidates = Table(
    "incident_candidates",
    metadata,
    Column("id", String(36), primary_key=True),
    # The identity of the burst: the shared label values and the window start. Unique, so
    # two replicas proposing the same burst record one candidate.
    Column("key", String(1024), nullable=False, unique=True),
    Column("labels", JSON, nullable=False),  # the named labels all its groups agree on
    Column("window_start", TZ, nullable=False),  # the earliest start among its groups
    Column("title", String(512), nullable=False),  # suggested incident title
    Column("severity", Integer, nullable=False),  # suggested 1..4
    Column("state", String(16), nullable=False),  # proposed | accepted | dismissed
    Column("proposed_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("incident_id", String(36), ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("decided_by", String(256)),
    Column("decided_at", TZ),
    Column("reason", Text, nullable=False, default=""),  # why it was dismissed
    Index("ix_incident_candidates_state", "state", "proposed_at"),
)

incident_candidate_groups = Table(
    "incident_candidate_groups",
    metadata,
    Column("candidate_id", String(36), ForeignKey("incident_candidates.id", ondelete="CASCADE"),
           nullable=False),
    Column("group_key", String(1024), nullable=False),
    Column("group_labels", JSON, nullable=False),  # the group's labels and its alerts' common ones
    Column("receiver", String(256), nullable=False),
    Column("started_at", TZ, nullable=False),  # the earliest start of its alerts when it joined
    Column("joined_at", TZ, nullable=False),
    Column("alerts", Integer, nullable=False),  # how many alerts it had when it joined
    Column("priority", String(8), nullable=False),
    PrimaryKeyConstraint("candidate_id", "group_key"),
    Index("ix_incident_candidate_groups_group", "group_key"),
)

# What an incident's post-mortem asks to be done; tracked after the incident is resolved.
incident_action_items = Table(
    "incident_action_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(512), nullable=False),
    Column("owner", String(256)),
    Column("due_date", Date),
    Column("link", String(2048), nullable=False, default=""),  # a ticket, a pull request
    Column("state", String(8), nullable=False),  # open | closed
    Column("created_by", String(256), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("closed_by", String(256)),
    Column("closed_at", TZ),
    Index("ix_incident_action_items_incident", "incident_id", "id"),
    Index("ix_incident_action_items_state", "state", "id"),
)
