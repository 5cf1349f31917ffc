"""Collector health: a collector that cannot reach its server, or crashes, still yields a
page saying so (``pg_up`` 0, ``vigil_collector_up`` 0, the error as an info label), the
target's last error says why, and the other collectors and targets go on being scraped."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.support.tsdb_store import TempTSDB
from vigil.collect.exporters import CollectorError, build_local_targets
from vigil.collect.exporters._health import failure_page, guarded
from vigil.collect.local import LocalTarget
from vigil.collect.manager import Manager
from vigil.config import Config
from vigil.selfmetrics import SelfMetrics

from .conftest import free_port
from .pages import values


def test_guarded_turns_failures_into_a_page() -> None:
    def refused() -> str:
        raise CollectorError("postgres main: connection to 127.0.0.1:1 failed: refused")

    with pytest.raises(CollectorError) as info:
        guarded("postgres", "main", refused, "pg_up")()
    assert str(info.value) == "postgres main: connection to 127.0.0.1:1 failed: refused"
    assert info.value.page is not None
    v = values(info.value.page)
    assert v["pg_up"] == 0
    assert v['vigil_collector_up{collector="main"}'] == 0
    assert v['vigil_collector_last_error_info{collector="main",'
             'error="postgres main: connection to 127.0.0.1:1 failed: refused"}'] == 1

    def crash() -> str:
        raise KeyError("bug")

    with pytest.raises(CollectorError, match=r"sql shop: KeyError: 'bug'") as info:
        guarded("sql", "shop", crash)()
    assert "pg_up" not in values(info.value.page or "")
    assert guarded("sql", "shop", lambda: "ok 1\n")() == "ok 1\n"


def test_failure_page_bounds_the_error_label() -> None:
    v = values(failure_page("x", "e" * 10_000))
    (key,) = [k for k in v if k.startswith("vigil_collector_last_error_info")]
    assert len(key) < 600


def test_failed_collectors_are_visible_and_do_not_stop_the_others(tmp_path: Path,
                                                                 store: TempTSDB) -> None:
    dead = free_port()  # nothing listens here
    config = Config.model_validate({
        "global": {"scrape_interval": "200ms", "scrape_timeout": "3s"},
        "collectors": {
            "host": {"enabled": False},
            "postgres": [{"name": "main", "dsn": f"postgresql://vigil@127.0.0.1:{dead}/postgres",
                          "timeout": "1s"}],
            "redis": [{"name": "cache", "address": f"127.0.0.1:{dead}", "timeout": "1s"}],
            "backups": [{"name": "gone", "path": str(tmp_path / "missing")}],
        }})
    calls = 0

    def healthy() -> str:
        nonlocal calls
        calls += 1
        return "demo_ok 1\n"

    targets = [*build_local_targets(config.collectors),
               LocalTarget("fine", "here", healthy, interval_s=0.2)]

    async def main() -> dict[str, object]:
        mgr = Manager(config, store, SelfMetrics(), local_targets=targets)
        await mgr.start()
        try:
            deadline = time.monotonic() + 15
            while not (store.series("pg_up") and store.series("redis_up")
                       and store.series("vigil_collector_up", job="backup")
                       and len(store.series("demo_ok")) == 1
                       and len(store.values("demo_ok")) >= 3):
                assert time.monotonic() < deadline, "collectors did not report in time"
                await asyncio.sleep(0.05)
            return {t.job: t for t in mgr.targets()}
        finally:
            await mgr.stop()

    status = asyncio.run(main())
    assert store.last("pg_up", job="postgres", instance="main") == 0
    assert store.last("vigil_collector_up", job="postgres", collector="main") == 0
    assert store.last("up", job="postgres", instance="main") == 1
    assert store.last("redis_up", job="redis", instance="cache") == 0
    assert store.last("vigil_collector_up", job="backup", collector="gone") == 0
    errors = store.series("vigil_collector_last_error_info", job="postgres")
    assert len(errors) == 1 and "failed" in next(iter(errors)).get("error")
    pg = status["postgres"]
    assert pg.health == "up"  # type: ignore[attr-defined]
    assert "postgres main: connection to" in pg.last_error  # type: ignore[attr-defined]
    assert "no such directory" in status["backup"].last_error  # type: ignore[attr-defined]
    fine = status["fine"]
    assert (fine.health, fine.last_error) == ("up", "")  # type: ignore[attr-defined]
    assert store.last("up", job="fine") == 1
