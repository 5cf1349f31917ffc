"""The alerting stage as other stages and the API see it: alerts in, alert and group views
with their status (active or suppressed, by which silences and inhibiting alerts) out, and
the silences. Built by the app from the dispatcher and the silencer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.silence import Silences
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.state import OutboxEntry


@dataclass(frozen=True)
class AlertView:
    alert: Alert
    fingerprint: str
    state: Literal["active", "suppressed", "unprocessed"]
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    receivers: tuple[str, ...]


@dataclass(frozen=True)
class GroupView:
    labels: Labels
    receiver: str
    alerts: tuple[AlertView, ...]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Alerting:
    def __init__(self, dispatcher: Dispatcher, silences: Silences, *, resolve_timeout_s: float,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.dispatcher = dispatcher
        self.silences = silences
        self.resolve_timeout = timedelta(seconds=resolve_timeout_s)
        self.clock = clock

    def put_alerts(self, alerts: list[Alert]) -> None:
        """Accept alerts from a client (another Prometheus, a script). An alert without an
        end gets one ``resolve_timeout`` after now, as Alertmanager does."""
        now = self.clock()
        fixed = [
            a if a.ends_at is not None else Alert(a.labels, a.annotations, a.starts_at,
                                                  now + self.resolve_timeout, a.generator_url, now)
            for a in alerts
        ]
        self.dispatcher.put(fixed)

    def view(self, alert: Alert, now: datetime) -> AlertView:
        silenced = tuple(self.silences.silenced_by(alert.labels, now))
        inhibited = tuple(self.dispatcher.inhibitor.inhibited_by(alert.labels, now))
        return AlertView(alert, alert.fingerprint(), "suppressed" if silenced or inhibited else "active",
                         silenced, inhibited, tuple(self.dispatcher.routes_for(alert.labels)))

    def alerts(self) -> list[AlertView]:
        """Alerts not yet resolved, sorted by labels."""
        now = self.clock()
        self.silences.sync()  # another replica's silence shows at once
        self.dispatcher.refresh_inhibitions(now)
        live = [a for a in self.dispatcher.alerts() if not a.resolved(now)]
        return [self.view(a, now) for a in sorted(live, key=lambda a: a.labels)]

    def groups(self) -> list[GroupView]:
        now = self.clock()
        self.silences.sync()
        self.dispatcher.refresh_inhibitions(now)
        out = []
        for group in self.dispatcher.groups():
            alerts = [a for a in group.alerts.values() if not a.resolved(now)]
            if alerts:
                out.append(GroupView(group.labels, group.route.options.receiver,
                                     tuple(self.view(a, now) for a in sorted(alerts, key=lambda a: a.labels))))
        return sorted(out, key=lambda g: (g.receiver, g.labels))

    def receivers(self) -> list[str]:
        return sorted(self.dispatcher.receivers)

    def notifications(self, *, status: str | None = None, receiver: str | None = None,
                      limit: int = 200) -> list[OutboxEntry]:
        """Notifications in the outbox, newest first, with their delivery status
        (pending, sent, dead, superseded), attempts and last error (A3)."""
        return self.dispatcher.store.outbox_list(limit, status=status, receiver=receiver)

    def routes_test(self, labels: Labels) -> list[str]:
        """The receivers an alert with ``labels`` would reach (``amtool config routes test``)."""
        return self.dispatcher.routes_for(labels)
