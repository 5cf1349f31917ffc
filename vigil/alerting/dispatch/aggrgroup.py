"""An aggregation group: the alerts of one route that share the route's ``group_by`` labels,
flushed together on Alertmanager's timers (``group_wait`` first, then ``group_interval``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.alerting.dispatch.route import Route
from vigil.model.alert import Alert
from vigil.model.labels import Labels


def group_key(route: Route, group_labels: Labels) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in group_labels)
    return f"{route.key}:{{{inner}}}"


@dataclass
class AggrGroup:
    route: Route
    labels: Labels
    key: str
    next_flush_at: datetime
    alerts: dict[str, Alert] = field(default_factory=dict)
    has_flushed: bool = False

    def insert(self, fingerprint: str, alert: Alert, now: datetime) -> None:
        self.alerts[fingerprint] = alert
        # An alert that has been firing longer than group_wait is not held back (Alertmanager).
        wait = timedelta(seconds=self.route.options.group_wait_s)
        if not self.has_flushed and alert.starts_at + wait < now:
            self.next_flush_at = min(self.next_flush_at, now)

    def due(self, now: datetime) -> bool:
        return self.next_flush_at <= now
