"""Built-in collectors beyond the host, each scraped by the scrape manager as a local target.

    probe      blackbox_exporter-style HTTP(S)/TCP/DNS probes and TLS expiry (C3)
    postgres   postgres_exporter-style server metrics (C4)
    redis      redis_exporter-style server metrics (C5)
    backup     freshness of the newest backup file under a path (C9)
    mqtt       IoT device telemetry over MQTT, with offline detection (C6)
    sql        business metrics from the user's SQL queries, PostgreSQL (C8)
    kubernetes kube-state-metrics-style cluster state from the API server (C7)

Every collector is a class with a blocking ``collect() -> str`` returning Prometheus text
format 0.0.4; the scrape manager calls it in a worker thread, one call at a time per target,
and each bounds its own network I/O by its ``timeout``. A collector that cannot collect at
all raises :class:`CollectorError`; :func:`build_local_targets` wraps every collector so that
the scrape then still stores a page with ``pg_up``/``redis_up`` 0 (where the collector has
such a metric), ``vigil_collector_up{collector}`` 0 and
``vigil_collector_last_error_info{collector,error}``, keeps the target's ``up`` at 1 and shows
the message as the target's last error. Partial failures are reported in-page the same way.

:func:`build_local_targets` turns the ``collectors:`` config section into local targets,
``job`` being the collector kind and ``instance`` its configured name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vigil.collect.exporters._expfmt import CollectorError
from vigil.collect.exporters._health import guarded
from vigil.collect.local import LocalTarget
from vigil.config.model import CollectorsConfig

if TYPE_CHECKING:
    from vigil.collect.exporters.backup import BackupCollector
    from vigil.collect.exporters.kubernetes import KubernetesCollector
    from vigil.collect.exporters.mqtt import MQTTCollector
    from vigil.collect.exporters.postgres import PostgresCollector
    from vigil.collect.exporters.probe import ProbeCollector
    from vigil.collect.exporters.redis import RedisCollector
    from vigil.collect.exporters.sql import SQLCollector

# Each collector's module is imported when it is first used: their client libraries
# (psycopg, redis, paho, dnspython, kubernetes) cost tens of MB that a Vigil watching only
# its host should not hold.
_COLLECTOR_MODULES = {
    "BackupCollector": "backup", "KubernetesCollector": "kubernetes", "MQTTCollector": "mqtt",
    "PostgresCollector": "postgres", "ProbeCollector": "probe", "RedisCollector": "redis",
    "SQLCollector": "sql",
}


def __getattr__(name: str) -> Any:
    module = _COLLECTOR_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

__all__ = [
    "BackupCollector", "CollectorError", "KubernetesCollector", "MQTTCollector", "PostgresCollector", "ProbeCollector",
    "RedisCollector", "SQLCollector", "build_local_targets",
]


def build_local_targets(collectors: CollectorsConfig) -> list[LocalTarget]:
    """One local target per configured collector (the host collector is not included).

    Constructing the targets does no I/O; collectors connect when first scraped.
    """
    out: list[LocalTarget] = []

    def add(job: str, name: str, collect: Callable[[], str], interval: float | None,
            up_metric: str | None = None) -> None:
        out.append(LocalTarget(job=job, instance=name, interval_s=interval,
                               collect=guarded(job, name, collect, up_metric)))

    # (configured collectors, job, class, metric saying whether the collected server is up)
    kinds = [(collectors.probes, "probe", "ProbeCollector", None),
             (collectors.postgres, "postgres", "PostgresCollector", "pg_up"),
             (collectors.redis, "redis", "RedisCollector", "redis_up"),
             (collectors.backups, "backup", "BackupCollector", None),
             (collectors.mqtt, "mqtt", "MQTTCollector", None),
             (collectors.sql, "sql", "SQLCollector", None),
             (collectors.kubernetes, "kubernetes", "KubernetesCollector", None)]
    for configs, job, class_name, up_metric in kinds:
        if configs:  # the module (and its client library) only when configured
            collector = __getattr__(class_name)
            for cfg in configs:
                add(job, cfg.name, collector(cfg).collect, cfg.interval, up_metric)
    return out
