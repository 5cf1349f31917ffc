"""The dispatcher: takes alerts in, keeps them (durably), groups them along the route tree
and, when a group's timer fires, writes one outbox entry per integration that needs telling.

``put`` is thread-safe and may be called from any thread; ``run`` is the asyncio loop that
fires group timers. Alerts are persisted so that groups, and what was already notified, come
back after a restart: the notification log then keeps the restart from re-sending.

With several replicas on one database, every replica keeps every alert and group in memory
(``sync`` merges what the others wrote), but only the primary (``is_primary``) fires group
timers. A follower's groups stay due as they would have been, so a follower that becomes
primary flushes them at once; the decision to notify is taken under a per-group lock in the
database (:meth:`vigil.state.Store.outbox_notify`), so what was already queued or sent is
not queued again, even by two replicas that both believe they are primary.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Protocol

from vigil.alerting.dispatch.aggrgroup import AggrGroup, group_key
from vigil.alerting.dispatch.dedup import needs_update
from vigil.alerting.dispatch.lifecycle import ended_before, merge, projected_end
from vigil.alerting.dispatch.route import Route, build_routes
from vigil.alerting.inhibit import Inhibitor
from vigil.alerting.notify.action_links import ActionLinks, with_action_links
from vigil.alerting.notify.integration import Integration, build_integrations
from vigil.alerting.notify.templates import load_template_files
from vigil.config.model import AlertingConfig
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.model.timeinterval import TimeInterval, contains_any, parse_intervals
from vigil.state import NotifyDecision, PreviousNotification, Store

log = logging.getLogger(__name__)

# Resolved alerts are kept this long so late duplicates do not re-open them as new.
_RESOLVED_RETENTION = timedelta(minutes=15)
# A flush that failed (the state database unreachable) is tried again this much later.
_RETRY_FAILED_FLUSH = timedelta(seconds=1)
# How often a flush also sweeps all alerts for resolved ones past retention: the sweep is
# O(alerts), too slow to run at every flush with tens of thousands of active alerts.
_SWEEP_EVERY = timedelta(seconds=30)
# How far back ``sync`` looks before its previous read: transactions commit out of order,
# so a row can become visible a little after a read that began later than its change time.
_SYNC_OVERLAP = timedelta(seconds=5)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Muter(Protocol):
    """Says whether notifications for an alert with these labels are muted now."""

    def mutes(self, labels: Labels, now: datetime) -> bool: ...


class Dispatcher:
    def __init__(self, config: AlertingConfig, store: Store, *, external_url: str,
                 silencer: Muter | None = None, base_dir: str | None = None,
                 on_enqueue: Callable[[], None] = lambda: None,
                 clock: Callable[[], datetime] = _utcnow, tick_s: float = 0.2,
                 is_primary: Callable[[], bool] = lambda: True,
                 action_links: ActionLinks | None = None) -> None:
        self.store = store
        # Makes the acknowledge/resolve links put in each notification (vigil.oncall.links).
        self.action_links = action_links
        self.is_primary = is_primary
        self.silencer = silencer
        self.base_dir = base_dir  # relative secret files in receivers resolve against it
        self.external_url = external_url
        self.on_enqueue = on_enqueue
        self.clock = clock
        self.tick_s = tick_s
        self._lock = threading.Lock()
        self._alerts: dict[str, Alert] = {}
        # Bumped on every change to _alerts, so the inhibition index is rebuilt only then.
        self._version = 0
        self._indexed_version = -1
        self._groups: dict[str, AggrGroup] = {}
        self._last_sweep: datetime | None = None
        # Database time of the last read of other replicas' alerts (None: never read).
        self._sync_lock = threading.Lock()
        self._synced_at: datetime | None = None
        self._grace_s = 0.0  # see restore
        self._was_primary = False
        # Group commit of alert writes: concurrent put() calls share one transaction (one
        # fsync); each returns only once its alerts are committed.
        self._commit_cond = threading.Condition()
        self._commit_pending: dict[str, Alert] = {}
        self._commit_open = 1  # the batch new writes join
        self._commit_done = 0  # the last batch committed
        self._committing = False
        self.apply_config(config)

    def apply_config(self, config: AlertingConfig) -> None:
        with self._lock:
            self.route: Route = build_routes(config.route)
            library = load_template_files(config.templates)
            self.receivers: dict[str, list[Integration]] = {
                r.name: build_integrations(r, base_dir=self.base_dir, library=library) for r in config.receivers
            }
            self.inhibitor = Inhibitor(config.inhibit_rules)
            self.time_intervals: dict[str, list[TimeInterval]] = parse_intervals({
                t.name: [spec.model_dump(exclude_defaults=True) for spec in t.time_intervals]
                for t in (*config.time_intervals, *config.mute_time_intervals)})
            self._indexed_version = -1
            # Regroup everything under the new tree; timers restart as Alertmanager's do.
            self._groups.clear()
            now = self.clock()
            for fp, alert in self._alerts.items():
                self._route_alert(fp, alert, now)

    def integrations(self) -> dict[tuple[str, str], Integration]:
        with self._lock:
            return {(name, i.name): i for name, ints in self.receivers.items() for i in ints}

    def restore(self, grace_s: float = 0.0) -> None:
        """Reload the alerts held before a restart.

        A firing alert's ``ends_at`` is usually a projection (its sender will re-send before
        then). If that projection ran out while Vigil itself was down, the alert is not
        resolved: it is held ``grace_s`` longer so its sender can confirm or resolve it.
        An explicit resolution (``ends_at`` not after the last update) stays resolved.
        ``grace_s`` is also the hold applied when this replica becomes primary (see
        :meth:`hold_projected`)."""
        self._grace_s = grace_s
        with self._sync_lock:
            stored, self._synced_at = self.store.alerts_changed_since(None)
        alerts = [alert for _, alert in stored]
        with self._lock:
            now = self.clock()
            for i, alert in enumerate(alerts):
                projected = projected_end(alert)
                if grace_s and projected and alert.ends_at <= now:
                    alerts[i] = alert = replace(alert, ends_at=now + timedelta(seconds=grace_s))
            for (fp, _), alert in zip(stored, alerts, strict=True):
                self._alerts[fp] = alert
                self._route_alert(fp, alert, now)
            self._version += 1
        if alerts:
            log.info("restored %d alerts", len(alerts))

    def put(self, alerts: list[Alert]) -> None:
        now = self.clock()
        changed: list[tuple[str, Alert]] = []
        with self._lock:
            for alert in alerts:
                fp = alert.fingerprint()
                old = self._alerts.get(fp)
                merged = merge(old, alert, now)
                if merged is None:
                    continue
                self._alerts[fp] = merged
                self._version += 1
                changed.append((fp, merged))
                self._route_alert(fp, merged, now)
        self._persist(changed)

    def sync(self) -> int:
        """Merge the alerts other replicas wrote since the last look into memory, without
        writing them back (they are stored already); returns how many changed here.
        Idempotent: a row already merged, or older than what is held, changes nothing.
        Thread-safe; the app calls it about every second. Deletions are not read: every
        replica forgets resolved alerts by the same retention rule."""
        with self._sync_lock:
            since = None if self._synced_at is None else self._synced_at - _SYNC_OVERLAP
            stored, self._synced_at = self.store.alerts_changed_since(since, known=self._holds)
        if not stored:
            return 0
        now = self.clock()
        changed = 0
        with self._lock:
            for fp, alert in stored:
                old = self._alerts.get(fp)
                if old is not None and alert.updated_at <= old.updated_at:
                    continue
                merged = merge(old, alert, now)
                if merged is None:
                    continue
                self._alerts[fp] = merged
                self._route_alert(fp, merged, now)
                changed += 1
            if changed:
                self._version += 1
        return changed

    def _holds(self, fingerprint: str, updated_at: datetime) -> bool:
        # Read without the lock: a stale answer can only fetch a row needlessly (what is
        # held only gets newer), or skip one already swept as long resolved.
        held = self._alerts.get(fingerprint)
        return held is not None and held.updated_at >= updated_at

    def _persist(self, alerts: list[tuple[str, Alert]]) -> None:
        """Write ``alerts`` durably before returning. One caller at a time writes, taking
        everything queued meanwhile; the others wait for the batch that holds theirs."""
        if not alerts:
            return
        with self._commit_cond:
            for fp, a in alerts:
                self._commit_pending[fp] = a
            mine = self._commit_open
            while self._commit_done < mine:
                if self._committing:
                    self._commit_cond.wait()
                    continue
                batch, self._commit_pending = self._commit_pending, {}
                batch_id, self._commit_open = self._commit_open, self._commit_open + 1
                self._committing = True
                self._commit_cond.release()
                try:
                    self.store.upsert_alerts(list(batch.values()), fingerprints=list(batch))
                finally:
                    self._commit_cond.acquire()
                    self._committing = False
                    self._commit_cond.notify_all()
                self._commit_done = batch_id

    def alerts(self) -> list[Alert]:
        with self._lock:
            return list(self._alerts.values())

    def groups(self) -> list[AggrGroup]:
        with self._lock:
            return list(self._groups.values())

    def routes_for(self, labels: Labels) -> list[str]:
        """Receivers an alert with these labels goes to."""
        with self._lock:
            return [r.options.receiver for r in self.route.match(labels)]

    def _route_alert(self, fp: str, alert: Alert, now: datetime) -> None:
        for route in self.route.match(alert.labels):
            labels = route.group_labels(alert.labels)
            key = group_key(route, labels)
            group = self._groups.get(key)
            if group is None:
                wait = timedelta(seconds=route.options.group_wait_s)
                group = self._groups[key] = AggrGroup(route, labels, key, now + wait)
            group.insert(fp, alert, now)

    async def run(self) -> None:
        """Fire group timers. Sleeps until the earliest timer, but at most ``tick_s``, so a
        flush starts within a few milliseconds of its timer (groups created meanwhile wait
        at least one group_wait, far longer than a tick)."""
        while True:
            now = self.clock()
            with self._lock:
                next_at = min((g.next_flush_at for g in self._groups.values()), default=None)
            delay = self.tick_s if next_at is None else min(self.tick_s, (next_at - now).total_seconds())
            await asyncio.sleep(max(delay, 0.005))
            now = self.clock()
            if not self.is_primary():
                # A follower notifies nobody; it only forgets what the primary has long
                # notified, so its memory does not grow while it waits to take over.
                self._was_primary = False
                await asyncio.to_thread(self.sweep, now)
                continue
            if not self._was_primary:
                self._was_primary = True
                self.hold_projected(now)
            with self._lock:
                due = [g for g in self._groups.values() if g.due(now)]
            for group in due:
                try:
                    await asyncio.to_thread(self.flush, group, now)
                except Exception:  # one broken group must not stop the others
                    log.exception("flushing group %s failed", group.key)

    def hold_projected(self, now: datetime) -> int:
        """On becoming primary (at start too): an alert whose projected end falls within the
        restore grace is held until then, so its sender (the rules, which may start being
        primary a moment after the dispatcher) can re-send it before it is notified as
        resolved and then as firing again. Alerts already run out are left: the previous
        primary may have notified them resolved. Returns how many were held."""
        if not self._grace_s:
            return 0
        hold = now + timedelta(seconds=self._grace_s)
        held = 0
        with self._lock:
            for fp, alert in list(self._alerts.items()):
                projected = projected_end(alert)
                if projected and now < alert.ends_at < hold:  # type: ignore[operator]
                    self._alerts[fp] = alert = replace(alert, ends_at=hold)
                    self._route_alert(fp, alert, now)
                    held += 1
            if held:
                self._version += 1
        return held

    def refresh_inhibitions(self, now: datetime) -> None:
        with self._lock:
            if self._indexed_version == self._version:
                return
            everything, self._indexed_version = list(self._alerts.values()), self._version
        self.inhibitor.refresh(everything, now)

    def muted(self, labels: Labels, now: datetime) -> bool:
        return self.inhibitor.mutes(labels, now) or bool(self.silencer and self.silencer.mutes(labels, now))

    def time_muted(self, route: Route, now: datetime) -> bool:
        """Whether the route's time intervals mute its notifications at ``now``: inside any
        of its ``mute_time_intervals``, or outside all of its ``active_time_intervals``
        (Alertmanager's TimeMuteStage and TimeActiveStage)."""
        opts = route.options
        if any(contains_any(self.time_intervals.get(n, ()), now) for n in opts.mute_time_intervals):
            return True
        if opts.active_time_intervals:
            return not any(contains_any(self.time_intervals.get(n, ()), now)
                           for n in opts.active_time_intervals)
        return False

    def flush(self, group: AggrGroup, now: datetime) -> None:
        self.refresh_inhibitions(now)
        with self._lock:
            alerts = sorted(group.alerts.items(), key=lambda kv: kv[1].labels)
            group.next_flush_at = now + timedelta(seconds=group.route.options.group_interval_s)
            had_flushed, group.has_flushed = group.has_flushed, True
        try:
            # Muted alerts are left out of the notification; when all are muted nothing is
            # sent and the notification log is left as it was (Alertmanager's MuteStage).
            unmuted = [(fp, a) for fp, a in alerts if not self.muted(a.labels, now)]
            if unmuted and not self.time_muted(group.route, now):
                self._flush_unmuted(group, unmuted, now)
        except Exception:
            # The state database failed mid-flush (restarting, say): what was not queued
            # is tried again shortly, not a whole group_interval later (what was queued is
            # found pending then and not queued twice).
            with self._lock:
                group.next_flush_at = now + _RETRY_FAILED_FLUSH
                group.has_flushed = had_flushed
            raise
        self._forget_resolved(group, dict(alerts), {fp for fp, a in alerts if a.resolved(now)}, now)

    def _flush_unmuted(self, group: AggrGroup, alerts: list[tuple[str, Alert]], now: datetime) -> None:
        firing = {fp for fp, a in alerts if not a.resolved(now)}
        resolved = {fp for fp, a in alerts if a.resolved(now)}
        receiver = group.route.options.receiver
        enqueued = False
        for integration in self.receivers.get(receiver, []):
            enqueued |= self._notify(group, receiver, integration, [a for _, a in alerts],
                                     firing, resolved, now)
        if enqueued:
            self.on_enqueue()

    def _notify(self, group: AggrGroup, receiver: str, integration: Integration, alerts: list[Alert],
                firing: set[str], resolved: set[str], now: datetime) -> bool:
        """Queue a notification if the integration needs one; True when one was queued.
        Decided under the store's lock on the group, against what is pending or logged at
        that moment, so replicas flushing the same group at once queue it once."""

        # Made before the store's transaction, which must not wait on other store calls.
        links = (None if self.action_links is None
                 else self.action_links(group.key, receiver, integration.name))

        def decide(previous: PreviousNotification | None) -> NotifyDecision | None:
            if not needs_update(previous, firing, resolved, send_resolved=integration.send_resolved,
                                repeat_interval_s=group.route.options.repeat_interval_s, now=now):
                return None
            to_send = alerts if integration.send_resolved else [a for a in alerts if not a.resolved(now)]
            logged_resolved = sorted(resolved) if integration.send_resolved else []
            if not to_send:
                return NotifyDecision(None, sorted(firing), logged_resolved)
            payload = integration.build(receiver=receiver, group_key=group.key,
                                        group_labels=group.labels, alerts=to_send, now=now,
                                        external_url=self.external_url)
            if links is not None:
                payload = with_action_links(integration.name, payload, links)
            return NotifyDecision(payload, sorted(firing), logged_resolved)

        return self.store.outbox_notify(group.key, receiver, integration.name, decide, now) is not None

    def _forget_resolved(self, group: AggrGroup, flushed: dict[str, Alert], resolved: set[str],
                         now: datetime) -> None:
        with self._lock:
            for fp in resolved:
                # Only drop what did not change since the flush looked at it.
                if group.alerts.get(fp) is flushed[fp]:
                    del group.alerts[fp]
            if not group.alerts:
                self._groups.pop(group.key, None)
            if self._last_sweep is not None and now - self._last_sweep < _SWEEP_EVERY:
                return
            gone = self._sweep_locked(now, grouped_too=False)
        self._delete_stored(gone, now)

    def sweep(self, now: datetime) -> None:
        """A follower's housekeeping (every 30 s at most): forget alerts resolved longer
        than the retention ago, from groups too (the primary notified them long since)."""
        with self._lock:
            if self._last_sweep is not None and now - self._last_sweep < _SWEEP_EVERY:
                return
            gone = self._sweep_locked(now, grouped_too=True)
        self._delete_stored(gone, now)

    def _sweep_locked(self, now: datetime, *, grouped_too: bool) -> list[str]:
        # Caller holds the lock.
        self._last_sweep = now
        cutoff = now - _RESOLVED_RETENTION
        if grouped_too:
            for key, g in list(self._groups.items()):
                for fp in [fp for fp, a in g.alerts.items() if ended_before(a, cutoff, now)]:
                    del g.alerts[fp]
                if not g.alerts:
                    del self._groups[key]
        grouped: set[str] = set()
        for g in self._groups.values():
            grouped.update(g.alerts)
        gone = [fp for fp, a in self._alerts.items()
                if fp not in grouped and ended_before(a, cutoff, now)]
        for fp in gone:
            del self._alerts[fp]
        if gone:
            self._version += 1
        return gone

    def _delete_stored(self, fingerprints: list[str], now: datetime) -> None:
        # Every replica runs the same rule, so the rows may be gone already; and only rows
        # still ended in the database go, so an alert another replica re-opened meanwhile
        # (not yet synced here) stays.
        self.store.delete_alerts(fingerprints, ended_before=now - _RESOLVED_RETENTION)
