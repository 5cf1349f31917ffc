"""Scrape loops: fetch one target on its interval, parse, label, append, mark staleness.

One :class:`ScrapeLoop` per target runs as an asyncio task. The network part (or the call of
a local collector) is asynchronous; parsing and appending run together in a worker thread
(``asyncio.to_thread``) so a 10k-sample page or a WAL fsync does not stall the event loop
that also serves the web UI. All state a scrape changes (the previous series set, the
target status) is updated inside that thread call; the loop never runs two scrapes at once.

Per scrape (Prometheus semantics):

* samples get the target labels (``job``, ``instance``, static labels); a conflicting label
  exposed by the target is renamed ``exported_<name>`` unless ``honor_labels``;
* the timestamp is the scrape start (ms) unless the sample carries one and
  ``honor_timestamps``;
* ``up``, ``scrape_duration_seconds``, ``scrape_samples_scraped``,
  ``scrape_samples_post_metric_relabeling`` and ``scrape_series_added`` are written;
* ``metric_relabel_configs`` then run on each sample's stored labels (dropped samples do not
  count as ``scrape_samples_post_metric_relabeling``); ``sample_limit`` and the label limits
  are checked on what is left, and exceeding one fails the scrape with Prometheus's message;
* series of the previous scrape missing from this one get a staleness marker; a failed scrape
  (HTTP error, timeout, parse error, ``sample_limit`` exceeded) stores none of its samples,
  writes ``up`` 0 and marks every previous series stale. Series exposed with their own
  timestamp are not tracked for staleness (as in Prometheus);
* a scraper may raise :class:`PartialScrapeError` (a built-in collector that answered with
  a page saying its server is down): the page is stored as usual, ``up`` is 1, and the
  message is the target's last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from vigil.collect.exposition import parse
from vigil.collect.httpclient import (
    ACCEPT_HEADER,
    HTTPOptions,
    HTTPScraper,
    PartialScrapeError,
    ScrapeError,
    TLSOptions,
)
from vigil.collect.target import TargetStatus
from vigil.errors import ParseError, StorageError
from vigil.gocompat.quote import quote
from vigil.model.labels import METRIC_NAME, Labels, with_shared_pairs
from vigil.model.relabel import Relabeller
from vigil.selfmetrics import SelfMetrics
from vigil.storage import STALE_NAN, Appender, Storage

__all__ = [
    "ACCEPT_HEADER", "REPORT_SERIES", "PartialScrapeError", "ScrapeError", "ScrapeLoop", "ScrapeTarget", "Scraper",
    "HTTPOptions", "HTTPScraper", "TLSOptions", "merge_target_labels",
]

log = logging.getLogger(__name__)

REPORT_SERIES = ("up", "scrape_duration_seconds", "scrape_samples_scraped",
                 "scrape_samples_post_metric_relabeling", "scrape_series_added")


@dataclass(frozen=True)
class ScrapeTarget:
    """Everything a loop needs to know about one target. Intervals are in seconds.

    ``labels`` are the target labels (``job``, ``instance`` and static labels) added to
    every sample; ``discovered_labels`` are shown on the targets page only.
    """

    job: str
    instance: str
    scrape_url: str
    labels: Labels
    discovered_labels: Labels
    interval_s: float
    timeout_s: float
    honor_labels: bool = False
    honor_timestamps: bool = True
    sample_limit: int = 0  # 0 = no limit
    label_limit: int = 0  # labels per series incl. __name__, after relabelling; 0 = none
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0
    metric_relabel: Relabeller | None = None
    http: HTTPOptions = HTTPOptions()
    forced_error: str = ""  # set: every scrape fails with this (target_limit exceeded)

    @property
    def key(self) -> tuple[str, str, Labels]:
        """Identity across reloads: the same key means the same series."""
        return (self.job, self.scrape_url, self.labels)

    def offset_s(self) -> float:
        """Stable phase of this target within its interval, so targets spread out but a
        given target scrapes at the same phase across restarts (as in Prometheus)."""
        digest = hashlib.sha256(f"{self.scrape_url}\x00{self.labels}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 * self.interval_s


class Scraper(Protocol):
    """Fetches one target's page. Raises :class:`ScrapeError` with a user-facing message."""

    async def scrape(self, timeout_s: float) -> tuple[bytes, str | None]:
        """The body and its Content-Type header (None if absent)."""
        ...


