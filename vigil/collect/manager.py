"""The scrape manager: turns ``scrape_configs`` (and built-in collectors) into scrape loops.

Targets come from ``static_configs`` and ``file_sd_configs`` (polled every
``sd_poll_interval_s`` for changed files, and reloaded on their ``refresh_interval``); both
go through :func:`vigil.collect.targetgen.build_targets` (``relabel_configs``, dropped
targets, ``target_limit``). Targets with the same TLS settings share one HTTP client.
On :meth:`Manager.apply_config` a target whose key (job, URL, target labels) survives keeps its staleness state; a target that disappears gets
staleness markers for all its series; new targets start their own loop. Stopping the manager
(shutdown) writes no markers, as in Prometheus.

With ``shard`` (``storage.remote`` and several replicas, :mod:`vigil.collect.shard`) only
the HTTP targets this replica owns are scraped; ownership is checked again whenever the
shard changes (polled with the file_sd files). A target that moves to another replica stops
here without staleness markers: its series go on from the other replica.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Mapping, Sequence

import httpx

from vigil.collect.filesd import FileSD, TargetGroup
from vigil.collect.httpclient import FailingScraper
from vigil.collect.local import LocalScraper, LocalTarget
from vigil.collect.scrape import (
    HTTPOptions,
    HTTPScraper,
    ScrapeLoop,
    Scraper,
    ScrapeTarget,
    TLSOptions,
)
from vigil.collect.shard import Shard, owner_of
from vigil.collect.target import DroppedTarget, TargetStatus
from vigil.collect.targetgen import build_targets, static_groups
from vigil.config import Config, ScrapeConfig, resolve_path
from vigil.model.labels import Labels
from vigil.selfmetrics import SelfMetrics
from vigil.storage import Storage

__all__ = ["DroppedTarget", "Manager", "http_options", "local_scrape_target", "targets_from_config"]

log = logging.getLogger(__name__)


def http_options(config: Config, sc: ScrapeConfig) -> HTTPOptions:
    """A scrape config's authentication and TLS settings, paths made absolute."""
    def path(p: str | None) -> str | None:
        return resolve_path(config, p) if p else None

    tls = TLSOptions(ca_file=path(sc.tls_config.ca_file), cert_file=path(sc.tls_config.cert_file),
                     key_file=path(sc.tls_config.key_file), server_name=sc.tls_config.server_name,
                     insecure_skip_verify=sc.tls_config.insecure_skip_verify)
    if sc.basic_auth is not None:
        return HTTPOptions(basic_username=sc.basic_auth.username,
                           basic_password=sc.basic_auth.password,
                           basic_password_file=path(sc.basic_auth.password_file), tls=tls)
    if sc.authorization is not None:
        return HTTPOptions(auth_type=sc.authorization.type,
                           auth_credentials=sc.authorization.credentials,
                           auth_credentials_file=path(sc.authorization.credentials_file), tls=tls)
    if sc.bearer_token is not None or sc.bearer_token_file is not None:
        return HTTPOptions(auth_type="Bearer", auth_credentials=sc.bearer_token,
                           auth_credentials_file=path(sc.bearer_token_file), tls=tls)
    return HTTPOptions(tls=tls)


def targets_from_config(config: Config, file_groups: Mapping[str, Sequence[TargetGroup]] | None = None,
                        ) -> list[ScrapeTarget]:
    """The active HTTP targets of every scrape config, deduplicated by key, in config order.
    ``file_groups`` maps a job name to the groups its ``file_sd_configs`` found."""
    return _all_targets(config, file_groups or {})[0]


def _all_targets(config: Config, file_groups: Mapping[str, Sequence[TargetGroup]],
                 ) -> tuple[list[ScrapeTarget], list[DroppedTarget]]:
    out: dict[tuple[str, str, Labels], ScrapeTarget] = {}
    dropped: list[DroppedTarget] = []
    for sc in config.scrape_configs:
        groups = [*static_groups(sc), *file_groups.get(sc.job_name, ())]
        active, gone = build_targets(config, sc, groups, http_options(config, sc))
        for target in active:
            out.setdefault(target.key, target)
        dropped.extend(gone)
    return list(out.values()), dropped


