"""One scrape loop against a real HTTP server, one scrape at a time (``scrape_once``), with a
fake clock so timestamps are exact."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.support.tsdb_store import TempTSDB
from vigil.collect.manager import targets_from_config
from vigil.collect.scrape import HTTPScraper, ScrapeLoop, merge_target_labels
from vigil.config import Config
from vigil.model.labels import Labels
from vigil.selfmetrics import SelfMetrics
from vigil.storage import is_stale

from .conftest import TargetServer

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def config_for(address: str, **scrape: Any) -> Config:
    sc = {"job_name": "app", "static_configs": [{"targets": [address]}], **scrape}
    return Config.model_validate({"global": {"scrape_interval": "1s", "scrape_timeout": "500ms"},
                                  "scrape_configs": [sc]})


def run_loop(store: TempTSDB, address: str,
             body: Callable[[ScrapeLoop, Clock], Awaitable[None]], **scrape: Any) -> ScrapeLoop:
    target = targets_from_config(config_for(address, **scrape))[0]
    clock = Clock()

    async def main() -> ScrapeLoop:
        async with httpx.AsyncClient() as client:
            loop = ScrapeLoop(target, HTTPScraper(client, target.scrape_url), store,
                              SelfMetrics(), clock=clock)
            await body(loop, clock)
            return loop

    return asyncio.run(main())


def test_scrape_writes_samples_report_series_and_sends_prometheus_headers(
        target_server: TargetServer, store: TempTSDB) -> None:
    target_server.set('# TYPE reqs counter\nreqs{path="/a"} 3\nreqs{path="/b"} 4\n')

    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        await loop.scrape_once()

    loop = run_loop(store, target_server.address, body, metrics_path="/stats",
                    params={"module": ["x"]})
    inst = target_server.address
    assert store.series("reqs", path="/a", job="app", instance=inst)[
        Labels.of(__name__="reqs", path="/a", job="app", instance=inst)] == [(T0 * 1000, 3.0)]
    assert store.values("up", job="app", instance=inst) == [1.0]
    assert store.values("scrape_samples_scraped", job="app") == [2.0]
    assert store.values("scrape_samples_post_metric_relabeling", job="app") == [2.0]
    assert store.values("scrape_series_added", job="app") == [2.0]
    assert len(store.values("scrape_duration_seconds", job="app")) == 1
    req = target_server.requests[0]
    assert req["path"] == "/stats?module=x"
    assert req["accept"].startswith("application/openmetrics-text;version=1.0.0")
    assert "text/plain;version=0.0.4" in req["accept"]
    assert req["x-prometheus-scrape-timeout-seconds"] == "0.5"
    st = loop.status()
    assert (st.health, st.last_error, st.samples_scraped) == ("up", "", 2)
    assert st.scrape_url == f"http://{inst}/stats?module=x"


def test_conflicting_labels_become_exported_unless_honor_labels(
        target_server: TargetServer, store: TempTSDB,
        make_tsdb_store: Callable[[], TempTSDB]) -> None:
    target_server.set('m{job="inner",instance="i1",exported_job="taken"} 1\n')

    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        await loop.scrape_once()

    run_loop(store, target_server.address, body)
    (labels,) = store.series("m")
    assert labels == Labels.of(__name__="m", job="app", instance=target_server.address,
                               exported_instance="i1", exported_job="taken",
                               exported_exported_job="inner")

    honored = make_tsdb_store()
    run_loop(honored, target_server.address, body, honor_labels=True)
    (labels,) = honored.series("m")
    assert labels == Labels.of(__name__="m", job="inner", instance="i1", exported_job="taken")


def test_merge_target_labels_fills_gaps_when_honoring() -> None:
    target = Labels.of(job="j", instance="h:1", env="prod")
    merged = merge_target_labels(Labels.of(__name__="x", env="dev"), target, honor_labels=True)
    assert merged == Labels.of(__name__="x", job="j", instance="h:1", env="dev")


def test_disappearing_series_get_stale_markers(target_server: TargetServer,
                                               store: TempTSDB) -> None:
    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        target_server.set("a 1\nb 2\n")
        await loop.scrape_once()
        clock.now += 1
        target_server.set("a 3\n")
        await loop.scrape_once()
        clock.now += 1
        target_server.set("a 4\nb 5\n")
        await loop.scrape_once()

    run_loop(store, target_server.address, body)
    assert store.values("a") == [1.0, 3.0, 4.0]
    b = store.values("b")
    assert b[0] == 2.0 and is_stale(b[1]) and b[2] == 5.0
    (b_points,) = store.series("b").values()
    assert b_points[1][0] == (T0 + 1) * 1000  # the marker is at the scrape that missed it
    assert store.values("scrape_series_added") == [2.0, 0.0, 1.0]


def test_failed_scrape_marks_everything_stale_and_writes_up_zero(
        target_server: TargetServer, store: TempTSDB) -> None:
    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        target_server.set("a 1\nb 2\n")
        await loop.scrape_once()
        clock.now += 1
        target_server.set("oops", status=500)
        await loop.scrape_once()
        clock.now += 1
        await loop.scrape_once()  # still failing: nothing more to mark

    loop = run_loop(store, target_server.address, body)
    for name in ("a", "b"):
        vals = store.values(name)
        assert len(vals) == 2 and is_stale(vals[1])
    assert store.values("up") == [1.0, 0.0, 0.0]
    assert store.values("scrape_samples_scraped") == [2.0, 0.0, 0.0]
    st = loop.status()
    assert st.health == "down"
    assert st.last_error == "server returned HTTP status 500 Internal Server Error"


def test_parse_error_fails_the_scrape_and_stores_nothing_from_it(
        target_server: TargetServer, store: TempTSDB) -> None:
    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        target_server.set("a 1\n")
        await loop.scrape_once()
        clock.now += 1
        target_server.set("a 2\nnew_series 7\nbroken{x=} 1\n")
        await loop.scrape_once()

    loop = run_loop(store, target_server.address, body)
    vals = store.values("a")
    assert vals[0] == 1.0 and is_stale(vals[1])
    assert store.series("new_series") == {}
    assert store.values("up") == [1.0, 0.0]
    assert loop.status().last_error == "line 3: expected '\"' to start label value"


def test_timeout_fails_the_scrape(target_server: TargetServer, store: TempTSDB) -> None:
    target_server.set("a 1\n", delay_s=2.0)

    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        await loop.scrape_once()

    loop = run_loop(store, target_server.address, body, scrape_timeout="200ms")
    assert store.values("up") == [0.0]
    assert store.series("a") == {}
    assert "context deadline exceeded" in loop.status().last_error


def test_sample_limit_exceeded_fails_the_scrape(target_server: TargetServer,
                                                 store: TempTSDB) -> None:
    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        target_server.set("a 1\n")
        await loop.scrape_once()
        clock.now += 1
        target_server.set("a 1\nb 2\nc 3\n")
        await loop.scrape_once()

    loop = run_loop(store, target_server.address, body, sample_limit=2)
    assert loop.status().last_error == "sample limit exceeded"
    assert store.series("b") == {} and store.series("c") == {}
    assert is_stale(store.values("a")[-1])
    assert store.values("up") == [1.0, 0.0]
    assert store.values("scrape_samples_scraped") == [1.0, 3.0]


@pytest.mark.parametrize("honor", [True, False])
def test_exposed_timestamps_used_only_when_honored(target_server: TargetServer,
                                                   store: TempTSDB, honor: bool) -> None:
    target_server.set("with_ts 1 1600000000000\n")

    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        await loop.scrape_once()

    run_loop(store, target_server.address, body, honor_timestamps=honor)
    ((ts, _),) = next(iter(store.series("with_ts").values()))
    assert ts == (1_600_000_000_000 if honor else T0 * 1000)


def test_openmetrics_page_is_parsed_by_content_type(target_server: TargetServer,
                                                    store: TempTSDB) -> None:
    target_server.set("# TYPE c counter\nc_total 5 1600000000.5\n# EOF\n",
                      content_type="application/openmetrics-text; version=1.0.0; charset=utf-8")

    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        await loop.scrape_once()

    run_loop(store, target_server.address, body)
    ((ts, v),) = next(iter(store.series("c_total").values()))
    assert (ts, v) == (1_600_000_000_500, 5.0)


def test_connection_refused_is_reported(store: TempTSDB) -> None:
    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        await loop.scrape_once()

    loop = run_loop(store, "127.0.0.1:1", body)
    assert loop.status().health == "down"
    assert loop.status().last_error.startswith('Get "http://127.0.0.1:1/metrics": ')
    assert store.values("up") == [0.0]


def test_stop_with_staleness_marks_samples_and_report_series(target_server: TargetServer,
                                                             store: TempTSDB) -> None:
    async def body(loop: ScrapeLoop, clock: Clock) -> None:
        target_server.set("a 1\n")
        await loop.scrape_once()
        clock.now += 0.5
        await loop.stop(mark_stale=True)

    run_loop(store, target_server.address, body)
    assert store.stale_series() == {
        Labels.of(__name__=n, job="app", instance=target_server.address)
        for n in ("a", "up", "scrape_duration_seconds", "scrape_samples_scraped",
                  "scrape_samples_post_metric_relabeling", "scrape_series_added")}
    (points,) = store.series("a").values()
    assert points[-1][0] == (T0 + 0.5) * 1000
    assert not math.isnan(points[0][1])
