"""The package surface: build_local_targets from config, run by the real scrape manager."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from tests.support.tsdb_store import TempTSDB
from vigil.collect.exporters import build_local_targets
from vigil.collect.manager import Manager
from vigil.config import Config, load_config_text
from vigil.config.model import CollectorsConfig
from vigil.errors import ConfigError
from vigil.selfmetrics import SelfMetrics

from .conftest import RedisServer


def test_targets_per_collector_with_kind_as_job() -> None:
    collectors = CollectorsConfig.model_validate({
        "probes": [{"name": "shop", "module": "http", "target": "https://127.0.0.1:8443/health",
                    "interval": "30s"}],
        "postgres": [{"name": "main", "dsn": "postgresql://vigil@127.0.0.1:5432/postgres"},
                     {"name": "replica", "dsn": "postgresql://vigil@127.0.0.1:5433/postgres"}],
        "redis": [{"name": "cache", "address": "127.0.0.1:6379", "interval": "15s"}],
        "backups": [{"name": "db-dumps", "path": "/var/backups/db", "pattern": "*.sql.gz"}],
        "mqtt": [{"name": "farm", "address": "127.0.0.1:1883"}],
        "sql": [{"name": "shop", "dsn": "postgresql://vigil@127.0.0.1/shop",
                 "queries": [{"metric": "orders", "query": "SELECT 1 AS value"}]}],
    })
    targets = build_local_targets(collectors)
    assert [(t.job, t.instance, t.interval_s) for t in targets] == [
        ("probe", "shop", 30.0), ("postgres", "main", None), ("postgres", "replica", None),
        ("redis", "cache", 15.0), ("backup", "db-dumps", None), ("mqtt", "farm", None),
        ("sql", "shop", None)]
    assert len({t.scrape_url for t in targets}) == len(targets)


def test_config_yaml_and_secrets_stay_out_of_the_config() -> None:
    config = load_config_text("""
collectors:
  postgres: [{name: main, dsn: "postgresql://vigil@127.0.0.1:5432/postgres",
              password_env: PGPASSWORD_MAIN, interval: 30s, idle_in_transaction_threshold: 5m}]
  redis: [{name: cache, address: "127.0.0.1:6379", password_file: /run/secrets/redis}]
""")
    pg = config.collectors.postgres[0]
    assert pg.idle_in_transaction_threshold == 300.0 and pg.interval == 30.0
    with pytest.raises(ConfigError, match=r"collectors\.redis\[0\]\.password"):
        load_config_text("collectors:\n  redis: [{name: c, address: 'h:1', password: x}]\n")
    with pytest.raises(ConfigError, match=r":2:24: collectors\.postgres\[0\]\.dsn: dsn must not") as info:
        load_config_text("collectors:\n  postgres: [{name: m, dsn: 'postgresql://u:s3cr3t@h/d'}]\n")
    assert "s3cr3t" not in str(info.value)
    with pytest.raises(ConfigError, match="unique"):
        load_config_text("collectors:\n  backups: [{name: a, path: /x}, {name: a, path: /y}]\n")


def test_scraped_by_the_manager(tmp_path: Path, redis_server: RedisServer,
                                monkeypatch: pytest.MonkeyPatch, store: TempTSDB) -> None:
    """Two backups collectors both run; a Redis with the wrong password still stores its
    page (``redis_up`` 0, ``vigil_collector_up`` 0, ``up`` 1) and its last error says why."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.dump").write_bytes(b"1234")
        os.utime(tmp_path / name / "x.dump", (time.time() - 60, time.time() - 60))
    monkeypatch.setenv("VIGIL_TEST_REDIS_PW", "wrong")
    config = Config.model_validate({
        "global": {"scrape_interval": "200ms", "scrape_timeout": "2s"},
        "collectors": {
            "host": {"enabled": False},
            "backups": [{"name": "a", "path": str(tmp_path / "a")},
                        {"name": "b", "path": str(tmp_path / "b")}],
            "redis": [{"name": "cache", "address": redis_server.address,
                       "password_env": "VIGIL_TEST_REDIS_PW"}],
        }})

    async def main() -> dict[tuple[str, str], object]:
        mgr = Manager(config, store, SelfMetrics(),
                      local_targets=build_local_targets(config.collectors))
        await mgr.start()
        try:
            deadline = time.monotonic() + 10
            while not (store.series("vigil_backup_files", instance="a")
                       and store.series("vigil_backup_files", instance="b")
                       and store.series("up", job="redis")):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            return {(t.job, t.instance): t for t in mgr.targets()}
        finally:
            await mgr.stop()

    targets = asyncio.run(main())
    assert store.last("vigil_backup_files", job="backup", instance="a", collector="a") == 1
    assert store.last("vigil_backup_newest_size_bytes", job="backup", instance="b") == 4
    assert store.last("up", job="redis", instance="cache") == 1
    assert store.last("redis_up", job="redis", instance="cache") == 0
    assert store.last("vigil_collector_up", job="redis", collector="cache") == 0
    redis_target = targets[("redis", "cache")]
    assert redis_target.health == "up"  # type: ignore[attr-defined]
    assert "redis cache:" in redis_target.last_error  # type: ignore[attr-defined]
    assert "authentication failed" in redis_target.last_error  # type: ignore[attr-defined]
    assert "wrong" not in redis_target.last_error.replace("WRONGPASS", "")  # type: ignore[attr-defined]
