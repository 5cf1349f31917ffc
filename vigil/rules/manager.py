"""The rule manager: holds the loaded groups, evaluates them on schedule, sends alerts on,
and persists alert state so that a restart keeps ``for`` progress and firing alerts.

Replicas (issue 15): alerting rules are evaluated by the primary only (``is_primary``). A
replica that becomes primary first reloads the alert state the previous primary saved, so
``for`` timers continue from their ``activeAt`` and firing alerts are not re-sent before
``resend_delay``; a replica that stops being primary sends nothing and shows the primary's
alerts (re-read from the state store at its evaluations) on its pages and API.
Recording rules run on every replica (each into its own TSDB, as a Prometheus HA pair) unless
``replica_records`` is False (one shared metrics store: the primary alone records).

Concurrency: :meth:`Manager.run` runs on an asyncio loop; each evaluation runs in a worker
thread (queries are CPU-bound) under one lock, which :meth:`update` and the status methods
also take, so groups are evaluated one at a time and never while being replaced.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping

from vigil.model.alert import Alert
from vigil.rules._base import QueryFunc
from vigil.rules.group import Group, Options
from vigil.rules.rulefmt import RuleGroup
from vigil.rules.status import ActiveAlert, GroupStatus
from vigil.selfmetrics import SelfMetrics
from vigil.state.records import RuleStateStore, StoredAlert
from vigil.storage import Storage

log = logging.getLogger(__name__)

NotifyFunc = Callable[[list[Alert]], None]
"""Receives the alerts to send (firing and resolved) after a group evaluation. Called from
the evaluating thread (a worker thread under :meth:`Manager.run`), so it must be thread-safe
and quick: hand the alerts to a queue rather than deliver them. An exception is logged."""


_MIRROR_EVERY_MS = 1000


def _always() -> bool:
    return True


def _snapshot(alerts: list[StoredAlert]) -> tuple[StoredAlert, ...]:
    # The value changes at every evaluation but is not needed to restore: leave it out of
    # the comparison so that steady alerts are not rewritten every interval.
    return tuple(dataclasses.replace(a, value=0.0) for a in alerts)


class Manager:
    """Evaluates rule groups. See the module docstring for threading."""

    def __init__(
        self,
        *,
        query: QueryFunc,
        notify: NotifyFunc,
        storage: Storage,
        state_store: RuleStateStore | None,
        metrics: SelfMetrics,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
        default_interval_s: float = 15.0,
        resend_delay_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        is_primary: Callable[[], bool] | None = None,
        replica_records: bool = True,
        languages: Mapping[str, QueryFunc] | None = None,
    ) -> None:
        # ``query`` evaluates PromQL groups; ``languages`` maps another language's name (the
        # RuleGroup.language its loader set, e.g. "logql") to its query function.
        self._opts = Options(
            query=query, storage=storage, metrics=metrics,
            external_labels=dict(external_labels or {}), external_url=external_url.rstrip("/"),
            default_interval_s=default_interval_s, resend_delay_s=resend_delay_s, clock=clock,
            languages=dict(languages or {}),
        )
        self._notify = notify
        self._state_store = state_store
        self._groups: dict[str, Group] = {}
        self._lock = threading.RLock()
        self._restored = False
        self._saved: dict[str, tuple[StoredAlert, ...]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        # Replicas: whether this one may alert now, and whether recording rules run when not.
        self._is_primary = is_primary or _always
        self._replica_records = replica_records
        # True: the alerts in memory are the cluster's (loaded by a take-over and kept since
        # as primary); False: stepped down. None at start: the first evaluation decides,
        # since another replica may have been primary after the restore in update().
        self._alerting: bool | None = None
        self._mirrored_ms: int | None = None  # evaluation time of a replica's last copy

    # ------------------------------------------------------------ loading

    def update(self, groups: list[RuleGroup]) -> None:
        """Replace the rule groups. Unchanged groups keep running as they are; changed ones
        keep the alerts of rules that still exist (same group file and name, rule name and
        labels). The first call also restores alerts saved by an earlier process."""
        with self._lock:
            stored: dict[str, list[StoredAlert]] = {}
            if not self._restored:
                self._restored = True
                if self._state_store is not None:
                    for a in self._state_store.load_rule_alerts():
                        stored.setdefault(a.group_key, []).append(a)
            new: dict[str, Group] = {}
            for spec in groups:
                if spec.key in new:
                    log.warning("duplicate rule group %r ignored", spec.key)
                    continue
                old = self._groups.get(spec.key)
                if old is not None and old.spec == spec:
                    new[spec.key] = old
                    continue
                g = Group(spec, self._opts)
                if old is not None:
                    g.copy_state(old)
                elif spec.key in stored:
                    g.restore(stored[spec.key])
                    self._saved[spec.key] = _snapshot(stored[spec.key])
                new[spec.key] = g
            now_ms = int(self._opts.clock() * 1000)
            primary = self._is_primary()
            for key, g in self._groups.items():
                if key not in new:
                    g.mark_all_stale(now_ms)
                    if primary:  # a replica leaves the cluster's saved state alone
                        self._save(key, [])
            self._groups = new
            self._update_gauges()
        if self._loop is not None and self._changed is not None:
            self._loop.call_soon_threadsafe(self._changed.set)

    # ------------------------------------------------------------ evaluation

    def evaluate_group(self, group: RuleGroup, ts_ms: int) -> None:
        """Evaluate one loaded group at ``ts_ms`` (Unix ms), synchronously: append the
        results, send due alerts through ``notify``, persist changed alert state."""
        with self._lock:
            g = self._groups.get(group.key)
            if g is None:
                raise KeyError(f"rule group {group.key!r} is not loaded")
        self._evaluate(g, ts_ms)

    def _evaluate(self, g: Group, ts_ms: int) -> None:
        primary = self._is_primary()
        with self._lock:
            if self._groups.get(g.key) is not g:
                return  # replaced by a reload while this evaluation waited
            if primary and self._alerting is not True:
                primary = self._take_over()
            if not primary and self._alerting is not False:
                self._step_down()
            if not primary:
                self._mirror(ts_ms)
            if not primary and not self._replica_records:
                return
            alerts = g.evaluate(ts_ms, alerting=primary)
            if primary:
                self._save(g.key, g.stored_alerts())
            self._update_gauges()
        # Sent even if the role ended during this evaluation: the state just saved says
        # they were sent, and alerts reaching the dispatcher twice are merged (it decides
        # to notify under a lock in the database), while alerts never sent would wait for
        # resend_delay on the next primary.
        if alerts:
            try:
                self._notify(alerts)
            except Exception:  # noqa: BLE001 - the sender's failure must not stop evaluation
                log.exception("sending %d alerts of group %r failed", len(alerts), g.key)

    def _take_over(self) -> bool:
        """Become the one evaluating alerts: load the alert state the previous primary
        saved. False (stay a replica this round) when the state store cannot be read."""
        try:
            stored = self._load_stored()
        except Exception as exc:  # noqa: BLE001 - e.g. the database restarting: retry next time
            log.warning("primary: the saved alert state cannot be read (%s); not alerting yet", exc)
            return False
        self._show(stored)
        self._saved = {key: _snapshot(stored.get(key, [])) for key in self._groups}
        self._alerting = True
        log.info("primary: evaluating alerting rules, %d saved alerts taken over",
                 sum(len(v) for v in stored.values()))
        return True

    def _step_down(self) -> None:
        """Stop alerting: the alerts in memory may go stale while another replica owns them."""
        self._show({})
        self._saved.clear()
        self._mirrored_ms = None
        self._alerting = False
        log.info("not primary: alerting rules are evaluated by the primary")

    def _mirror(self, ts_ms: int) -> None:
        """On a replica, show the primary's alerts (pages and API read them from memory):
        re-read the saved state, at most once per second of evaluation time. Never sent
        from here; a take-over reads the state again anyway."""
        if self._state_store is None or (
                self._mirrored_ms is not None and ts_ms - self._mirrored_ms < _MIRROR_EVERY_MS):
            return
        try:
            stored = self._load_stored()
        except Exception as exc:  # noqa: BLE001 - keep showing the last copy
            log.debug("reading the primary's alert state failed: %s", exc)
            return
        self._show(stored)
        self._mirrored_ms = ts_ms

    def _load_stored(self) -> dict[str, list[StoredAlert]]:
        stored: dict[str, list[StoredAlert]] = {}
        if self._state_store is not None:
            for a in self._state_store.load_rule_alerts():
                stored.setdefault(a.group_key, []).append(a)
        return stored

    def _show(self, stored: dict[str, list[StoredAlert]]) -> None:
        """Replace every group's alerts with ``stored`` (group key -> alerts)."""
        for key, g in self._groups.items():
            g.forget_alerts()
            g.restore(stored.get(key, []))

    def _save(self, key: str, alerts: list[StoredAlert]) -> None:
        if self._state_store is None:
            return
        snap = _snapshot(alerts)
        if self._saved.get(key, ()) == snap:
            return
        try:
            self._state_store.save_rule_alerts(key, alerts)
        except Exception:  # noqa: BLE001 - keep evaluating; the next change retries the save
            log.exception("saving alert state of group %r failed", key)
            return
        self._saved[key] = snap

    def _update_gauges(self) -> None:
        counts = {"pending": 0, "firing": 0}
        for g in self._groups.values():
            for r in g.rules:
                for a in getattr(r, "active", {}).values():
                    if a.state in counts:
                        counts[a.state] += 1
        for state, n in counts.items():
            self._opts.metrics.alerts_active.labels(state).set(n)

    async def run(self) -> None:
        """Evaluate every group at its interval until cancelled. Each group's evaluation
        times are aligned to a group-specific offset within the interval (as Prometheus)."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        tasks: dict[str, tuple[Group, asyncio.Task[None]]] = {}
        try:
            while True:
                self._changed.clear()
                with self._lock:
                    current = dict(self._groups)
                for key, (g, task) in list(tasks.items()):
                    if current.get(key) is not g:
                        task.cancel()
                        del tasks[key]
                for key, g in current.items():
                    if key not in tasks:
                        tasks[key] = (g, asyncio.create_task(self._run_group(g)))
                await self._changed.wait()
        finally:
            for _, task in tasks.values():
                task.cancel()
            await asyncio.gather(*(t for _, t in tasks.values()), return_exceptions=True)
            self._loop = self._changed = None

    async def _run_group(self, g: Group) -> None:
        clock = self._opts.clock
        interval = g.interval_ms
        next_ts = g.eval_timestamp(int(clock() * 1000)) + interval
        while True:
            delay = (next_ts - clock() * 1000) / 1000.0
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await asyncio.to_thread(self._evaluate, g, next_ts)
            except Exception:  # noqa: BLE001 - keep the schedule; the next slot may work
                log.exception("evaluating rule group %r failed", g.key)
            next_ts += interval
            now = int(clock() * 1000)
            if now >= next_ts + interval:  # evaluation overran: skip the missed slots
                missed = (now - next_ts) // interval
                log.warning("rule group %r missed %d evaluations", g.key, missed)
                next_ts += missed * interval

    # ------------------------------------------------------------ reporting

    def groups(self) -> list[GroupStatus]:
        with self._lock:
            return [g.status() for g in self._groups.values()]

    def alerts(self) -> list[ActiveAlert]:
        """Every pending and firing alert of every rule."""
        with self._lock:
            out: list[ActiveAlert] = []
            for g in self._groups.values():
                for r in g.rules:
                    if hasattr(r, "active_alerts"):
                        out.extend(r.active_alerts())
            return out
