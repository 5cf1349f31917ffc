"""What the collect stage reports about each target, for the API and the UI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from vigil.model.labels import Labels

__all__ = ["DroppedTarget", "Health", "TargetStatus"]

Health = Literal["up", "down", "unknown"]


@dataclass(frozen=True)
class TargetStatus:
    job: str
    instance: str
    scrape_url: str  # "local://<job>/<instance>" for built-in collectors
    labels: Labels  # target labels after relabelling (job, instance, static labels)
    discovered_labels: Labels
    health: Health
    last_error: str
    last_scrape: datetime | None
    last_scrape_duration_s: float
    scrape_interval_s: float
    scrape_timeout_s: float
    samples_scraped: int = 0
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DroppedTarget:
    """A target relabelling removed: shown as Prometheus's ``droppedTargets``."""

    job: str
    discovered_labels: Labels
