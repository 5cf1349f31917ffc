"""The objectives as metrics on Vigil's own ``/metrics`` (``vigil_objective_*``), so Vigil's
self-scrape stores them and rules can alert on them ("MTTA this week above 5 minutes").

Computing the figures reads the state database and runs PromQL, too slow for a scrape, so a
loop recomputes a snapshot every ``objectives.export_interval`` and the collector hands out
the last one. A figure without data (no acknowledged episode this week) has no sample: a
rule then sees nothing rather than a made-up zero. Every replica exports the same figures
(records are shared); rules aggregate ``without (instance)``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vigil.objectives.availability import ServiceAvailability
from vigil.objectives.records import IncidentGroup
from vigil.objectives.service import ObjectiveFigures, ObjectivesService

__all__ = ["FIGURE_WINDOWS", "ObjectivesExporter", "window_label"]

log = logging.getLogger(__name__)

# The windows the record figures are exported over: this week and this month (rolling).
FIGURE_WINDOWS: tuple[tuple[str, timedelta], ...] = (("7d", timedelta(days=7)), ("30d", timedelta(days=30)))


def window_label(seconds: float) -> str:
    """A window's label as Prometheus writes durations: 30d, 12h, 90m, 45s."""
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


@dataclass
class _Snapshot:
    at: datetime | None = None
    figures: dict[str, ObjectiveFigures] = field(default_factory=dict)  # by priority
    incidents: dict[str, list[IncidentGroup]] = field(default_factory=dict)  # by severity
    availability: list[ServiceAvailability] = field(default_factory=list)
    availability_window: str = ""


class ObjectivesExporter(Collector):
    """Register on a prometheus_client registry; ``refresh()`` (or ``run()``) fills it."""

    def __init__(self, service: ObjectivesService, now: Callable[[], datetime]) -> None:
        self.service = service
        self.now = now
        self._snapshot = _Snapshot()

    def refresh(self) -> None:
        """Recompute every exported figure as of ``now()``."""
        end = self.now()
        figures = {label: self.service.figures(end - span, end, by="priority") for label, span in FIGURE_WINDOWS}
        incidents = {label: self.service.figures(end - span, end, by="severity").incidents
                     for label, span in FIGURE_WINDOWS}
        window_s = self.service.config.availability_window
        availability = self.service.availability(end - timedelta(seconds=window_s), end)
        self._snapshot = _Snapshot(end, figures, incidents, availability, window_label(window_s))

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # a failed refresh keeps the last figures; the next one retries
                log.exception("objectives: refreshing the exported figures failed")
            await asyncio.sleep(self.service.config.export_interval)

    def describe(self) -> list:
        # Described empty so registering does not call collect() before the first refresh.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = self._snapshot
        mtta = GaugeMetricFamily("vigil_objective_mtta_seconds", "Mean time from an alert episode's "
                                 "opening to its first acknowledgement, episodes opened in the window "
                                 "(priority \"all\": every priority).", labels=["priority", "window"])
        mttr = GaugeMetricFamily("vigil_objective_mttr_seconds", "Mean time from an alert episode's "
                                 "opening to its resolution, episodes opened in the window.",
                                 labels=["priority", "window"])
        episodes = GaugeMetricFamily("vigil_objective_episodes", "Alert episodes opened in the window.",
                                     labels=["priority", "window"])
        incident_mttr = GaugeMetricFamily("vigil_objective_incident_mttr_seconds", "Mean time from an "
                                          "incident's start of impact to its resolution, incidents "
                                          "declared in the window.", labels=["incident_severity", "window"])
        fp = GaugeMetricFamily("vigil_objective_false_positive_ratio", "Resolutions classified "
                               "false_positive over all classified resolutions, episodes opened in "
                               "the window.", labels=["window"])
        met = GaugeMetricFamily("vigil_objective_target_met", "1 when the objective's target is met "
                                "over the window, 0 when missed; absent without data.",
                                labels=["objective", "window"])
        for window, f in snap.figures.items():
            for group in [*f.alerts, f.alerts_total]:
                key = group.key
                episodes.add_metric([key, window], group.episodes)
                if group.acknowledge.mean is not None:
                    mtta.add_metric([key, window], group.acknowledge.mean)
                if group.resolve.mean is not None:
                    mttr.add_metric([key, window], group.resolve.mean)
            if f.alerts_total.false_positive_ratio is not None:
                fp.add_metric([window], f.alerts_total.false_positive_ratio)
            for t in f.targets:
                if t.met is not None:
                    met.add_metric([t.name, window], 1.0 if t.met else 0.0)
        for window, groups in snap.incidents.items():
            for incident_group in groups:
                if incident_group.resolve.mean is not None:
                    incident_mttr.add_metric([incident_group.key, window], incident_group.resolve.mean)
        avail = GaugeMetricFamily("vigil_objective_availability_ratio", "Share of the window the "
                                  "service was up (of the time with data).", labels=["service", "window"])
        coverage = GaugeMetricFamily("vigil_objective_availability_coverage_ratio", "Share of the "
                                     "window with data for the service.", labels=["service", "window"])
        budget = GaugeMetricFamily("vigil_objective_error_budget_remaining_ratio", "Error budget left "
                                   "over the window: 1 untouched, 0 spent, negative overspent.",
                                   labels=["service", "window"])
        target = GaugeMetricFamily("vigil_objective_availability_target_ratio", "The service's "
                                   "availability target.", labels=["service"])
        for a in snap.availability:
            w = snap.availability_window
            target.add_metric([a.service], round(a.target_percent / 100, 12))  # 99.9 / 100 is 0.9990000000000001
            coverage.add_metric([a.service, w], a.coverage_ratio)
            if a.availability_ratio is not None:
                avail.add_metric([a.service, w], a.availability_ratio)
            if a.budget_remaining_ratio is not None:
                budget.add_metric([a.service, w], a.budget_remaining_ratio)
            if a.met is not None:
                met.add_metric([f"availability:{a.service}", w], 1.0 if a.met else 0.0)
        refreshed = GaugeMetricFamily("vigil_objective_refresh_timestamp_seconds",
                                      "When the exported objective figures were last computed.")
        if snap.at is not None:
            refreshed.add_metric([], snap.at.timestamp())
        yield from (mtta, mttr, episodes, incident_mttr, fp, met, avail, coverage, budget, target, refreshed)
