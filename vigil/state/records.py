"""What the state store keeps, as plain records, and the part of it the rule engine needs.

These types belong to the state layer, which sits below the stages it serves (rules,
alerting, and later on-call and incidents): a stage imports them from here, and the store
never imports a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from vigil.model.labels import Labels

__all__ = ["AlertState", "NotifyDecision", "OutboxEntry", "PreviousNotification", "RuleStateStore",
           "SilenceRow", "StoredAlert"]

# Where a rule's alert is in its life: held by `for` (pending), firing, or neither.
AlertState = Literal["inactive", "pending", "firing"]


@dataclass(frozen=True)
class StoredAlert:
    """One rule alert as persisted between restarts."""

    group_key: str  # "<file>;<group name>"
    rule_name: str
    labels: Labels
    annotations: Labels
    state: AlertState
    active_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    last_sent_at: datetime | None
    value: float
    keep_firing_since: datetime | None = None


class RuleStateStore(Protocol):
    """Durable alert state of the rule engine (:class:`vigil.state.Store` implements it).
    ``save_rule_alerts`` replaces one group's alerts atomically; ``load_rule_alerts``
    returns every stored alert (called once at start)."""

    def load_rule_alerts(self) -> list[StoredAlert]: ...

    def save_rule_alerts(self, group_key: str, alerts: list[StoredAlert]) -> None: ...


@dataclass(frozen=True)
class OutboxEntry:
    """One queued notification: its payload, the alerts it reports and its delivery state
    (``status`` is pending, sent, dead or superseded)."""

    id: int
    group_key: str
    receiver: str
    integration: str
    payload: dict[str, Any]
    firing: list[str]
    resolved: list[str]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    claimed_by: str | None = None  # the member delivering it (set by outbox_claim)

    @property
    def notification_id(self) -> str:
        """Stable across retries and replicas: the receiver's idempotency key."""
        return f"{self.id}-{int(self.created_at.timestamp() * 1000)}"


# What an integration was last told about a group: firing and resolved fingerprints and
# when (the pending outbox entry if there is one, else the notification log).
PreviousNotification = tuple[set[str], set[str], datetime]


@dataclass(frozen=True)
class NotifyDecision:
    """What a flush decided for one integration: queue ``payload`` (superseding a pending
    one), or, when ``payload`` is None, only log ``firing``/``resolved`` as told (nothing
    needs delivering, e.g. only resolved alerts for an integration that does not send them)."""

    payload: dict[str, Any] | None
    firing: list[str]
    resolved: list[str]


class SilenceRow(dict):
    """A silence as stored: keys id, matchers, starts_at, ends_at, created_by, comment, updated_at."""
