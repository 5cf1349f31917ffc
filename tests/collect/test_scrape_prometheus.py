"""Differential test: Prometheus 2.42 and Vigil scrape the same page with the same
``scrape_configs``; the stored series (after ``honor_labels`` and ``metric_relabel_configs``)
and the errors of scrapes over a limit must be identical."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.metrics_server import MetricsServer
from tests.support.prometheus import require_prometheus, running_prometheus
from tests.support.tsdb_store import TempTSDB
from vigil.collect.manager import targets_from_config
from vigil.collect.scrape import HTTPScraper, ScrapeLoop
from vigil.config import Config
from vigil.selfmetrics import SelfMetrics


@pytest.fixture(autouse=True)
def _prometheus_installed() -> None:
    require_prometheus()

PAGE = """# TYPE http_requests_total counter
http_requests_total{code="200",job="exposed",instance="x"} 10
http_requests_total{code="500",job="exposed"} 2
go_gc_duration_seconds{quantile="0.5"} 0.1
process_start_time_seconds 1.7e9
node_temp{chip="ACPI Thermal",sensor="a_rather_long_label_value_here"} 40
"""

METRIC_RELABEL = [
    {"source_labels": ["__name__"], "regex": "go_.*", "action": "drop"},
    {"source_labels": ["__name__"], "regex": "process_(.*)", "target_label": "__name__",
     "replacement": "proc_$1"},
    {"source_labels": ["chip"], "target_label": "chip", "action": "lowercase"},
    {"regex": "sensor", "action": "labeldrop"},
    {"source_labels": ["code"], "regex": "5..", "target_label": "class", "replacement": "error"},
]

JOBS = [
    {"job_name": "plain"},
    {"job_name": "honor", "honor_labels": True, "metric_relabel_configs": METRIC_RELABEL},
    {"job_name": "relabel", "metric_relabel_configs": METRIC_RELABEL},
    {"job_name": "label_limit", "label_limit": 4},
    {"job_name": "name_len", "label_name_length_limit": 6},
    {"job_name": "value_len", "label_value_length_limit": 12},
    {"job_name": "sample_limit", "sample_limit": 3, "metric_relabel_configs": METRIC_RELABEL[:1]},
]


def _series(labels: list[dict[str, str]]) -> list[list[tuple[str, str]]]:
    return sorted(sorted(lb.items()) for lb in labels
                  if not lb["__name__"].startswith("scrape_"))


def test_scraped_series_and_limit_errors_match_prometheus(tmp_path: Path,
                                                         tsdb_store: TempTSDB) -> None:
    with MetricsServer(PAGE) as server:
        raw = {"global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
               "scrape_configs": [{**job, "static_configs": [{"targets": [server.address]}]}
                                  for job in JOBS]}
        config = Config.model_validate(raw)
        store = tsdb_store
        vigil_errors: dict[str, str] = {}

        async def scrape_all() -> None:
            async with httpx.AsyncClient() as client:
                for target in targets_from_config(config):
                    loop = ScrapeLoop(target, HTTPScraper(client, target.scrape_url, target.http),
                                      store, SelfMetrics())
                    await loop.scrape_once()
                    vigil_errors[target.job] = loop.status().last_error

        asyncio.run(scrape_all())
        data = tmp_path / "data"
        data.mkdir()
        with running_prometheus(data, config_yaml=yaml.safe_dump(raw)) as prom:
            deadline = time.monotonic() + 60
            while True:
                targets = prom.api("targets")["data"]["activeTargets"]
                if len(targets) == len(JOBS) and all(t["health"] != "unknown" for t in targets):
                    break
                assert time.monotonic() < deadline, "prometheus did not scrape every job"
                time.sleep(0.3)
            prom_errors = {t["scrapePool"]: t["lastError"] for t in targets}
            prom_series = prom.api("series", **{"match[]": '{job=~".+"}'})["data"]

    vigil_series = [lb.to_dict() for lb in store.series()]
    assert _series(vigil_series) == _series(prom_series)
    assert vigil_errors == prom_errors, prom_errors
    # The cases exercise what they claim.
    assert prom_errors["label_limit"] and prom_errors["value_len"] and prom_errors["sample_limit"]
    assert prom_errors["plain"] == "" and prom_errors["relabel"] == ""
