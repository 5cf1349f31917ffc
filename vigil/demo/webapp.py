"""A simulated web application's request metrics, as a Prometheus client library exposes them.

``http_requests_total{code,method,handler}`` (counter) and
``http_request_duration_seconds{handler,method}`` (histogram, seconds). Traffic is generated
on each :meth:`WebApp.collect` for the time since the previous call, so the simulation needs
no thread of its own; :mod:`vigil.demo.scenario` decides when errors and slowness happen.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable

from vigil.demo import scenario

__all__ = ["BUCKETS", "WebApp"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# (handler, method, requests per second, median latency in seconds)
ENDPOINTS = (
    ("/", "GET", 6.0, 0.02),
    ("/api/orders", "GET", 3.0, 0.05),
    ("/api/orders", "POST", 2.0, 0.08),
    ("/api/milk", "GET", 4.0, 0.04),
    ("/healthz", "GET", 1.0, 0.002),
)
BASE_ERROR_RATIO = 0.002
INCIDENT_ERROR_RATIO = 0.3
SLOW_FACTOR = 25.0
MAX_STEP_S = 120.0  # after a long pause, simulate at most this much traffic at once


class _Endpoint:
    def __init__(self, handler: str, method: str, rps: float, median_s: float) -> None:
        self.handler, self.method, self.rps, self.median_s = handler, method, rps, median_s
        ok = "201" if method == "POST" else "200"
        self.codes: dict[str, int] = {ok: 0, "500": 0}  # both exist from the start
        self.buckets = [0] * (len(BUCKETS) + 1)  # per bucket, not cumulative; last is +Inf
        self.sum_s = 0.0
        self.count = 0


class WebApp:
    """The simulated application. ``collect`` is safe to call from any thread."""

    def __init__(self, clock: Callable[[], float], seed: int = 7) -> None:
        self._clock = clock
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._start = self._last = clock()
        self._endpoints = [_Endpoint(*e) for e in ENDPOINTS]

    def collect(self) -> str:
        """Serve the traffic since the last call, then the exposition page."""
        with self._lock:
            now = self._clock()
            dt = min(max(now - self._last, 0.0), MAX_STEP_S)
            self._last = now
            elapsed = now - self._start
            for ep in self._endpoints:
                self._serve(ep, dt, elapsed)
            return self._render()

    def _serve(self, ep: _Endpoint, dt: float, elapsed: float) -> None:
        rnd = self._random
        n = int(ep.rps * dt + rnd.random())
        errors = BASE_ERROR_RATIO
        if ep.handler == "/api/orders" and ep.method == "POST" and scenario.active(
                scenario.ERRORS, elapsed):
            errors = INCIDENT_ERROR_RATIO
        median = ep.median_s
        if ep.handler == "/api/milk" and scenario.active(scenario.SLOW, elapsed):
            median *= SLOW_FACTOR
        ok = next(iter(ep.codes))
        for _ in range(n):
            code = ("503" if rnd.random() < 0.2 else "500") if rnd.random() < errors else ok
            ep.codes[code] = ep.codes.get(code, 0) + 1
            latency = rnd.lognormvariate(math.log(median), 0.4)
            ep.buckets[_bucket(latency)] += 1
            ep.sum_s += latency
            ep.count += 1

    def _render(self) -> str:
        out = ["# HELP http_requests_total Requests served, by status code, method and handler.",
               "# TYPE http_requests_total counter"]
        for ep in self._endpoints:
            for code, count in sorted(ep.codes.items()):
                out.append(f'http_requests_total{{code="{code}",handler="{ep.handler}",'
                           f'method="{ep.method}"}} {count}')
        out += ["# HELP http_request_duration_seconds Request latency, seconds.",
                "# TYPE http_request_duration_seconds histogram"]
        for ep in self._endpoints:
            labels = f'handler="{ep.handler}",method="{ep.method}"'
            cumulative = 0
            for le, count in zip((*map(_le, BUCKETS), "+Inf"), ep.buckets, strict=True):
                cumulative += count
                out.append(f'http_request_duration_seconds_bucket{{{labels},le="{le}"}} '
                           f"{cumulative}")
            out.append(f"http_request_duration_seconds_sum{{{labels}}} {ep.sum_s!r}")
            out.append(f"http_request_duration_seconds_count{{{labels}}} {ep.count}")
        return "\n".join(out) + "\n"


def _le(bound: float) -> str:
    return repr(bound)


def _bucket(latency_s: float) -> int:
    for i, bound in enumerate(BUCKETS):
        if latency_s <= bound:
            return i
    return len(BUCKETS)
