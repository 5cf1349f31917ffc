"""The scrape manager: turns ``scrape_configs`` (and built-in collectors) into scrape loops.

Targets come from ``static_configs`` for now; file service discovery will feed the same
:func:`targets_from_config` output. On :meth:`Manager.apply_config` a target whose key (job,
URL, target labels) survives keeps its staleness state; a target that disappears gets
staleness markers for all its series; new targets start their own loop. Stopping the manager
(shutdown) writes no markers, as in Prometheus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from urllib.parse import urlencode

import httpx

from vigil.collect.local import LocalScraper, LocalTarget
from vigil.collect.scrape import HTTPScraper, ScrapeLoop, Scraper, ScrapeTarget
from vigil.collect.target import TargetStatus
from vigil.config import Config, ScrapeConfig, format_duration_ms
from vigil.model.labels import Labels
from vigil.selfmetrics import SelfMetrics
from vigil.storage import Storage

__all__ = ["Manager", "local_scrape_target", "targets_from_config"]

log = logging.getLogger(__name__)


def _scrape_url(sc: ScrapeConfig, address: str) -> str:
    url = f"{sc.scheme}://{address}{sc.metrics_path}"
    if sc.params:
        url += "?" + urlencode([(k, v) for k, vs in sc.params.items() for v in vs])
    return url


def targets_from_config(config: Config) -> list[ScrapeTarget]:
    """The HTTP targets of every scrape config, deduplicated by key, in config order."""
    out: dict[tuple[str, str, Labels], ScrapeTarget] = {}
    for sc in config.scrape_configs:
        interval = config.scrape_interval(sc)
        timeout = config.scrape_timeout(sc)
        for group in sc.static_configs:
            for address in group.targets:
                labels = dict(group.labels)
                labels.setdefault("job", sc.job_name)
                labels.setdefault("instance", address)
                discovered = {
                    "__address__": address, "__metrics_path__": sc.metrics_path,
                    "__scheme__": sc.scheme,
                    "__scrape_interval__": format_duration_ms(round(interval * 1000)),
                    "__scrape_timeout__": format_duration_ms(round(timeout * 1000)),
                    "job": sc.job_name,
                    **{f"__param_{k}": vs[0] for k, vs in sc.params.items() if vs},
                    **group.labels,
                }
                target = ScrapeTarget(
                    job=sc.job_name, instance=labels["instance"],
                    scrape_url=_scrape_url(sc, address), labels=Labels(labels),
                    discovered_labels=Labels(discovered), interval_s=interval, timeout_s=timeout,
                    honor_labels=sc.honor_labels, honor_timestamps=sc.honor_timestamps,
                    sample_limit=sc.sample_limit)
                out.setdefault(target.key, target)
    return list(out.values())


def local_scrape_target(local: LocalTarget, config: Config) -> ScrapeTarget:
    """The scrape target of a built-in collector, with the global interval unless it has
    its own, and the global timeout capped at the interval."""
    interval = local.interval_s or config.global_.scrape_interval
    labels = {**local.labels, "job": local.job, "instance": local.instance}
    return ScrapeTarget(
        job=local.job, instance=local.instance, scrape_url=local.scrape_url,
        labels=Labels(labels), discovered_labels=Labels({"__address__": local.scrape_url,
                                                         **labels}),
        interval_s=interval, timeout_s=min(config.global_.scrape_timeout, interval),
        honor_labels=local.honor_labels)


class Manager:
    """Runs one :class:`ScrapeLoop` per target. Use from one event loop; not thread-safe.

    ``transport`` replaces httpx's network transport (tests); by default targets are
    fetched over the network with one shared :class:`httpx.AsyncClient`.
    """

    def __init__(self, config: Config, storage: Storage, metrics: SelfMetrics, *,
                 local_targets: Sequence[LocalTarget] = (),
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._storage = storage
        self._metrics = metrics
        self._local = {lt.scrape_url: lt for lt in local_targets}
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loops: dict[tuple[str, str, Labels], ScrapeLoop] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Start a scrape loop per target. Returns at once; scrapes happen in tasks."""
        async with self._lock:
            if self._client is None:
                # No pool cap: a slow target must not make others wait for a connection.
                # No proxies from the environment: Prometheus uses none unless configured.
                self._client = httpx.AsyncClient(
                    transport=self._transport, follow_redirects=True, trust_env=False,
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=256))
            for target in self._desired(self._config):
                self._start_loop(target)

    async def stop(self) -> None:
        """Stop every loop (no staleness markers: Vigil is shutting down) and the client."""
        async with self._lock:
            loops, self._loops = list(self._loops.values()), {}
            await asyncio.gather(*(lp.stop(mark_stale=False) for lp in loops))
            if self._client is not None:
                await self._client.aclose()
                self._client = None

    async def apply_config(self, config: Config) -> None:
        """Reload: start new targets, stop removed ones (with staleness markers), and
        restart changed ones in place (keeping their staleness state)."""
        async with self._lock:
            self._config = config
            if self._client is None:
                return  # not started: the new config is used by start()
            desired = {t.key: t for t in self._desired(config)}
            removed = [lp for key, lp in self._loops.items() if key not in desired]
            for lp in removed:
                del self._loops[lp.target.key]
            await asyncio.gather(*(lp.stop(mark_stale=True) for lp in removed))
            for key, target in desired.items():
                old = self._loops.get(key)
                if old is not None and old.target == target:
                    continue
                if old is not None:
                    await old.stop(mark_stale=False)
                self._start_loop(target, previous=old)

    def targets(self) -> list[TargetStatus]:
        """The status of every running target, ordered by job, then instance."""
        return sorted((lp.status() for lp in self._loops.values()),
                      key=lambda s: (s.job, s.instance, s.scrape_url, str(s.labels)))

    def _desired(self, config: Config) -> list[ScrapeTarget]:
        local = [local_scrape_target(lt, config) for lt in self._local.values()]
        return [*local, *targets_from_config(config)]

    def _scraper(self, target: ScrapeTarget) -> Scraper:
        local = self._local.get(target.scrape_url)
        if local is not None and target.scrape_url.startswith("local://"):
            return LocalScraper(local)
        assert self._client is not None
        return HTTPScraper(self._client, target.scrape_url)

    def _start_loop(self, target: ScrapeTarget, previous: ScrapeLoop | None = None) -> None:
        loop = ScrapeLoop(target, self._scraper(target), self._storage, self._metrics)
        if previous is not None:
            loop.take_over(previous)
        self._loops[target.key] = loop
        loop.start()
        log.debug("scraping %s every %ss", target.scrape_url, target.interval_s)
