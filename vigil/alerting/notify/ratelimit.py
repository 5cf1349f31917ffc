"""Per-integration rate limits (A3): a token bucket per (receiver, integration).

A notification over the limit is not dropped: the outbox worker postpones it to the time the
bucket will hold a token again, without counting a delivery attempt. Time is in seconds
from the worker's clock, so tests drive it with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; starts full."""

    rate: float
    burst: int
    tokens: float = -1.0
    updated_s: float | None = None

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def _refill(self, now_s: float) -> None:
        if self.updated_s is not None and now_s > self.updated_s:
            self.tokens = min(float(self.burst), self.tokens + (now_s - self.updated_s) * self.rate)
        if self.updated_s is None or now_s > self.updated_s:
            self.updated_s = now_s

    def take(self, now_s: float) -> float:
        """Take a token; return 0 when one was taken, else the seconds until one is due."""
        self._refill(now_s)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate
