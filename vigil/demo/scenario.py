"""The demo's script: when each simulated incident happens, so alerts come alive on cue.

Times are seconds since the demo started; the script repeats every :data:`CYCLE_S` seconds,
so a demo left running shows alerts firing, resolving and firing again.
"""

from __future__ import annotations

__all__ = ["CYCLE_S", "ERRORS", "METER_OFFLINE", "OFFLINE_METER", "SLOW", "active"]

CYCLE_S = 600.0
# (start, end) windows within a cycle. Short offsets: a newcomer should see the first
# alert pending within half a minute of ``vigil up --demo``.
ERRORS = (10.0, 240.0)  # POST /api/orders answers 5xx for ~30% of requests
SLOW = (30.0, 270.0)  # GET /api/milk takes ~1 s instead of ~40 ms
METER_OFFLINE = (5.0, 300.0)  # one milk meter stops reporting
OFFLINE_METER = "meter-07"


def active(window: tuple[float, float], elapsed_s: float) -> bool:
    """Whether ``elapsed_s`` seconds into the demo falls inside ``window`` of its cycle."""
    t = elapsed_s % CYCLE_S
    return window[0] <= t < window[1]
