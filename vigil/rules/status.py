"""What the rule engine reports about its groups, rules and alerts (for the API and UI).

The alert state it persists between restarts (:class:`~vigil.state.records.StoredAlert`,
through a :class:`~vigil.state.records.RuleStateStore`) is the state layer's vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from vigil.model.labels import Labels
from vigil.state.records import AlertState

__all__ = ["ActiveAlert", "AlertState", "GroupStatus", "RuleStatus"]


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
    language: str = "promql"  # the query language of its expressions (rulefmt.RuleGroup)
