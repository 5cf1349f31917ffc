"""The alert lifecycle service: keeps one episode per firing aggregation group, and the
acknowledge, unacknowledge and resolve actions people take on them.

Who feeds it: a reconciliation on the primary, about once a second, reads the dispatcher's
groups (every replica holds every group, the primary's view is the complete one) and
  * opens an episode for a group with at least one active (not silenced, not inhibited)
    firing alert and no unresolved episode, or one that fired again after its resolution;
  * raises an episode's priority when a more urgent alert joined its group;
  * resolves (as Vigil, without a classification) the episode of a group whose alerts all
    resolved;
  * records, once, the SLA breach of every episode whose acknowledge deadline passed
    unacknowledged (:meth:`LifecycleStore.breached_unacknowledged` is the escalation hook).
Reconciling reads the groups rather than hooking into flushes so that it needs nothing from
the dispatcher and catches up on its own after a restart or a take-over; each of its writes
is decided in the database, so two replicas that both believe they are primary still open,
resolve and record every episode once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from vigil.alerting.service import Alerting
from vigil.config.oncall import OncallConfig
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, match_all
from vigil.oncall.links import ActionLinkMaker
from vigil.oncall.primary_loop import run_while_primary
from vigil.oncall.priorities import group_priority, group_runbooks
from vigil.state.lifecycle_store import Episode, LifecycleStore

__all__ = ["FiringGroup", "Lifecycle", "OncallMetrics", "firing_groups"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiringGroup:
    """An aggregation group with unresolved alerts, as the lifecycle needs it."""

    key: str
    receiver: str
    labels: Labels
    alerts: tuple[Alert, ...]
    active: bool  # at least one alert neither silenced nor inhibited


def firing_groups(alerting: Alerting) -> list[FiringGroup]:
    """The dispatcher's groups that hold unresolved alerts, with whether any is active."""
    now = alerting.clock()
    alerting.silences.sync()
    alerting.dispatcher.refresh_inhibitions(now)
    out = []
    for group in alerting.dispatcher.groups():
        live = tuple(a for a in list(group.alerts.values()) if not a.resolved(now))
        if live:
            active = any(not alerting.dispatcher.muted(a.labels, now) for a in live)
            out.append(FiringGroup(group.key, group.route.options.receiver, group.labels, live, active))
    return out


class OncallMetrics(Protocol):
    """Where the lifecycle counts (vigil.selfmetrics.SelfMetrics has these, per priority)."""

    oncall_acknowledge_seconds: Any  # histogram: opening to first acknowledgement
    oncall_sla_breaches: Any  # counter: breaches this replica recorded


class Lifecycle:
    def __init__(self, store: LifecycleStore, config: OncallConfig,
                 groups: Callable[[], list[FiringGroup]], *, metrics: OncallMetrics | None = None,
                 is_primary: Callable[[], bool] = lambda: True, interval_s: float = 1.0,
                 links: ActionLinkMaker | None = None) -> None:
        self.store = store
        # The signed acknowledge/resolve links of notifications (None: no links).
        self.links = links
        # Groups for which opening was refused (resolved by hand while still firing), by
        # the start of their newest alert: not asked again until a newer alert fires. Only
        # saves database writes; the decision itself is the database's.
        self._refused: dict[str, datetime] = {}
        self.config = config
        self.groups = groups
        self.metrics = metrics
        self.is_primary = is_primary
        self.interval_s = interval_s

    # --- fed by the alerting stage ---
    def reconcile(self) -> None:
        """One pass (see the module's docstring). Call on the primary only."""
        groups = {g.key: g for g in self.groups()}
        unresolved = self.store.unresolved_by_group()
        for key, group in groups.items():
            priority = group_priority(group.alerts, self.config.default_priority)
            episode = unresolved.get(key)
            if episode is None:
                newest = max(a.starts_at for a in group.alerts)
                if group.active and self._refused.get(key) != newest:
                    opened = self.store.open(
                        key, receiver=group.receiver, group_labels=group.labels.to_dict(),
                        priority=priority, deadline_s=self.config.deadline_s(priority),
                        runbooks=group_runbooks(group.alerts), refired_since=newest)
                    if opened is None:
                        self._refused[key] = newest
            elif priority < episode.priority:
                self.store.raise_priority(episode.id, priority, self.config.deadline_s(priority))
        for key in [k for k in self._refused if k not in groups]:
            del self._refused[key]
        for key, episode in unresolved.items():
            if key not in groups:
                self.store.resolve(episode.id, actor=None, via="vigil", classification=None,
                                   note="every alert of the group resolved")
        for episode in self.store.record_breaches():
            log.warning("alert episode %s (%s) was not acknowledged by its deadline",
                        episode.id, episode.priority)
            if self.metrics is not None:
                self.metrics.oncall_sla_breaches.labels(episode.priority).inc()

    def config_changed(self, config: OncallConfig) -> None:
        """A reload: new deadlines apply to episodes opened from now on, a new link
        lifetime to links made from now on."""
        self.config = config
        if self.links is not None:
            self.links.ttl_s = config.action_link_ttl

    async def run(self) -> None:
        """Reconcile about every ``interval_s`` while primary (see :func:`run_while_primary`)."""
        await run_while_primary(self.reconcile, interval_s=self.interval_s,
                                is_primary=self.is_primary, log=log,
                                failed="reconciling alert episodes failed")

    # --- people's actions ---
    def acknowledge(self, episode_id: str, *, actor: str, via: str, note: str = "") -> Episode:
        episode = self.store.acknowledge(episode_id, actor=actor, via=via, note=note)
        first = episode.first_acknowledged_at
        if self.metrics is not None and first is not None and first == episode.acknowledged_at:
            self.metrics.oncall_acknowledge_seconds.labels(episode.priority).observe(
                max(0.0, (first - episode.opened_at).total_seconds()))
        return episode

    def unacknowledge(self, episode_id: str, *, actor: str, via: str, note: str = "") -> Episode:
        return self.store.unacknowledge(episode_id, actor=actor, via=via, note=note)

    def resolve(self, episode_id: str, *, actor: str, via: str, classification: str,
                procedure: str = "", note: str = "") -> Episode:
        return self.store.resolve(episode_id, actor=actor, via=via, classification=classification,
                                  procedure=procedure, note=note)

    def select(self, matchers: list[Matcher]) -> list[Episode]:
        """Unresolved episodes whose group labels match every matcher."""
        return [ep for ep in self.store.episodes(unresolved_only=True)
                if match_all(matchers, Labels(ep.group_labels))]

    def now(self) -> datetime:
        return self.store.now()
