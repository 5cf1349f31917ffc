"""A rule group at run time: its rules, evaluation, staleness and state carry-over.

Rules of a group are evaluated in order at the same timestamp, so a rule may use series
recorded by an earlier rule of the same group. Series a rule wrote at the previous
evaluation but not at this one get a staleness marker (as Prometheus's ``group.go`` does),
so queries stop seeing them at once instead of after the 5-minute lookback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from vigil.errors import QueryError
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.promql.value import Sample
from vigil.rules._base import QueryFunc, ms_to_dt
from vigil.rules.alerting import AlertingRule
from vigil.rules.recording import RecordingRule
from vigil.rules.rulefmt import PROMQL, RuleGroup
from vigil.rules.status import GroupStatus
from vigil.selfmetrics import SelfMetrics
from vigil.state.records import StoredAlert
from vigil.storage import STALE_NAN, Storage

log = logging.getLogger(__name__)

Rule = AlertingRule | RecordingRule


@dataclass(frozen=True)
class Options:
    """Settings every group of a :class:`vigil.rules.Manager` shares. Durations in seconds.
    ``query`` evaluates PromQL groups; ``languages`` the groups of other query languages, by
    the name their loader gave them (:attr:`RuleGroup.language`)."""

    query: QueryFunc
    storage: Storage
    metrics: SelfMetrics
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    default_interval_s: float = 15.0
    resend_delay_s: float = 60.0
    clock: Callable[[], float] = time.time
    languages: Mapping[str, QueryFunc] = field(default_factory=dict)

    def query_for(self, language: str) -> QueryFunc:
        """The query function of ``language``; one that fails every evaluation (the rules
        show the reason) when nothing here evaluates that language."""
        if language == PROMQL:
            return self.query
        found = self.languages.get(language)
        if found is not None:
            return found

        def unavailable(expr: object, ts_ms: int) -> NoReturn:
            raise QueryError(f"no {language} query engine is running to evaluate this rule")

        return unavailable


def _fnv64a(text: str) -> int:
    h = 0xCBF29CE484222325
    for b in text.encode():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class Group:
    """One rule group's rules and evaluation state. Not thread-safe: the manager serialises."""

    def __init__(self, spec: RuleGroup, opts: Options) -> None:
        self.spec = spec
        self.opts = opts
        self.key = spec.key
        self.interval_ms = round((spec.interval_s or opts.default_interval_s) * 1000)
        self.query_offset_ms = round((spec.query_offset_s or 0.0) * 1000)
        self.query = opts.query_for(spec.language)
        self.rules: list[Rule] = [
            RecordingRule(r) if r.record else AlertingRule(
                r, external_labels=dict(opts.external_labels), external_url=opts.external_url,
                language=spec.language)
            for r in spec.rules
        ]
        self.series_in_previous_eval: list[set[Labels]] = [set() for _ in self.rules]
        self.stale_series: list[Labels] = []  # of rules removed by a reload: marked once
        self.last_evaluation_ms: int | None = None
        self.evaluation_time_s = 0.0

    def eval_timestamp(self, now_ms: int) -> int:
        """The latest evaluation slot at or before ``now_ms``. Slots are ``interval`` apart
        and offset by a hash of the group, spreading groups over the interval."""
        offset = _fnv64a(f"{self.spec.name}\xff{self.spec.file}") % self.interval_ms
        adj = now_ms - offset
        return adj - adj % self.interval_ms + offset

    def evaluate(self, ts_ms: int, *, alerting: bool = True) -> list[Alert]:
        """Evaluate every rule at ``ts_ms``; append results; return the alerts due to send.
        A rule that fails is marked ``health="err"`` and the others still run. With
        ``alerting`` False (a replica that is not the primary) only recording rules run,
        and series alerting rules wrote before are ended with staleness markers."""
        start = time.perf_counter()
        to_send: list[Alert] = []
        resend_ms = round(self.opts.resend_delay_s * 1000)
        for i, rule in enumerate(self.rules):
            if not alerting and isinstance(rule, AlertingRule):
                if self.series_in_previous_eval[i]:
                    self._write_stale(self.series_in_previous_eval[i], ts_ms - self.query_offset_ms)
                    self.series_in_previous_eval[i] = set()
                continue
            t0 = time.perf_counter()
            try:
                samples = rule.eval(ts_ms, self.query_offset_ms, self.query, self.spec.limit)
            except Exception as exc:  # noqa: BLE001 - one bad rule must not stop the group
                rule.health.record(ts_ms, time.perf_counter() - t0, str(exc))
                self.opts.metrics.rule_eval_failures.labels(self.key).inc()
                log.warning("rule %r in group %r failed: %s", rule.name, self.key, exc)
                continue
            if isinstance(rule, AlertingRule):
                to_send.extend(rule.alerts_to_send(ts_ms, resend_ms, self.interval_ms))
            # One commit per rule, so that later rules of the group see what this one wrote.
            error = self._append(i, samples, ts_ms)
            rule.health.record(ts_ms, time.perf_counter() - t0, error)
        if self.stale_series:
            self._write_stale(self.stale_series, ts_ms - self.query_offset_ms)
            self.stale_series = []
        self.last_evaluation_ms = ts_ms
        self.evaluation_time_s = time.perf_counter() - start
        self.opts.metrics.rule_eval_duration.labels(self.key).observe(self.evaluation_time_s)
        return to_send

    def _append(self, i: int, samples: list[Sample], ts_ms: int) -> str | None:
        app = self.opts.storage.appender()
        returned: set[Labels] = set()
        error = None
        for s in samples:
            try:
                app.append(s.labels, s.ts_ms, s.value)
            except Exception as exc:  # noqa: BLE001 - e.g. out of order: report, keep going
                error = f"appending {s.labels}: {exc}"
                continue
            returned.add(s.labels)
        for labels in self.series_in_previous_eval[i] - returned:
            try:
                app.append(labels, ts_ms - self.query_offset_ms, STALE_NAN)
            except Exception as exc:  # noqa: BLE001
                log.warning("stale marker for %s failed: %s", labels, exc)
        try:
            app.commit()
        except Exception as exc:  # noqa: BLE001 - the store refused the batch: report it
            app.rollback()
            return f"committing rule results: {exc}"
        self.series_in_previous_eval[i] = returned
        return error

    def mark_all_stale(self, ts_ms: int) -> None:
        """Write staleness markers for everything this group wrote last (it was removed)."""
        self._write_stale(set().union(*self.series_in_previous_eval, self.stale_series), ts_ms)

    def _write_stale(self, series: Iterable[Labels], ts_ms: int) -> None:
        app = self.opts.storage.appender()
        for labels in series:
            try:
                app.append(labels, ts_ms, STALE_NAN)
            except Exception as exc:  # noqa: BLE001 - e.g. a newer sample exists: nothing to end
                log.warning("stale marker for %s failed: %s", labels, exc)
        try:
            app.commit()
        except Exception as exc:  # noqa: BLE001
            app.rollback()
            log.warning("writing stale markers of group %r failed: %s", self.key, exc)

    def copy_state(self, old: Group) -> None:
        """Carry state over a reload: rules match by name and labels, in order; alerts of a
        matched alerting rule are kept; series of rules gone are marked stale next time."""
        self.last_evaluation_ms = old.last_evaluation_ms
        self.evaluation_time_s = old.evaluation_time_s
        by_key: dict[tuple[str, tuple[tuple[str, str], ...]], list[int]] = {}
        for fi, r in enumerate(old.rules):
            by_key.setdefault((r.name, r.rule.labels), []).append(fi)
        for i, r in enumerate(self.rules):
            indexes = by_key.get((r.name, r.rule.labels))
            if not indexes:
                continue
            fi = indexes.pop(0)
            self.series_in_previous_eval[i] = old.series_in_previous_eval[fi]
            old_rule = old.rules[fi]
            if isinstance(r, AlertingRule) and isinstance(old_rule, AlertingRule):
                r.active = dict(old_rule.active)
        self.stale_series = list(old.stale_series)
        for indexes in by_key.values():
            for fi in indexes:
                self.stale_series.extend(old.series_in_previous_eval[fi])

    def restore(self, alerts: list[StoredAlert]) -> None:
        """Give stored alerts back to the alerting rules they belong to."""
        for a in alerts:
            for r in self.rules:
                if isinstance(r, AlertingRule) and r.name == a.rule_name and r.owns(a.labels):
                    r.restore(a)
                    break

    def forget_alerts(self) -> None:
        """Drop every alerting rule's alerts (another replica owns them now)."""
        for r in self.rules:
            if isinstance(r, AlertingRule):
                r.active = {}

    def stored_alerts(self) -> list[StoredAlert]:
        out: list[StoredAlert] = []
        for r in self.rules:
            if isinstance(r, AlertingRule):
                out.extend(r.stored(self.key))
        return out

    def status(self) -> GroupStatus:
        return GroupStatus(
            name=self.spec.name, file=self.spec.file, interval_s=self.interval_ms / 1000.0,
            last_evaluation=ms_to_dt(self.last_evaluation_ms),
            evaluation_time_s=self.evaluation_time_s,
            rules=tuple(r.status() for r in self.rules), language=self.spec.language,
        )
