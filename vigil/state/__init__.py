"""Durable state that is not time series: rule alert state, the dispatcher's alerts, the
notification outbox and the notification log. One :class:`Store` behind SQLAlchemy 2:
SQLite by default, PostgreSQL for several replicas. The schema is managed by Alembic and
upgraded when the store opens."""

from vigil.state.store import OutboxEntry, Store

__all__ = ["OutboxEntry", "Store"]