def merge_target_labels(sample: Labels, target: Labels, honor_labels: bool) -> Labels:
    """The labels a sample is stored with.

    With ``honor_labels`` the sample's own labels win and target labels only fill gaps.
    Otherwise target labels win, and each conflicting exposed label is kept as
    ``exported_<name>`` (prefixed again while that name is taken), as Prometheus does.
    """
    merged = dict(sample)
    if honor_labels:
        for k, v in target:
            if not merged.get(k):
                merged[k] = v
        return Labels(merged)
    conflicts = []
    for k, v in target:
        existing = merged.get(k)
        if existing:
            conflicts.append((k, existing))
        merged[k] = v
    for k, v in sorted(conflicts):
        name = k
        while True:
            name = "exported_" + name
            if not merged.get(name):
                merged[name] = v
                break
    return Labels(merged)


@dataclass
class _Outcome:
    error: str = ""  # the scrape failed: up 0, nothing stored
    note: str = ""  # the page was stored but the target reported a failure of its own
    scraped: int = 0
    post_relabel: int = 0
    series_added: int = 0
    rejected: int = 0


class ScrapeLoop:
    """Scrapes one target until stopped. Owns the target's staleness state and status."""

    def __init__(self, target: ScrapeTarget, scraper: Scraper, storage: Storage,
                 metrics: SelfMetrics, *, clock: Callable[[], float] = time.time) -> None:
        self.target = target
        self._scraper = scraper
        self._storage = storage
        self._metrics = metrics
        self._clock = clock
        self._prev: set[Labels] = set()  # series of the last scrape, for staleness
        # exposed labels -> stored labels (None: dropped by metric relabelling)
        self._label_cache: dict[Labels, Labels | None] = {}
        self._parse_cache: dict[str, Labels] = {}  # raw "name{labels}" -> exposed labels
        # One tuple per distinct (name, value) pair among the stored labels: the target's
        # pairs (job, instance, ...) repeat in every series of the page.
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}
        self._last_ts_ms: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._status = TargetStatus(
            job=target.job, instance=target.instance, scrape_url=target.scrape_url,
            labels=target.labels, discovered_labels=target.discovered_labels, health="unknown",
            last_error="", last_scrape=None, last_scrape_duration_s=0.0,
            scrape_interval_s=target.interval_s, scrape_timeout_s=target.timeout_s)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"scrape {self.target.scrape_url}")

    def take_over(self, old: ScrapeLoop) -> None:
        """Continue where ``old`` (same target key, older options) left off, so a reload
        that only changes e.g. the interval neither loses staleness state nor its status."""
        self._prev = old._prev
        if (old.target.honor_labels, old.target.metric_relabel, old.target.labels) == (
                self.target.honor_labels, self.target.metric_relabel, self.target.labels):
            self._label_cache = old._label_cache  # merged with the same rule
        self._parse_cache = old._parse_cache
        self._pairs = old._pairs
        self._last_ts_ms = old._last_ts_ms
        self._status = replace(old._status, labels=self.target.labels,
                               discovered_labels=self.target.discovered_labels,
                               scrape_interval_s=self.target.interval_s,
                               scrape_timeout_s=self.target.timeout_s)

    async def stop(self, *, mark_stale: bool) -> None:
        """Stop the loop. With ``mark_stale`` (the target went away) every series it wrote,
        the synthetic ones included, gets a staleness marker now."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if mark_stale and self._last_ts_ms is not None:
            await asyncio.to_thread(self._write_end_of_run_staleness)

    def status(self) -> TargetStatus:
        return self._status

    async def _run(self) -> None:
        interval = max(self.target.interval_s, 0.01)  # a 0s interval would spin
        offset = self.target.offset_s()
        now = self._clock()
        # The first slot at or after now with the target's phase; later ones every interval.
        next_at = now + (offset - now) % interval
        while True:
            await asyncio.sleep(max(0.0, next_at - self._clock()))
            try:
                await self.scrape_once()
            except Exception:  # a bug in one scrape must not end this target's loop
                log.exception("scrape of %s failed unexpectedly", self.target.scrape_url)
            next_at += interval
            now = self._clock()
            if next_at < now:  # overran: skip missed slots but keep the phase
                next_at += math.ceil((now - next_at) / interval) * interval

    # -- one scrape ----------------------------------------------------------------------

    async def scrape_once(self) -> None:
        """Scrape, append and update status once. Never raises for target problems."""
        start = self._clock()
        ts_ms = int(start * 1000)
        if self._last_ts_ms is not None and ts_ms <= self._last_ts_ms:
            ts_ms = self._last_ts_ms + 1  # keep this loop's timestamps strictly increasing
        body: bytes | None = None
        content_type: str | None = None
        error = note = ""
        try:
            if self.target.forced_error:
                raise ScrapeError(self.target.forced_error)
            body, content_type = await self._scraper.scrape(self.target.timeout_s)
        except PartialScrapeError as e:
            body, content_type, note = e.body, e.content_type, str(e)
        except ScrapeError as e:
            error = str(e)
        duration = self._clock() - start
        work = asyncio.ensure_future(asyncio.to_thread(
            self._process, body, content_type, error, ts_ms, start, duration, note))
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            # Let the append finish so the staleness state matches what was stored.
            await work
            raise

    def _process(self, body: bytes | None, content_type: str | None, error: str, ts_ms: int,
                 start: float, duration: float, note: str = "") -> None:
        out = _Outcome(error=error, note=note)
        app = self._storage.appender()
        try:
            current = self._append_samples(app, body, content_type, ts_ms, out)
            stale = self._prev - current
            for labels in stale:
                self._append(app, labels, ts_ms, STALE_NAN, out)
            self._append_report(app, ts_ms, duration, out)
            app.commit()
        except StorageError as e:
            with contextlib.suppress(StorageError):
                app.rollback()
            log.warning("scrape of %s: storage failed: %s", self.target.scrape_url, e)
            out.error = out.error or f"storage: {e}"
        except BaseException:
            with contextlib.suppress(Exception):
                app.rollback()
            raise
        else:
            self._prev = current
        self._last_ts_ms = ts_ms
        self._record(out, start, duration)

    def _append_samples(self, app: Appender, body: bytes | None, content_type: str | None,
                        ts_ms: int, out: _Outcome) -> set[Labels]:
        """Append the page's samples; the set of series to track for staleness. On any
        failure nothing is appended, ``out.error`` is set and the set is empty."""
        if out.error or body is None:
            return set()
        try:
            samples = parse(body, content_type, label_cache=self._parse_cache).samples
        except ParseError as e:
            out.error = str(e)
            return set()
        finally:
            if len(self._parse_cache) > 2 * len(self._prev) + 1000:
                self._parse_cache = {}  # series churn: drop entries of vanished lines
                self._pairs = {}
        t = self.target
        out.scraped = len(samples)
        old_cache: dict[Labels, Labels | None] = self._label_cache
        cache: dict[Labels, Labels | None] = {}
        kept = []
        for s in samples:
            labels = old_cache.get(s.labels, s.labels)
            if labels is s.labels:  # not cached (None is a cached "dropped")
                labels = merge_target_labels(s.labels, t.labels, t.honor_labels)
                if t.metric_relabel is not None:
                    labels = t.metric_relabel.process(labels)
                    if labels is not None and not labels.get(METRIC_NAME):
                        labels = None  # nothing to store without a name
                if labels is not None:
                    labels = with_shared_pairs(labels, self._pairs)
            cache[s.labels] = labels
            if labels is not None:
                kept.append((s, labels))
        out.post_relabel = len(kept)
        if t.sample_limit and len(kept) > t.sample_limit:
            out.error = "sample limit exceeded"
            return set()
        limit_error = self._check_label_limits(kept)
        if limit_error:
            out.error = limit_error
            return set()
        current: set[Labels] = set()
        seen: set[Labels] = set()
        for s, labels in kept:
            if labels in seen:
                out.rejected += 1  # duplicate series in one page: keep the first
                continue
            seen.add(labels)
            if s.ts_ms is not None and t.honor_timestamps:
                self._append(app, labels, s.ts_ms, s.value, out)
            else:
                self._append(app, labels, ts_ms, s.value, out)
                current.add(labels)
        self._label_cache = cache
        out.series_added = len(current - self._prev)
        return current

    def _check_label_limits(self, kept: list[tuple[object, Labels]]) -> str:
        """Prometheus's message for the first series over a label limit, else ``""``."""
        t = self.target
        if not (t.label_limit or t.label_name_length_limit or t.label_value_length_limit):
            return ""
        for _, labels in kept:
            metric = labels.get(METRIC_NAME)[:50]
            if t.label_limit and len(labels) > t.label_limit:
                return (f"label_limit exceeded (metric: {metric}, number of labels: "
                        f"{len(labels)}, limit: {t.label_limit})")
            for name, value in labels:
                if t.label_name_length_limit and len(name) > t.label_name_length_limit:
                    return (f"label_name_length_limit exceeded (metric: {metric}, label name: "
                            f"{name[:50]}, length: {len(name)}, limit: "
                            f"{t.label_name_length_limit})")
                if t.label_value_length_limit and len(value) > t.label_value_length_limit:
                    return (f"label_value_length_limit exceeded (metric: {metric}, label name: "
                            f"{name[:50]}, value: {quote(value[:50])}, length: {len(value)}, "
                            f"limit: {t.label_value_length_limit})")
        return ""

    def _append(self, app: Appender, labels: Labels, ts_ms: int, value: float,
                out: _Outcome) -> None:
        try:
            app.append(labels, ts_ms, value)
        except StorageError as e:  # out of order, out of bounds, duplicate: skip the sample
            out.rejected += 1
            if out.rejected == 1:
                log.debug("scrape of %s: sample rejected: %s", self.target.scrape_url, e)

    def _report_labels(self, name: str) -> Labels:
        return Labels([*self.target.labels.without(METRIC_NAME), (METRIC_NAME, name)])

    def _append_report(self, app: Appender, ts_ms: int, duration: float, out: _Outcome) -> None:
        values = (0.0 if out.error else 1.0, duration, float(out.scraped),
                  float(out.post_relabel), float(out.series_added))
        for name, value in zip(REPORT_SERIES, values, strict=True):
            self._append(app, self._report_labels(name), ts_ms, value, out)

    def _record(self, out: _Outcome, start: float, duration: float) -> None:
        job = self.target.job
        self._metrics.scrape_duration.labels(job).observe(self._clock() - start)
        if out.error:
            self._metrics.scrapes_failed.labels(job).inc()
        self._status = replace(
            self._status, health="down" if out.error else "up",
            last_error=out.error or out.note,
            last_scrape=datetime.fromtimestamp(start, UTC), last_scrape_duration_s=duration,
            samples_scraped=out.scraped)

    def _write_end_of_run_staleness(self) -> None:
        ts_ms = max(int(self._clock() * 1000), (self._last_ts_ms or 0) + 1)
        out = _Outcome()
        app = self._storage.appender()
        for labels in self._prev:
            self._append(app, labels, ts_ms, STALE_NAN, out)
        for name in REPORT_SERIES:
            self._append(app, self._report_labels(name), ts_ms, STALE_NAN, out)
        try:
            app.commit()
        except StorageError as e:
            log.warning("staleness markers for %s not written: %s", self.target.scrape_url, e)
        self._prev = set()
        self._last_ts_ms = ts_ms
