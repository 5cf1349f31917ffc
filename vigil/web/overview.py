"""The overview page: each monitored host's CPU, memory, disk, load, network and uptime at a
glance, from node_exporter-named series (Vigil's own host collector or scraped exporters),
with a 30-minute sparkline per figure."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from vigil.errors import VigilError
from vigil.promql.value import Matrix, Vector
from vigil.web.deps import QueryEngine

SPARK_RANGE_MS = 30 * 60_000
SPARK_STEP_MS = 30_000
SPARK_W, SPARK_H = 160, 36


@dataclass(frozen=True)
class Panel:
    title: str
    expr: str  # one series per instance
    unit: str  # "%", "bytes/s", "s" or ""
    warn: float | None = None  # runbook thresholds colour the figure
    crit: float | None = None


PANELS = (
    Panel("CPU busy", '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m])))',
          "%", 70, 85),
    Panel("Memory used", "100 * (1 - max by (instance) (node_memory_MemAvailable_bytes)"
          " / max by (instance) (node_memory_MemTotal_bytes))", "%", 80, 90),
    Panel("Root disk used", '100 * (1 - max by (instance) (node_filesystem_avail_bytes{mountpoint="/"})'
          ' / max by (instance) (node_filesystem_size_bytes{mountpoint="/"}))', "%", 80, 90),
    Panel("Load (1m)", "max by (instance) (node_load1)", ""),
    Panel("Network in", 'sum by (instance) (rate(node_network_receive_bytes_total{device!="lo"}[1m]))',
          "bytes/s"),
    Panel("Network out", 'sum by (instance) (rate(node_network_transmit_bytes_total{device!="lo"}[1m]))',
          "bytes/s"),
    Panel("Uptime", "max by (instance) (node_time_seconds - node_boot_time_seconds)", "s"),
)


@dataclass
class Figure:
    panel: Panel
    value: float | None = None
    spark: str = ""  # SVG polyline points

    @property
    def text(self) -> str:
        return format_value(self.value, self.panel.unit)

    @property
    def level(self) -> str:
        p, v = self.panel, self.value
        if v is None:
            return "none"
        if p.crit is not None and v > p.crit:
            return "crit"
        if p.warn is not None and v > p.warn:
            return "warn"
        return "ok"


@dataclass
class Host:
    instance: str
    figures: list[Figure] = field(default_factory=list)


def format_value(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "–"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "bytes/s":
        for factor, suffix in ((1 << 30, "GiB/s"), (1 << 20, "MiB/s"), (1 << 10, "KiB/s")):
            if value >= factor:
                return f"{value / factor:.1f} {suffix}"
        return f"{value:.0f} B/s"
    if unit == "s":
        days, rest = divmod(int(value), 86400)
        hours, rest = divmod(rest, 3600)
        return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"
    return f"{value:.2f}"


def sparkline(values: list[float]) -> str:
    points = [(i, v) for i, v in enumerate(values) if not math.isnan(v)]
    if len(points) < 2:
        return ""
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    return " ".join(f"{i * SPARK_W / n:.1f},{SPARK_H - 2 - (v - lo) / span * (SPARK_H - 4):.1f}"
                    for i, v in points)


async def host_overview(engine: QueryEngine, now_ms: int) -> tuple[list[Host], str]:
    """Hosts with their figures, and an error text ("" when all queries worked)."""
    hosts: dict[str, Host] = {}
    errors: list[str] = []
    start = now_ms - SPARK_RANGE_MS
    for index, panel in enumerate(PANELS):
        try:
            instant = await asyncio.to_thread(engine.instant_query, panel.expr, now_ms)
            ranged = await asyncio.to_thread(engine.range_query, panel.expr, start, now_ms, SPARK_STEP_MS)
        except VigilError as exc:
            errors.append(f"{panel.title}: {exc}")
            continue
        values = {s.labels.get("instance"): s.value for s in instant.value.samples} \
            if isinstance(instant.value, Vector) else {}
        series = {}
        if isinstance(ranged.value, Matrix):
            for s in ranged.value.series:
                steps = ((s.timestamps - start) // SPARK_STEP_MS).astype(int)
                line = [math.nan] * (SPARK_RANGE_MS // SPARK_STEP_MS + 1)
                for step, v in zip(steps, s.values, strict=True):
                    line[int(step)] = float(v)
                series[s.labels.get("instance")] = line
        for instance in sorted(set(values) | set(series)):
            host = hosts.setdefault(instance, Host(instance, [Figure(p) for p in PANELS]))
            host.figures[index] = Figure(panel, values.get(instance), sparkline(series.get(instance, [])))
    return [hosts[k] for k in sorted(hosts)], "; ".join(errors)
