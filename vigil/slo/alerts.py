"""The four burn-rate alert conditions of the multi-window multi-burn-rate alerts, described
for people (the SLO page shows which window pairs page and which open a ticket)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.slo.windows import AlertWindows, BurnWindow, prom_window

__all__ = ["AlertThreshold", "alert_thresholds"]


@dataclass(frozen=True)
class AlertThreshold:
    severity: str          # "page" or "ticket"
    short_window: str
    long_window: str
    burn_rate: float       # both windows above it: the alert fires
    budget_percent: float  # the share of the period's budget spent in the long window

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "shortWindow": self.short_window,
                "longWindow": self.long_window, "burnRate": self.burn_rate,
                "budgetPercent": self.budget_percent}


def alert_thresholds(windows: AlertWindows) -> list[AlertThreshold]:
    def one(severity: str, w: BurnWindow) -> AlertThreshold:
        return AlertThreshold(severity, prom_window(w.short_window), prom_window(w.long_window),
                              windows.factor(w), w.budget_percent)

    return [one("page", windows.page_quick), one("page", windows.page_slow),
            one("ticket", windows.ticket_quick), one("ticket", windows.ticket_slow)]