def _ssl_context(tls: TLSOptions) -> ssl.SSLContext | bool:
    """httpx's ``verify`` for these options. Raises ``OSError``/``ssl.SSLError`` for
    unreadable or invalid files (not cached, so a fixed file works after a reload)."""
    if tls == TLSOptions():
        return True
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert_file and tls.key_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    return ctx


class _ServerNameTransport(httpx.AsyncHTTPTransport):
    """Verifies the server's certificate against ``server_name`` instead of the URL's
    host (Prometheus's ``tls_config.server_name``), via the ``sni_hostname`` extension."""

    def __init__(self, server_name: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._server_name = server_name

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions = {**request.extensions, "sni_hostname": self._server_name}
        return await super().handle_async_request(request)


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
                 transport: httpx.AsyncBaseTransport | None = None,
                 sd_poll_interval_s: float = 1.0, shard: Shard | None = None) -> None:
        self._config = config
        self._storage = storage
        self._metrics = metrics
        self._local = {lt.scrape_url: lt for lt in local_targets}
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tls_clients: dict[TLSOptions, httpx.AsyncClient] = {}
        self._loops: dict[tuple[str, str, Labels], ScrapeLoop] = {}
        self._dropped: list[DroppedTarget] = []
        self._lock = asyncio.Lock()
        self._sd_poll_interval_s = sd_poll_interval_s
        self._file_sd: dict[str, tuple[FileSD, float]] = {}  # job -> (files, refresh_s)
        self._sd_task: asyncio.Task[None] | None = None
        self._shard = shard
        self._shard_now: tuple[int, int] = (0, 1)  # as of the last sync
        self._not_owned: set[tuple[str, str, Labels]] = set()  # other replicas scrape these

    async def start(self) -> None:
        """Start a scrape loop per target. Returns at once; scrapes happen in tasks."""
        async with self._lock:
            if self._client is None:
                # No pool cap: a slow target must not make others wait for a connection.
                # No proxies from the environment: Prometheus uses none unless configured.
                self._client = httpx.AsyncClient(
                    transport=self._transport, follow_redirects=True, trust_env=False,
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=256))
            self._setup_file_sd(self._config)
            for target in self._desired(self._config):
                self._start_loop(target)
            self._sd_task = asyncio.create_task(self._watch_files(), name="file_sd")

    async def stop(self) -> None:
        """Stop every loop (no staleness markers: Vigil is shutting down) and the client."""
        if self._sd_task is not None:
            self._sd_task.cancel()
            try:
                await self._sd_task
            except asyncio.CancelledError:
                pass
            self._sd_task = None
        async with self._lock:
            loops, self._loops = list(self._loops.values()), {}
            await asyncio.gather(*(lp.stop(mark_stale=False) for lp in loops))
            for client in self._tls_clients.values():
                await client.aclose()
            self._tls_clients = {}
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
            self._setup_file_sd(config)
            await self._sync(config)

    async def _sync(self, config: Config) -> None:
        """Make the running loops match the desired targets. Caller holds the lock."""
        desired = {t.key: t for t in self._desired(config)}
        removed = [lp for key, lp in self._loops.items() if key not in desired]
        for lp in removed:
            del self._loops[lp.target.key]
        await asyncio.gather(*(lp.stop(mark_stale=lp.target.key not in self._not_owned)
                               for lp in removed))
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

    def dropped_targets(self) -> list[DroppedTarget]:
        """Targets that ``relabel_configs`` dropped, in config order (the API's
        ``droppedTargets``)."""
        return list(self._dropped)

    def _desired(self, config: Config) -> list[ScrapeTarget]:
        local = [local_scrape_target(lt, config) for lt in self._local.values()]
        groups = {job: sd.groups() for job, (sd, _) in self._file_sd.items()}
        active, self._dropped = _all_targets(config, groups)
        if self._shard is not None:
            self._shard_now = self._current_shard()
            index, count = self._shard_now
            mine = [t for t in active if owner_of(t.scrape_url, count) == index]
            self._not_owned = {t.key for t in active} - {t.key for t in mine}
            active = mine
        return [*local, *active]

    def _current_shard(self) -> tuple[int, int]:
        """The shard now; the last one known when asking fails (the state database may be
        restarting): scraping on as before beats scraping nothing."""
        assert self._shard is not None
        try:
            index, count = self._shard()
        except Exception as e:
            log.warning("scrape sharding: membership unavailable (%s); keeping shard %d of %d",
                        e, *self._shard_now)
            return self._shard_now
        if count < 1 or not 0 <= index < count:
            log.warning("scrape sharding: ignoring shard %d of %d", index, count)
            return self._shard_now
        return index, count

    def _setup_file_sd(self, config: Config) -> None:
        """One :class:`FileSD` per job with ``file_sd_configs``, read once now."""
        file_sd: dict[str, tuple[FileSD, float]] = {}
        for sc in config.scrape_configs:
            if not sc.file_sd_configs:
                continue
            patterns = [resolve_path(config, f) for c in sc.file_sd_configs for f in c.files]
            sd = FileSD(patterns)
            sd.poll()
            file_sd[sc.job_name] = (sd, min(c.refresh_interval for c in sc.file_sd_configs))
        self._file_sd = file_sd

    async def _watch_files(self) -> None:
        """Poll file_sd files; on a change (or every ``refresh_interval``) re-sync targets.
        Polling mtimes is portable and cheap; a change shows within one poll interval."""
        last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(self._sd_poll_interval_s)
            try:
                changed = False
                for sd, _ in self._file_sd.values():
                    changed = await asyncio.to_thread(sd.poll) or changed
                due = any(time.monotonic() - last_refresh >= refresh
                          for _, refresh in self._file_sd.values())
                if due:
                    last_refresh = time.monotonic()
                shard = self._current_shard() if self._shard is not None else self._shard_now
                if shard != self._shard_now:
                    log.info("scrape sharding: now shard %d of %d", *shard)
                    changed = True
                if changed or due:
                    async with self._lock:
                        if self._client is not None:
                            await self._sync(self._config)
            except Exception:  # a bad file must not end discovery for every job
                log.exception("file_sd refresh failed")

    def _scraper(self, target: ScrapeTarget) -> Scraper:
        local = self._local.get(target.scrape_url)
        if local is not None and target.scrape_url.startswith("local://"):
            return LocalScraper(local)
        assert self._client is not None
        try:
            client = self._client_for(target.http.tls)
        except (OSError, ssl.SSLError) as e:
            # Shown on the target (file names and the reason only; PEM files hold no
            # passwords here) and logged once.
            log.error("job %s: tls_config: %s", target.job, e)
            return FailingScraper(f"unable to load TLS configuration: {e}")
        return HTTPScraper(client, target.scrape_url, target.http)

    def _client_for(self, tls: TLSOptions) -> httpx.AsyncClient:
        assert self._client is not None
        if tls == TLSOptions() or self._transport is not None:
            return self._client
        client = self._tls_clients.get(tls)
        if client is None:
            verify = _ssl_context(tls)
            transport = (_ServerNameTransport(tls.server_name, verify=verify)
                         if tls.server_name else httpx.AsyncHTTPTransport(verify=verify))
            client = httpx.AsyncClient(
                transport=transport, follow_redirects=True, trust_env=False,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=256))
            self._tls_clients[tls] = client
        return client

    def _start_loop(self, target: ScrapeTarget, previous: ScrapeLoop | None = None) -> None:
        loop = ScrapeLoop(target, self._scraper(target), self._storage, self._metrics)
        if previous is not None:
            loop.take_over(previous)
        self._loops[target.key] = loop
        loop.start()
        log.debug("scraping %s every %ss", target.scrape_url, target.interval_s)
