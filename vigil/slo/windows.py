"""The multi-window, multi-burn-rate alert windows (Google SRE workbook, as Sloth ships them for
a 30-day and a 28-day SLO period) and the SLI error-ratio query for one window.

A burn-rate factor is how fast the budget must burn to spend ``budget_percent`` of it within
the long window: ``budget_percent/100 * period_hours / long_window_hours`` (so 2 % of a 30-day
budget in 1 h is 14.4). Computed in the same order as Sloth so the float64 result — printed in
the alert expression — is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.slo.model import WINDOW_PLACEHOLDER, SLOSpec

__all__ = ["DEFAULT_WINDOWS", "WINDOWS_BY_PERIOD", "AlertWindows", "BurnWindow",
           "prom_window", "sli_error_ratio_query", "window_hours"]

_UNIT_HOURS = {"m": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}


def window_hours(window: str) -> float:
    """Hours in a window written like Prometheus ("5m", "6h", "30d")."""
    unit = window[-1]
    if unit not in _UNIT_HOURS or not window[:-1].isdigit():
        raise ValueError(f"invalid window {window!r}")
    if unit == "m":
        return int(window[:-1]) * 60 / 3600  # Go's Duration.Hours(): seconds / 3600
    return int(window[:-1]) * _UNIT_HOURS[unit]


_PROM_UNITS = (("y", 365 * 86400, True), ("w", 7 * 86400, True), ("d", 86400, False),
               ("h", 3600, False), ("m", 60, False), ("s", 1, False))


def prom_window(window: str) -> str:
    """A window as Prometheus prints a duration (``model.Duration.String``): weeks and years
    only when exact, so 28d is ``4w`` — the spelling Sloth uses in rule names."""
    seconds = round(window_hours(window) * 3600)
    out = ""
    for unit, size, exact in _PROM_UNITS:
        if exact and seconds % size:
            continue
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds -= seconds // size * size
    return out or "0s"


@dataclass(frozen=True)
class BurnWindow:
    budget_percent: float
    short_window: str
    long_window: str


@dataclass(frozen=True)
class AlertWindows:
    period: str
    page_quick: BurnWindow
    page_slow: BurnWindow
    ticket_quick: BurnWindow
    ticket_slow: BurnWindow

    def factor(self, w: BurnWindow) -> float:
        hours_required = w.budget_percent * window_hours(self.period) / 100
        return hours_required / window_hours(w.long_window)

    def burn_windows(self) -> list[str]:
        """Every window an alert looks at, shortest first (Sloth records each one)."""
        names = {x for bw in (self.page_quick, self.page_slow, self.ticket_quick,
                              self.ticket_slow) for x in (bw.short_window, bw.long_window)}
        return [prom_window(n) for n in sorted(names, key=window_hours)]


DEFAULT_WINDOWS = AlertWindows(
    "30d", BurnWindow(2, "5m", "1h"), BurnWindow(5, "30m", "6h"),
    BurnWindow(10, "2h", "1d"), BurnWindow(10, "6h", "3d"))
WINDOWS_BY_PERIOD = {
    "30d": DEFAULT_WINDOWS,
    "28d": AlertWindows("28d", BurnWindow(2, "5m", "1h"), BurnWindow(5, "30m", "6h"),
                        BurnWindow(10, "2h", "1d"), BurnWindow(10, "6h", "3d")),
}


def _with_window(query: str, window: str) -> str:
    return WINDOW_PLACEHOLDER.sub(window, query)


def sli_error_ratio_query(slo: SLOSpec, window: str) -> str:
    """The SLI's error ratio over ``window`` — the expression Sloth records as
    ``slo:sli_error:ratio_rate<window>``."""
    if slo.sli.events is not None:
        return (f"({_with_window(slo.sli.events.error_query, window)})\n/\n"
                f"({_with_window(slo.sli.events.total_query, window)})\n")
    assert slo.sli.raw is not None
    return f"({_with_window(slo.sli.raw.error_ratio_query, window)})"
