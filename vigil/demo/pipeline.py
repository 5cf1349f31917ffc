"""A simulated event pipeline (the Tapio runbook's "Event Processing" and "Data Quality"), as
the rule pack's pipeline conventions name it (``vigil/rules/pack/pipeline.yml``).

Series (job ``demo-pipeline``):

    events_received_total                       counter, events that arrived
    events_filtered_total                       counter, events dropped by filters as noise
    events_processed_total                      counter, events correlated
    event_processing_duration_seconds           histogram, per-event latency
    event_queue_depth                           gauge, events waiting
    event_signal_to_noise_ratio                 gauge 0..1
    event_false_positive_ratio                  gauge 0..1
    event_correlation_accuracy_ratio            gauge 0..1
    event_coverage_ratio                        gauge 0..1, share of sources reporting
    correlations_active                         gauge
    insights_generated_total                    counter

Values stay inside the runbook's normal ranges (no pack alert fires on them): the demo's
incidents are the web app's and the milk meters'. Traffic is generated on each
:meth:`EventPipeline.collect` for the time since the previous call, like the web app.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable

__all__ = ["BUCKETS", "EventPipeline"]

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
EVENTS_PER_S = 120.0
FILTERED_SHARE = 0.35  # of received events, dropped as noise before correlation
MEDIAN_LATENCY_S = 0.06
INSIGHTS_PER_CORRELATED = 0.002
MAX_STEP_S = 120.0


class EventPipeline:
    """The simulated pipeline. ``collect`` is safe to call from any thread."""

    def __init__(self, clock: Callable[[], float], seed: int = 11) -> None:
        self._clock = clock
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._start = self._last = clock()
        self.received = self.filtered = self.processed = self.insights = 0
        self.buckets = [0] * (len(BUCKETS) + 1)  # per bucket, not cumulative; last is +Inf
        self.sum_s = 0.0
        self._insight_fraction = 0.0

    def collect(self) -> str:
        """Process the events since the last call, then the exposition page."""
        with self._lock:
            now = self._clock()
            dt = min(max(now - self._last, 0.0), MAX_STEP_S)
            self._last = now
            self._process(dt)
            return self._render(now - self._start)

    def _process(self, dt: float) -> None:
        rnd = self._random
        arrived = int(EVENTS_PER_S * dt + rnd.random())
        filtered = int(arrived * FILTERED_SHARE)
        self.received += arrived
        self.filtered += filtered
        self.processed += arrived - filtered
        # Latencies of a sample stand for the whole batch (hundreds of events per scrape).
        correlated = arrived - filtered
        sample = min(correlated, 50)
        share, extra = divmod(correlated, sample) if sample else (0, 0)
        for i in range(sample):
            latency = rnd.lognormvariate(math.log(MEDIAN_LATENCY_S), 0.5)
            weight = share + (1 if i < extra else 0)
            index = next((k for k, bound in enumerate(BUCKETS) if latency <= bound), len(BUCKETS))
            self.buckets[index] += weight
            self.sum_s += latency * weight
        self._insight_fraction += (arrived - filtered) * INSIGHTS_PER_CORRELATED
        whole = int(self._insight_fraction)
        self.insights += whole
        self._insight_fraction -= whole

    def _render(self, elapsed_s: float) -> str:
        wave = math.sin(elapsed_s / 120.0)
        gauges = {
            "event_queue_depth": ("Events waiting to be processed.", round(12 + 8 * wave + 4 * self._random.random())),
            "event_signal_to_noise_ratio": ("Share of processed events that were signal.", 0.972 + 0.01 * wave),
            "event_false_positive_ratio": ("Share of insights later marked false positives.", 0.011 + 0.003 * wave),
            "event_correlation_accuracy_ratio": ("Share of correlations confirmed right.", 0.991 - 0.004 * wave),
            "event_coverage_ratio": ("Share of event sources reporting.", 0.985 + 0.01 * math.cos(elapsed_s / 200.0)),
            "correlations_active": ("Correlations being tracked.", round(140 + 25 * wave)),
        }
        out = []
        for name, help_text, value in (
                ("events_received_total", "Events that arrived.", self.received),
                ("events_filtered_total", "Events dropped by filters as noise.", self.filtered),
                ("events_processed_total", "Events correlated.", self.processed),
                ("insights_generated_total", "Insights generated.", self.insights)):
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
        for name, (help_text, value) in gauges.items():
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value!r}"]
        out += ["# HELP event_processing_duration_seconds Time to process one event, seconds.",
                "# TYPE event_processing_duration_seconds histogram"]
        cumulative = 0
        for le, count in zip((*map(repr, BUCKETS), "+Inf"), self.buckets, strict=True):
            cumulative += count
            out.append(f'event_processing_duration_seconds_bucket{{le="{le}"}} {cumulative}')
        out.append(f"event_processing_duration_seconds_sum {self.sum_s!r}")
        out.append(f"event_processing_duration_seconds_count {cumulative}")
        return "\n".join(out) + "\n"
