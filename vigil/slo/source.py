"""The SLOs of the running Vigil and their statuses: the files the config names re-read at
each use (a reload that changes ``slo:`` is seen at once, as the rule manager sees it), the
statuses computed through the PromQL engine. A :class:`SLOStatusSource` is what the web
layer and the reports (``ReportContext.slos``: called with an instant) are given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from vigil.config.model import Config
from vigil.slo.alerts import AlertThreshold, alert_thresholds
from vigil.slo.loader import config_slos
from vigil.slo.model import SLOFile
from vigil.slo.status import InstantEngine, SLOStatus, slo_statuses
from vigil.slo.windows import DEFAULT_WINDOWS

__all__ = ["SLOStatusSource"]


class SLOStatusSource:
    def __init__(self, engine: InstantEngine, config: Callable[[], Config],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self.config = config
        self.now = now

    def slos(self) -> list[SLOFile]:
        """The config's SLO documents; a file that no longer reads raises its ConfigError."""
        return config_slos(self.config())

    def thresholds(self) -> list[AlertThreshold]:
        return alert_thresholds(DEFAULT_WINDOWS)

    def __call__(self, at: datetime | None = None) -> list[SLOStatus]:
        return slo_statuses(self.engine, self.slos(), at or self.now())
