"""The scrape manager running real loops (200 ms intervals) against real servers: several
targets, failures isolated, reload adding/removing/changing targets, local targets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tests.support.tsdb_store import TempTSDB
from vigil.collect.local import LocalTarget
from vigil.collect.manager import Manager, targets_from_config
from vigil.config import Config
from vigil.model.labels import Labels
from vigil.selfmetrics import SelfMetrics
from vigil.storage import is_stale

from .conftest import TargetServer


def make_config(*jobs: tuple[str, list[str]], interval: str = "200ms", **extra: Any) -> Config:
    return Config.model_validate({
        "global": {"scrape_interval": interval, "scrape_timeout": "150ms"},
        "scrape_configs": [{"job_name": j, "static_configs": [{"targets": t}], **extra}
                           for j, t in jobs],
    })


async def wait_until(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def test_failing_target_does_not_stop_others_and_statuses_report_both(
        target_server: TargetServer, store: TempTSDB) -> None:
    target_server.set("a 1\n")
    config = make_config(("good", [target_server.address]), ("bad", ["127.0.0.1:1"]))

    async def main() -> Manager:
        mgr = Manager(config, store, SelfMetrics())
        await mgr.start()
        try:
            await wait_until(lambda: len(store.series("up", job="good")) == 1
                             and len(store.values("up", job="good")) >= 2
                             and len(store.series("up", job="bad")) == 1
                             and len(store.values("up", job="bad")) >= 2)
        finally:
            await mgr.stop()
        return mgr

    mgr = asyncio.run(main())
    assert set(store.values("up", job="good")) == {1.0}
    assert set(store.values("up", job="bad")) == {0.0}
    # Stopped managers report no targets; stop() wrote no staleness markers.
    assert mgr.targets() == []
    assert not any(is_stale(v) for v in store.values("a"))


def test_targets_status_and_reload(target_server: TargetServer, store: TempTSDB) -> None:
    target_server.set("a 1\n")
    first = make_config(("app", [target_server.address]), ("other", ["127.0.0.1:1"]))
    second = make_config(("other", ["127.0.0.1:1"]))

    async def main() -> tuple[list[Any], list[Any]]:
        metrics = SelfMetrics()
        mgr = Manager(first, store, metrics)
        await mgr.start()
        try:
            await wait_until(lambda: all(t.health != "unknown" for t in mgr.targets()))
            before = mgr.targets()
            await mgr.apply_config(second)
            after = mgr.targets()
        finally:
            await mgr.stop()
        return before, after

    before, after = asyncio.run(main())
    assert [(t.job, t.health) for t in before] == [("app", "up"), ("other", "down")]
    app = before[0]
    assert app.scrape_url == f"http://{target_server.address}/metrics"
    assert app.labels == Labels.of(job="app", instance=target_server.address)
    assert app.discovered_labels.get("__address__") == target_server.address
    assert app.discovered_labels.get("__scrape_interval__") == "200ms"
    assert (app.scrape_interval_s, app.scrape_timeout_s) == (0.2, 0.15)
    assert [t.job for t in after] == ["other"]
    # The removed target's series, synthetic ones included, end with a staleness marker.
    inst = target_server.address
    for name in ("a", "up", "scrape_duration_seconds"):
        assert is_stale(store.values(name, job="app", instance=inst)[-1]), name
    assert not is_stale(store.values("up", job="other")[-1])


def test_reload_with_changed_options_keeps_series_state(target_server: TargetServer,
                                                        store: TempTSDB) -> None:
    target_server.set("a 1\nb 1\n")
    first = make_config(("app", [target_server.address]))
    second = make_config(("app", [target_server.address]), sample_limit=100)

    async def main() -> None:
        mgr = Manager(first, store, SelfMetrics())
        await mgr.start()
        try:
            await wait_until(lambda: bool(store.series("b")))
            await mgr.apply_config(second)
            target_server.set("a 2\n")
            await wait_until(lambda: is_stale(store.values("b")[-1]))
            (status,) = mgr.targets()
            assert status.health == "up"
        finally:
            await mgr.stop()

    asyncio.run(main())
    # "b" vanished after the reload and was still marked stale: the new loop took over.
    assert not any(is_stale(v) for v in store.values("a"))


def test_local_targets_are_scraped_like_http_targets(store: TempTSDB) -> None:
    pages = iter(["own_metric 1\nextra 2\n"] + ["own_metric 2\n"] * 1000)
    broken_calls = 0

    def broken() -> str:
        nonlocal broken_calls
        broken_calls += 1
        raise RuntimeError("no /proc here")

    locals_ = [LocalTarget("vigil", "localhost:9494", lambda: next(pages), interval_s=0.2),
               LocalTarget("node", "box", broken, interval_s=0.2)]

    async def main() -> list[Any]:
        mgr = Manager(make_config(), store, SelfMetrics(), local_targets=locals_)
        await mgr.start()
        try:
            await wait_until(lambda: bool(store.series("extra")) and is_stale(
                store.values("extra")[-1]) and broken_calls >= 1
                and bool(store.series("up", job="node")))
            return mgr.targets()
        finally:
            await mgr.stop()

    statuses = asyncio.run(main())
    by_job = {t.job: t for t in statuses}
    assert by_job["vigil"].scrape_url == "local://vigil/localhost:9494"
    assert by_job["vigil"].health == "up"
    assert by_job["node"].health == "down"
    assert "no /proc here" in by_job["node"].last_error
    assert store.values("up", job="vigil", instance="localhost:9494")[0] == 1.0
    assert store.values("up", job="node", instance="box")[0] == 0.0
    assert store.series("own_metric", job="vigil", instance="localhost:9494")


def test_targets_from_config_labels_and_dedup() -> None:
    config = Config.model_validate({"scrape_configs": [{
        "job_name": "j", "scheme": "https", "metrics_path": "/m", "params": {"a": ["1", "2"]},
        "static_configs": [{"targets": ["h:1", "h:1"], "labels": {"env": "prod"}},
                           {"targets": ["h:2"], "labels": {"instance": "named"}}],
    }]})
    targets = targets_from_config(config)
    assert [t.scrape_url for t in targets] == ["https://h:1/m?a=1&a=2", "https://h:2/m?a=1&a=2"]
    assert targets[0].labels == Labels.of(job="j", instance="h:1", env="prod")
    assert targets[1].instance == "named"
    assert (targets[0].interval_s, targets[0].timeout_s) == (15.0, 10.0)
    assert 0 <= targets[0].offset_s() < 15.0
    assert targets[0].offset_s() == targets_from_config(config)[0].offset_s()
