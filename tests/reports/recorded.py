"""Recorded metrics for the shipped reports' tests: 30 days of a small estate at a 1-minute
step into a real TSDB — two hosts (CPU, memory, filesystems: one growing by exactly 1 GiB a
day, one flat), a process whose memory leaks steadily, PostgreSQL and Redis, two HTTPS probes
(one certificate 20 days from expiry), an application's HTTP histogram and counters (twice the
traffic this week as last week), Vigil's own access-gate and log-secrets counters and one SQL business metric.
``HOST_ONLY`` records the hosts alone: what the embedded default has."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np

from vigil.model.labels import Labels

GIB = 2.0**30
DAY_MS = 86_400_000
AT = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)  # the reports are run for this instant
AT_MS = int(AT.timestamp() * 1000)
START_MS = AT_MS - 30 * DAY_MS
STEP_MS = 60_000
TS = np.arange(START_MS, AT_MS + 1, STEP_MS, dtype=np.int64)
DAYS = (TS - START_MS) / DAY_MS  # days since the start of the data
SECS = (TS - START_MS) / 1000.0

# /data on host-a grows by exactly 1 GiB a day from 40 GiB; its size is 100 GiB.
FS_SIZE = 100 * GIB
FS_USED_AT_START = 40 * GIB
FS_GROWTH_PER_DAY = 1 * GIB

Adder = Callable[[dict[str, str], np.ndarray], None]


def _hosts(add: Adder) -> None:
    for host, busy in (("host-a:9100", 0.30), ("host-b:9100", 0.80)):
        base = {"job": "node", "instance": host}
        add({"__name__": "up", **base}, np.ones_like(SECS))
        add({"__name__": "node_cpu_seconds_total", "cpu": "0", "mode": "idle", **base}, SECS * (1 - busy))
        add({"__name__": "node_cpu_seconds_total", "cpu": "0", "mode": "user", **base}, SECS * busy)
        add({"__name__": "node_memory_MemTotal_bytes", **base}, np.full_like(SECS, 16 * GIB))
        # Memory used swings with the day (no leak): 6 GiB ± 1 GiB.
        add({"__name__": "node_memory_MemAvailable_bytes", **base}, 10 * GIB + GIB * np.sin(2 * np.pi * DAYS))
        add({"__name__": "node_load1", **base}, np.full_like(SECS, 0.5))
        for mount, used in (("/data", FS_USED_AT_START + FS_GROWTH_PER_DAY * DAYS), ("/", np.full_like(SECS, 5 * GIB))):
            fs = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": mount, **base}
            size = FS_SIZE if mount == "/data" else 20 * GIB
            if host == "host-b:9100" and mount == "/data":
                used = np.full_like(SECS, 10 * GIB)
            add({"__name__": "node_filesystem_size_bytes", **fs}, np.full_like(SECS, size))
            add({"__name__": "node_filesystem_avail_bytes", **fs}, size - used)


def _services(add: Adder) -> None:
    app = {"job": "api", "instance": "api-1:8000"}
    add({"__name__": "process_resident_memory_bytes", **app}, 200e6 + 20e6 * DAYS)  # leaks 20 MB a day
    add({"__name__": "process_resident_memory_bytes", "job": "worker", "instance": "w-1:8000"},
        np.full_like(SECS, 300e6))
    this_week = SECS >= (AT_MS - START_MS) / 1000 - 7 * 86400
    # 10 req/s until a week ago, then 20 req/s; 1 % of them 5xx, 2 % 401, 0.5 % 429.
    rate = np.where(this_week, 20.0, 10.0)
    total = np.cumsum(rate * 60.0)
    for status, share in (("200", 0.965), ("500", 0.01), ("401", 0.02), ("429", 0.005)):
        # Both names of the status label: the runbook's application (and the shipped SLO
        # file) says ``status``, Prometheus's client libraries (the reports' default) ``code``.
        add({"__name__": "http_requests_total", "code": status, "status": status, **app}, total * share)
    # Latency: all requests under 0.5 s, 90 % under 0.1 s; 0.08 s on average.
    for le, share in (("0.1", 0.9), ("0.5", 1.0), ("+Inf", 1.0)):
        add({"__name__": "http_request_duration_seconds_bucket", "le": le, **app}, total * share)
    add({"__name__": "http_request_duration_seconds_count", **app}, total)
    add({"__name__": "http_request_duration_seconds_sum", **app}, total * 0.08)
    for instance, expiry_days in (("https://shop.example", 20.0), ("https://erp.example", 200.0)):
        probe = {"job": "probes", "instance": instance}
        add({"__name__": "probe_success", **probe}, np.ones_like(SECS))
        add({"__name__": "probe_duration_seconds", **probe}, np.full_like(SECS, 0.2))
        add({"__name__": "probe_ssl_earliest_cert_expiry", **probe},
            np.full_like(SECS, AT_MS / 1000 + expiry_days * 86400))
    pg = {"job": "postgres", "instance": "db-1:5432"}
    add({"__name__": "pg_up", **pg}, np.ones_like(SECS))
    add({"__name__": "pg_stat_activity_count", "datname": "shop", "state": "active", **pg}, np.full_like(SECS, 30))
    add({"__name__": "pg_settings_max_connections", **pg}, np.full_like(SECS, 100))
    add({"__name__": "pg_replication_lag_seconds", **pg}, np.full_like(SECS, 2))
    add({"__name__": "pg_cache_hit_ratio", "datname": "shop", **pg}, np.full_like(SECS, 0.995))
    add({"__name__": "pg_database_size_bytes", "datname": "shop", **pg}, 5 * GIB + 0.1 * GIB * DAYS)
    add({"__name__": "pg_table_size_bytes", "datname": "shop", "schemaname": "public", "relname": "sale_order",
         **pg}, 1 * GIB + 0.05 * GIB * DAYS)
    redis = {"job": "redis", "instance": "cache-1:6379"}
    add({"__name__": "redis_up", **redis}, np.ones_like(SECS))
    add({"__name__": "redis_keyspace_hits_total", **redis}, SECS * 98)
    add({"__name__": "redis_keyspace_misses_total", **redis}, SECS * 2)
    vigil = {"job": "vigil", "instance": "localhost:9090"}
    add({"__name__": "vigil_http_access_denied_total", "code": "401", "reason": "unauthenticated", **vigil},
        np.floor(DAYS * 10))
    # Log ingestion masked two AWS keys a day in the api's logs.
    add({"__name__": "vigil_logs_secrets_detected_total", "kind": "aws_access_key", "job": "api"},
        np.floor(DAYS * 2))
    add({"__name__": "vigil_backup_newest_age_seconds", "name": "postgresql-full", **vigil},
        (SECS % 86400) + 3600)
    add({"__name__": "vigil_sql_query_duration_seconds", "metric": "shop_orders_month", **vigil},
        np.full_like(SECS, 0.01))
    add({"__name__": "shop_orders_month", "state": "sale", **vigil}, 1000 + 10 * DAYS)


def record(db, *, host_only: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Record the estate into ``db`` (a tests.support TempTSDB)."""
    def add(labels: dict[str, str], values: np.ndarray) -> None:
        app = db.appender()
        lb = Labels(labels)
        app.append_columns([lb] * len(TS), TS.tolist(), values.astype(float).tolist())
        app.commit()
    _hosts(add)
    if not host_only:
        _services(add)
