"""Vigil's own metrics (C11), held in a registry owned by one running app.

Each stage receives the :class:`SelfMetrics` it was built with; nothing registers in
prometheus_client's global registry, so two apps in one process (tests) do not collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from vigil import __version__


class SelfMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.build_info = Gauge("vigil_build_info", "Vigil version.", ["version"], registry=r)
        self.build_info.labels(__version__).set(1)
        self.samples_appended = Counter(
            "vigil_tsdb_head_samples_appended_total", "Samples committed to the head.", registry=r)
        self.head_series = Gauge("vigil_tsdb_head_series", "Series in the head.", registry=r)
        self.wal_fsync_seconds = Histogram(
            "vigil_tsdb_wal_fsync_duration_seconds", "WAL fsync latency.", registry=r)
        self.scrape_duration = Histogram(
            "vigil_scrape_duration_seconds", "Time to scrape and append one target.", ["job"],
            registry=r)
        self.scrapes_failed = Counter(
            "vigil_scrapes_failed_total", "Scrapes that failed.", ["job"], registry=r)
        self.rule_eval_duration = Histogram(
            "vigil_rule_group_duration_seconds", "Time to evaluate one rule group.", ["group"],
            registry=r)
        self.rule_eval_failures = Counter(
            "vigil_rule_evaluation_failures_total", "Rule evaluations that failed.", ["group"],
            registry=r)
        self.alerts_active = Gauge(
            "vigil_alerts", "Alerts by state.", ["state"], registry=r)
        self.notifications_sent = Counter(
            "vigil_notifications_total", "Notifications delivered.", ["integration"], registry=r)
        self.notifications_failed = Counter(
            "vigil_notifications_failed_total", "Notification attempts that failed.",
            ["integration"], registry=r)
        self.notification_latency = Histogram(
            "vigil_notification_latency_seconds", "Time to deliver one notification.",
            ["integration"], registry=r)
        self.outbox_depth = Gauge(
            "vigil_notification_queue_length", "Notifications waiting in the outbox.", registry=r)
        self.query_duration = Histogram(
            "vigil_engine_query_duration_seconds", "PromQL query time.", ["kind"], registry=r)
        # On call (issue 16): seconds from an episode's opening to its first acknowledgement,
        # with buckets around the runbook's deadlines (5 min, 15 min, 1 h, 4 h).
        self.oncall_acknowledge_seconds = Histogram(
            "vigil_oncall_acknowledge_seconds", "Time from an alert episode's opening to its "
            "first acknowledgement.", ["priority"], registry=r,
            buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400))
        self.oncall_sla_breaches = Counter(
            "vigil_oncall_sla_breaches", "Alert episodes not acknowledged by their deadline "
            "(counted by the replica that recorded the breach).", ["priority"], registry=r)
        self.oncall_escalations = Counter(
            "vigil_oncall_escalations", "Escalation steps that paged, per policy and level "
            "(counted by the replica that took the step).", ["policy", "level"], registry=r)
        # Incidents (issue 17): declarations counted by the replica that made them; open
        # incidents as the primary's timeline loop last counted them.
        self.incidents_declared = Counter(
            "vigil_incidents_declared", "Incidents declared, per severity and source (manual, alert, "
            "escalation, candidate).", ["severity", "source"], registry=r)
        # Requests the access gate refused; every reason is there from the start (at 0), so a
        # dashboard shows "none" rather than "no data".
        self.access_denied = Counter(
            "vigil_http_access_denied", "Requests the access gate refused, by HTTP status and reason "
            "(unauthenticated, forbidden, csrf, cross_origin, throttled).", ["code", "reason"], registry=r)
        for code, reason in (("401", "unauthenticated"), ("403", "forbidden"), ("403", "csrf"),
                             ("403", "cross_origin"), ("429", "throttled")):
            self.access_denied.labels(code, reason)
        self.incidents_open = Gauge(
            "vigil_incidents_open", "Open (not resolved) incidents per severity.", ["severity"], registry=r)

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)
