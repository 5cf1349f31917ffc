"""Scrape sharding (storage.remote with several replicas): each HTTP target is scraped by
exactly one shard, chosen as Prometheus's hashmod relabel action chooses it; ownership
follows the shard when membership changes; built-in collectors are never sharded."""

from __future__ import annotations

import asyncio

from tests.support.tsdb_store import TempTSDB
from vigil.collect.local import LocalTarget
from vigil.collect.manager import Manager
from vigil.collect.shard import owner_of, scrape_address
from vigil.config.model import RelabelConfig
from vigil.model.labels import Labels
from vigil.model.relabel import Relabeller
from vigil.selfmetrics import SelfMetrics
from vigil.storage import is_stale

from .conftest import TargetServer
from .test_manager import make_config, wait_until

ADDRESSES = [f"10.0.{i // 7}.{i}:9100" for i in range(40)]


def test_owner_is_prometheus_hashmod_of_the_address():
    # The same choice a Prometheus user makes with a hashmod relabel step on __address__.
    for count in (2, 3, 5):
        step = Relabeller([RelabelConfig(source_labels=["__address__"], modulus=count,
                                         target_label="__tmp_shard", action="hashmod")])
        for address in ADDRESSES:
            out = step.process(Labels({"__address__": address}))
            assert out is not None
            assert owner_of(f"http://{address}/metrics", count) == int(out.get("__tmp_shard"))
    assert scrape_address("https://host.example:8443/probe?target=x") == "host.example:8443"
    assert {owner_of(f"http://{a}/metrics", 1) for a in ADDRESSES} == {0}


def _scraped(mgr: Manager) -> set[str]:
    return {t.scrape_url.split("/")[2] for t in mgr.targets() if t.job == "app"}


def test_two_shards_split_the_targets_and_the_survivor_takes_all(store: TempTSDB):
    config = make_config(("app", ADDRESSES), interval="1h")
    shards = {0: (0, 2), 1: (1, 2)}
    local = [LocalTarget(job="vigil", instance="replica", collect=lambda: b"x 1\n")]

    async def main() -> tuple[set[str], set[str], set[str], bool]:
        managers = [Manager(config, store, SelfMetrics(), local_targets=local,
                            shard=lambda i=i: shards[i], sd_poll_interval_s=0.05) for i in (0, 1)]
        for m in managers:
            await m.start()
        try:
            first, second = _scraped(managers[0]), _scraped(managers[1])
            local_everywhere = all(any(t.job == "vigil" for t in m.targets()) for m in managers)
            shards[0] = (0, 1)  # replica 1 died: replica 0 is the only one left
            await wait_until(lambda: len(_scraped(managers[0])) == len(ADDRESSES))
            return first, second, _scraped(managers[0]), local_everywhere
        finally:
            for m in managers:
                await m.stop()

    first, second, survivor, local_everywhere = asyncio.run(main())
    assert first | second == set(ADDRESSES)
    assert not first & second
    assert first == {a for a in ADDRESSES if owner_of(f"http://{a}/metrics", 2) == 0}
    assert 0 < len(first) < len(ADDRESSES)
    assert survivor == set(ADDRESSES)
    assert local_everywhere  # each replica's own metrics: never sharded


def test_a_target_moving_to_another_replica_gets_no_staleness_markers(
        target_server: TargetServer, store: TempTSDB):
    target_server.set("moving 1\n")
    config = make_config(("app", [target_server.address]))
    mine = owner_of(f"http://{target_server.address}/metrics", 2)
    shard = [(mine, 2)]

    async def main() -> None:
        mgr = Manager(config, store, SelfMetrics(), shard=lambda: shard[0], sd_poll_interval_s=0.05)
        await mgr.start()
        try:
            await wait_until(lambda: bool(store.series("moving")) and len(store.values("moving")) >= 2)
            shard[0] = (1 - mine, 2)  # a replica joined; the target is now the other's
            await wait_until(lambda: not _scraped(mgr))
            shard[0] = (0, 1)  # and left again: the target comes back
            await wait_until(lambda: len(_scraped(mgr)) == 1)
        finally:
            await mgr.stop()

    asyncio.run(main())
    assert not any(is_stale(v) for v in store.values("moving"))
    assert not any(is_stale(v) for v in store.values("up", job="app"))
