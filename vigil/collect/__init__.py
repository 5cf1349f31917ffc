"""The collect stage: scrape targets and built-in collectors into the storage.

    exposition   parse the Prometheus text format 0.0.4 and OpenMetrics 1.0
    scrape       one scrape loop per target: fetch, label, append, staleness markers
    httpclient   the HTTP request of a scrape: headers, authentication, TLS options
    filesd       ``file_sd_configs``: target groups from JSON/YAML files, watched
    targetgen    target groups -> targets: ``relabel_configs``, dropped targets, limits
    manager      turn ``scrape_configs`` into loops; reload; target status
    local        in-process targets (Vigil's own metrics, the host collector); the
                 CollectorError a collector raises, optionally with a page to store
    host         node_exporter-compatible host metrics from /proc and /sys (C1)
    exporters    built-in collectors for other systems (probes, PostgreSQL, Redis, MQTT,
                 SQL, backups, Kubernetes); see docs/collectors.md

This package writes through :mod:`vigil.storage` only and never imports ``vigil.tsdb``.
"""

from vigil.collect.exposition import MetricMetadata, ParseResult, Sample, parse
from vigil.collect.host import HostCollector
from vigil.collect.local import CollectorError, LocalTarget
from vigil.collect.manager import Manager
from vigil.collect.scrape import ScrapeError, ScrapeLoop, ScrapeTarget
from vigil.collect.target import DroppedTarget, TargetStatus

__all__ = [
    "CollectorError", "DroppedTarget", "HostCollector", "LocalTarget", "Manager", "MetricMetadata", "ParseResult", "Sample",
    "ScrapeError", "ScrapeLoop", "ScrapeTarget", "TargetStatus", "parse",
]
