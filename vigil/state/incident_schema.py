"""Tables of incidents (issue 17): the incident itself, the alert groups attached to it and
its timeline. Added by revision 0011 on the shared :data:`vigil.state.schema.metadata`.

The checklist, communications, status page, correlation candidates and action items keep
their own tables (their own schema modules and revisions on top of 0011).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
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

__all__ = ["incident_alerts", "incident_events", "incidents"]

TZ = DateTime(timezone=True)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    # What people call it: INC-YYYYMMDD-NNN (NNN counts the day's incidents from 001).
    Column("ref", String(32), nullable=False, unique=True),
    Column("title", String(512), nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("impact", Text, nullable=False, default=""),
    Column("severity", Integer, nullable=False),  # 1..4 (SEV-1 is the worst)
    Column("status", String(16), nullable=False),  # investigating | identified | monitoring | resolved
    Column("commander", String(256)),
    # {"communications": name|None, "scribe": name|None, "responders": [names]}
    Column("roles", JSON, nullable=False),
    Column("components", JSON, nullable=False),  # impacted status-page components, by name
    Column("channel", String(256), nullable=False, default=""),  # e.g. #incident-20261207-001
    # Alert matchers given at declaration: groups matching them later are attached too
    # while the incident is open (Alertmanager matcher strings).
    Column("alert_matchers", JSON, nullable=False),
    Column("source", String(32), nullable=False),  # manual | alert | escalation | candidate
    # Declarations made by Vigil carry the key of what caused them (the escalation step, the
    # candidate): unique, so a retried or doubled declaration finds the incident it made.
    Column("origin_key", String(256), unique=True),
    Column("declared_by", String(256), nullable=False),
    Column("started_at", TZ, nullable=False),  # the first attached alert's start, or declared_at
    Column("detected_at", TZ, nullable=False),  # when Vigil (or a person) first saw it
    Column("declared_at", TZ, nullable=False),
    Column("acknowledged_at", TZ),  # someone took it (a commander was set, or acknowledged)
    Column("mitigated_at", TZ),  # first reached monitoring
    Column("resolved_at", TZ),
    Column("next_update_at", TZ),  # the communications rule's "Next update"
    Column("updated_at", TZ, nullable=False),
)

incident_alerts = Table(
    "incident_alerts",
    metadata,
    Column("incident_id", String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("group_key", String(1024), nullable=False),
    Column("group_labels", JSON, nullable=False),
    Column("receiver", String(256), nullable=False, default=""),
    Column("first_alert_at", TZ),  # the earliest startsAt among the group's alerts when attached
    Column("attached_at", TZ, nullable=False),
    Column("attached_by", String(256)),  # None: Vigil (matchers, escalation, candidate)
    Column("detached_at", TZ),
    PrimaryKeyConstraint("incident_id", "group_key"),
    Index("ix_incident_alerts_group", "group_key"),
)

# The timeline: everything that happened to an incident, in order, with who and when.
incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("at", TZ, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(256)),  # None: Vigil itself
    Column("via", String(32), nullable=False),  # api | ui | cli | link | vigil
    Column("detail", JSON, nullable=False),
    Column("public", Boolean, nullable=False, default=False),  # shown on the status page
    # Events copied from elsewhere (an episode's event, an alert's state change) carry the key
    # of their source: unique, so copying again after a restart or on another replica adds none.
    Column("source_key", String(256), unique=True),
    Index("ix_incident_events_incident", "incident_id", "at", "id"),
)
