"""What the rule engine reports about its groups, rules and alerts (for the API and UI),
and the state store protocol it persists alert state through."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from vigil.model.labels import Labels

AlertState = Literal["inactive", "pending", "firing"]


@dataclass(frozen=True)
class ActiveAlert:
    """An alert a rule currently holds, pending or firing."""

    labels: Labels
    annotations: Labels
    state: AlertState
    active_at: datetime  # when the condition first held (start of `for`)
    fired_at: datetime | None
    resolved_at: datetime | None
    last_sent_at: datetime | None
    value: float
    keep_firing_since: datetime | None = None


@dataclass(frozen=True)
class RuleStatus:
    name: str
    query: str
    type: Literal["alerting", "recording"]
    health: Literal["ok", "err", "unknown"]
    last_error: str
    last_evaluation: datetime | None
    evaluation_time_s: float
    labels: Labels
    annotations: Labels = Labels()
    duration_s: float = 0.0  # `for`
    keep_firing_for_s: float = 0.0
    state: AlertState = "inactive"
    alerts: tuple[ActiveAlert, ...] = ()


@dataclass(frozen=True)
class GroupStatus:
    name: str
    file: str
    interval_s: float
    last_evaluation: datetime | None
    evaluation_time_s: float
    rules: tuple[RuleStatus, ...] = field(default_factory=tuple)


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
    """Durable alert state of the rule engine. ``save_group`` replaces a group's alerts
    atomically; ``load`` returns every stored alert (called once at start)."""

    def load_rule_alerts(self) -> list[StoredAlert]: ...

    def save_rule_alerts(self, group_key: str, alerts: list[StoredAlert]) -> None: ...
