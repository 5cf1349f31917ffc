"""Alerting rules and their alert state machine (Prometheus ``rules/alerting.go``).

Per evaluation at ``ts``: every series the expression returns is an alert, keyed by its
labels (series labels without ``__name__``, the rule's templated labels set over them,
``alertname`` added). A new alert is *pending* with ``active_at = ts``; it becomes *firing*
once ``ts - active_at >= for``. When its series is gone, a firing alert with
``keep_firing_for`` stays firing until that long has passed since it first went missing;
otherwise a pending alert is dropped and a firing one becomes *inactive* with
``resolved_at = ts`` and is kept (and re-sent as resolved) for 15 minutes.

All times here are int Unix milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote_plus

from vigil.model.alert import Alert
from vigil.model.labels import METRIC_NAME, Labels
from vigil.promql.value import Sample
from vigil.rules._base import QueryFunc, RuleEvalError, RuleHealth, dt_to_ms, ms_to_dt
from vigil.rules.rulefmt import PROMQL, Rule, parse_promql, rule_labels
from vigil.rules.status import ActiveAlert, RuleStatus
from vigil.rules.template import AlertTemplate, expand_alert_text
from vigil.state.records import AlertState, StoredAlert

RESOLVED_RETENTION_MS = 15 * 60 * 1000
"""How long a resolved alert is kept (and re-sent as resolved) before it is dropped."""

ALERT_METRIC_NAME = "ALERTS"
ALERT_FOR_STATE_METRIC_NAME = "ALERTS_FOR_STATE"


@dataclass
class AlertInstance:
    """The mutable state of one alert of a rule (times in ms)."""

    labels: Labels
    annotations: Labels
    value: float
    state: AlertState
    active_at_ms: int
    fired_at_ms: int | None = None
    resolved_at_ms: int | None = None
    last_sent_at_ms: int | None = None
    valid_until_ms: int | None = None
    keep_firing_since_ms: int | None = None

    def needs_sending(self, ts_ms: int, resend_delay_ms: int) -> bool:
        """Firing or resolved alerts are sent on change, then every ``resend_delay``."""
        if self.state == "pending":
            return False
        if self.last_sent_at_ms is None:
            return True
        if self.resolved_at_ms is not None and self.resolved_at_ms > self.last_sent_at_ms:
            return True
        return self.last_sent_at_ms + resend_delay_ms < ts_ms


class AlertingRule:
    """One alerting rule and its alerts. Not thread-safe: its group serialises access."""

    def __init__(self, rule: Rule, *, external_labels: dict[str, str] | None = None,
                 external_url: str = "", language: str = PROMQL) -> None:
        self.rule = rule
        self.language = language
        self.name = rule.alert
        self.health = RuleHealth()
        self.active: dict[Labels, AlertInstance] = {}
        self._external_labels = dict(external_labels or {})
        self._external_url = external_url
        tname = f"__alert_{rule.alert}"
        self._labels = [(k, AlertTemplate(v, tname)) for k, v in rule.labels]
        self._annotations = [(k, AlertTemplate(v, tname)) for k, v in rule.annotations]
        self.for_ms = round(rule.for_s * 1000)
        self.keep_firing_for_ms = round(rule.keep_firing_for_s * 1000)

    # ------------------------------------------------------------ evaluation

    def eval(self, ts_ms: int, query_offset_ms: int, query: QueryFunc, limit: int) -> list[Sample]:
        """Advance the alerts to ``ts_ms``; return the ``ALERTS``/``ALERTS_FOR_STATE``
        samples (stamped ``ts_ms - query_offset_ms``) to append."""
        at = ts_ms - query_offset_ms
        vector = query(self.rule.parsed, at)

        def template_query(text: str) -> list[tuple[Labels, float]]:
            # Another language's query function parses the text itself (see QueryFunc).
            expr = parse_promql(text) if self.language == PROMQL else text
            return [(s.labels, s.value) for s in query(expr, ts_ms).samples]

        found: dict[Labels, tuple[float, Labels]] = {}
        for s in vector.samples:
            labels, annotations = self._expand(s.labels, s.value, template_query)
            if labels in found:
                raise RuleEvalError(
                    "vector contains metrics with the same labelset after applying alert labels")
            found[labels] = (s.value, annotations)

        for labels, (value, annotations) in found.items():
            a = self.active.get(labels)
            if a is not None and a.state != "inactive":
                a.value, a.annotations = value, annotations
                continue
            self.active[labels] = AlertInstance(labels, annotations, value, "pending", ts_ms)

        out: list[Sample] = []
        n_active = 0
        for labels, a in list(self.active.items()):
            if labels not in found:
                keep = False
                if a.state == "firing" and self.keep_firing_for_ms > 0:
                    if a.keep_firing_since_ms is None:
                        a.keep_firing_since_ms = ts_ms
                    keep = ts_ms - a.keep_firing_since_ms < self.keep_firing_for_ms
                if not keep:
                    if a.state == "pending" or (
                        a.resolved_at_ms is not None
                        and ts_ms - a.resolved_at_ms > RESOLVED_RETENTION_MS
                    ):
                        del self.active[labels]
                    if a.state != "inactive":
                        a.state = "inactive"
                        a.resolved_at_ms = ts_ms
                    continue
            else:
                a.keep_firing_since_ms = None
            n_active += 1
            if a.state == "pending" and ts_ms - a.active_at_ms >= self.for_ms:
                a.state = "firing"
                a.fired_at_ms = ts_ms
            elif a.state == "firing" and ts_ms - a.active_at_ms < self.for_ms:
                # A reload made `for` longer than the alert has been active: pending again,
                # and sent anew once it fires (as Prometheus 3.x does).
                a.state = "pending"
                a.fired_at_ms = a.last_sent_at_ms = a.keep_firing_since_ms = None
            out.append(Sample(
                labels.merge({METRIC_NAME: ALERT_METRIC_NAME, "alertstate": a.state}), at, 1.0))
            out.append(Sample(
                labels.merge({METRIC_NAME: ALERT_FOR_STATE_METRIC_NAME}), at,
                float(a.active_at_ms // 1000)))
        if limit > 0 and n_active > limit:
            self.active.clear()
            raise RuleEvalError(f"exceeded limit of {limit} with {n_active} alerts")
        return out

    def _expand(self, series: Labels, value: float, template_query) -> tuple[Labels, Labels]:
        def expand(t: AlertTemplate) -> str:
            return expand_alert_text(t, series, value, external_labels=self._external_labels,
                                     external_url=self._external_url, query=template_query)

        lb = series.without(METRIC_NAME).to_dict()
        for k, t in self._labels:
            v = expand(t)
            if v:
                lb[k] = v
            else:
                lb.pop(k, None)
        lb["alertname"] = self.name
        return Labels(lb), Labels((k, expand(t)) for k, t in self._annotations)

    # ------------------------------------------------------------ sending

    def alerts_to_send(self, ts_ms: int, resend_delay_ms: int, interval_ms: int) -> list[Alert]:
        """Alerts due to be sent at ``ts_ms``; marks them sent. A firing alert is valid until
        ``ts + 4 * max(interval, resend_delay)`` so that it resolves by itself if we stop."""
        out = []
        now = ms_to_dt(ts_ms)
        assert now is not None
        url = self._generator_url()
        for a in self.active.values():
            if not a.needs_sending(ts_ms, resend_delay_ms):
                continue
            a.last_sent_at_ms = ts_ms
            a.valid_until_ms = ts_ms + 4 * max(interval_ms, resend_delay_ms)
            ends = a.resolved_at_ms if a.resolved_at_ms is not None else a.valid_until_ms
            starts = a.fired_at_ms if a.fired_at_ms is not None else a.active_at_ms
            out.append(Alert(labels=a.labels, annotations=a.annotations,
                             starts_at=_dt(starts), ends_at=_dt(ends),
                             generator_url=url, updated_at=now))
        return out

    def _generator_url(self) -> str:
        """Where an alert came from: the graph page for PromQL (as Prometheus links); the
        rules page for another language, whose queries the graph page cannot run."""
        if self.language != PROMQL:
            return self._external_url + "/rules"
        return self._external_url + "/graph?g0.expr=" + quote_plus(self.rule.query, safe="") + "&g0.tab=1"

    # ------------------------------------------------------------ reporting and persistence

    @property
    def state(self) -> AlertState:
        states = {a.state for a in self.active.values()}
        return "firing" if "firing" in states else "pending" if "pending" in states else "inactive"

    def active_alerts(self) -> list[ActiveAlert]:
        """Pending and firing alerts (not the resolved ones kept for re-sending)."""
        return [
            ActiveAlert(
                labels=a.labels, annotations=a.annotations, state=a.state,
                active_at=_dt(a.active_at_ms), fired_at=ms_to_dt(a.fired_at_ms),
                resolved_at=ms_to_dt(a.resolved_at_ms), last_sent_at=ms_to_dt(a.last_sent_at_ms),
                value=a.value, keep_firing_since=ms_to_dt(a.keep_firing_since_ms),
            )
            for a in sorted(self.active.values(), key=lambda x: x.labels)
            if a.state != "inactive"
        ]

    def status(self) -> RuleStatus:
        h = self.health
        return RuleStatus(
            name=self.name, query=self.rule.query, type="alerting", health=h.health,
            last_error=h.last_error, last_evaluation=ms_to_dt(h.last_evaluation_ms),
            evaluation_time_s=h.evaluation_time_s, labels=rule_labels(self.rule),
            annotations=Labels(self.rule.annotations), duration_s=self.rule.for_s,
            keep_firing_for_s=self.rule.keep_firing_for_s, state=self.state,
            alerts=tuple(self.active_alerts()),
        )

    def stored(self, group_key: str) -> list[StoredAlert]:
        return [
            StoredAlert(
                group_key=group_key, rule_name=self.name, labels=a.labels,
                annotations=a.annotations, state=a.state, active_at=_dt(a.active_at_ms),
                fired_at=ms_to_dt(a.fired_at_ms), resolved_at=ms_to_dt(a.resolved_at_ms),
                last_sent_at=ms_to_dt(a.last_sent_at_ms), value=a.value,
                keep_firing_since=ms_to_dt(a.keep_firing_since_ms),
            )
            for a in sorted(self.active.values(), key=lambda x: x.labels)
        ]

    def restore(self, alert: StoredAlert) -> None:
        """Take back an alert saved before a restart, unchanged (so ``for`` keeps counting
        from its ``active_at`` and a firing alert is not re-sent before ``resend_delay``)."""
        active_at = dt_to_ms(alert.active_at)
        assert active_at is not None
        self.active[alert.labels] = AlertInstance(
            labels=alert.labels, annotations=alert.annotations, value=alert.value,
            state=alert.state, active_at_ms=active_at, fired_at_ms=dt_to_ms(alert.fired_at),
            resolved_at_ms=dt_to_ms(alert.resolved_at), last_sent_at_ms=dt_to_ms(alert.last_sent_at),
            keep_firing_since_ms=dt_to_ms(alert.keep_firing_since),
        )

    def owns(self, labels: Labels) -> bool:
        """Whether an alert with ``labels`` can be this rule's: same alertname and the rule's
        untemplated labels present (tells apart rules that share an alert name)."""
        if labels.get("alertname") != self.name:
            return False
        return all(labels.get(k) == v for k, v in self.rule.labels if "{{" not in v)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
