"""Table definitions. Changing them needs a new Alembic revision in ``migrations/versions``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
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
    # When a replica last wrote the row (its clock): other replicas read what changed since
    # their last look (with an overlap, since transactions commit out of order).
    Column("changed_at", DateTime(timezone=True), index=True),
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
    # The replica delivering it now (a cluster member id) and since when; a claim held by a
    # replica that is no longer alive is taken over.
    Column("claimed_by", String(36)),
    Column("claimed_at", DateTime(timezone=True)),
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

# --- people and access (issue 14); see vigil.state.access_store --------------------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("display_name", String(256), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),
    Column("time_zone", String(64), nullable=False, default="UTC"),
    Column("role", String(16), nullable=False),  # viewer | responder | editor | admin
    Column("disabled", Boolean, nullable=False, default=False),
    Column("password_hash", Text),  # argon2id; None: no local password (token or SSO only)
    Column("provisioned", Boolean, nullable=False, default=False),  # from the config file
    Column("failed_logins", Integer, nullable=False, default=0),  # since the last success
    Column("locked_until", DateTime(timezone=True)),
    # "<issuer> <sub>" of the single sign-on identity this account belongs to: SSO finds
    # its user by this, never by a name the identity provider lets people choose.
    Column("sso_subject", String(1024), unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("display_name", String(256), nullable=False, default=""),
    Column("provisioned", Boolean, nullable=False, default=False),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

# How to reach a user: kind is email | slack_member | slack_webhook | webhook | phone.
contact_methods = Table(
    "contact_methods",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", String(32), nullable=False),
    Column("address", Text, nullable=False),
    Column("label", String(128), nullable=False, default=""),
)

# API tokens: only the SHA-256 of the secret is kept (the secret has 256 random bits, so a
# fast hash is enough); ``prefix`` is the start of the secret, to tell tokens apart.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    Column("created_by", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# Login sessions: the cookie holds a random id; the table holds its SHA-256.
login_sessions = Table(
    "login_sessions",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("remote_addr", String(64), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Append-only: rows are inserted, and deleted only by retention (oldest first).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(256), nullable=False),
    Column("remote_addr", String(64), nullable=False, default=""),
    Column("action", String(64), nullable=False),
    Column("target", String(512), nullable=False, default=""),
    Column("before", JSON),
    Column("after", JSON),
)


# --- replicas (issue 15); see vigil.cluster and vigil.state.cluster_store -----------------

# One row per running ``vigil up`` process (a new id at every start).
cluster_members = Table(
    "cluster_members",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("version", String(32), nullable=False, default=""),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("left_at", DateTime(timezone=True)),  # set on a clean stop
    Column("info", JSON, nullable=False),  # role, shard, what the replica runs
)

# Named leases (e.g. "primary"): one holder at a time until ``expires_at``; ``epoch`` grows
# with every change of holder, so work can be fenced by the epoch it was started under.
cluster_leases = Table(
    "cluster_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(36), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# A counter per kind of shared state (silences, ...), bumped in the transaction that changes
# it, so a replica re-reads its cache only when another one changed something.
state_versions = Table(
    "state_versions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)

# Work that must happen once across the cluster and across restarts (a report, an
# escalation step, a reminder): claimed here by key before it is done.
run_once = Table(
    "run_once",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("claimed_by", String(36), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    Column("detail", JSON, nullable=False),
)
