"""Durable state that is not time series: rule alert state, the dispatcher's alerts, the
notification outbox and the notification log. One :class:`Store` behind SQLAlchemy 2:
SQLite by default, PostgreSQL for several replicas (notifications are decided under a
per-group lock and delivered under claims, so replicas send each one once). The schema is managed by Alembic and
upgraded when the store opens.

The state layer sits below the stages it serves: rules and alerting import it (its records
in :mod:`vigil.state.records`), and it imports only errors, model and config."""

from vigil.state.records import (
    AlertState,
    NotifyDecision,
    OutboxEntry,
    PreviousNotification,
    RuleStateStore,
    SilenceRow,
    StoredAlert,
)
from vigil.state.store import Store

__all__ = ["AlertState", "NotifyDecision", "OutboxEntry", "PreviousNotification", "RuleStateStore",
           "SilenceRow", "Store", "StoredAlert"]
