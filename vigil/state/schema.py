"""Table definitions. Changing them needs a new Alembic revision in ``migrations/versions``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

rule_alerts = Table(
    "rule_alerts",
    metadata,
    Column("group_key", String(512), primary_key=True),
    Column("rule_name", String(256), primary_key=True),
    Column("fingerprint", String(16), primary_key=True),
    Column("labels", JSON, nullable=False),
    Column("annotations", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("active_at", DateTime(timezone=True), nullable=False),
    Column("fired_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("last_sent_at", DateTime(timezone=True)),
    Column("keep_firing_since", DateTime(timezone=True)),
    Column("value", Float, nullable=False),
)

# Alerts the dispatcher holds, so aggregation groups come back after a restart.
alerts = Table(
    "alerts",
    metadata,
    Column("fingerprint", String(16), primary_key=True),
    Column("labels", JSON, nullable=False),
    Column("annotations", JSON, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True)),
    Column("generator_url", Text, nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# What each integration of each aggregation group was last told (Alertmanager's nflog).
nflog = Table(
    "nflog",
    metadata,
    Column("group_key", String(1024), primary_key=True),
    Column("receiver", String(256), primary_key=True),
    Column("integration", String(64), primary_key=True),
    Column("firing", JSON, nullable=False),
    Column("resolved", JSON, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_key", String(1024), nullable=False),
    Column("receiver", String(256), nullable=False),
    Column("integration", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("firing", JSON, nullable=False),
    Column("resolved", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("matchers", JSON, nullable=False),  # [{"name","value","isRegex","isEqual"}]
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("comment", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every create, update and expiry of a silence, with who did it and why.
silence_events = Table(
    "silence_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("silence_id", String(36), nullable=False, index=True),
    Column("action", String(16), nullable=False),  # create | update | expire
    Column("author", String(256), nullable=False),
    Column("comment", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("snapshot", JSON, nullable=False),
)
