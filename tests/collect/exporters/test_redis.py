"""The Redis collector against a real redis-server."""

from __future__ import annotations

import pytest
import redis

from vigil.collect.exporters import CollectorError, RedisCollector
from vigil.config.model import RedisCollectorConfig

from .conftest import RedisServer, free_port
from .pages import values

ENV = "VIGIL_TEST_REDIS_PASSWORD"


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    c = redis.Redis(port=redis_server.port, password=redis_server.password)
    c.flushall()
    return c


def collect(server: RedisServer, monkeypatch: pytest.MonkeyPatch,
            password: str | None = None) -> dict[str, float]:
    monkeypatch.setenv(ENV, password or server.password)
    config = RedisCollectorConfig(name="cache", address=server.address, password_env=ENV)
    return values(RedisCollector(config).collect())


def test_server_metrics_and_keys(redis_server: RedisServer, client: redis.Redis,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client.set("a", "1")
    client.set("b", "2", ex=600)
    client.execute_command("SELECT", 2)
    v = collect(redis_server, monkeypatch)
    assert v["redis_up"] == 1
    assert v["redis_memory_used_bytes"] > 0
    assert v["redis_memory_max_bytes"] == 64 * 1024 * 1024
    assert v["redis_connected_clients"] >= 1
    assert v['redis_db_keys{db="db0"}'] == 2
    assert v['redis_db_keys_expiring{db="db0"}'] == 1
    assert v["redis_commands_processed_total"] > 0
    assert v["redis_evicted_keys_total"] == 0
    assert v['vigil_collector_up{collector="cache"}'] == 1


def test_hit_and_miss_counters_move(redis_server: RedisServer, client: redis.Redis,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    client.set("present", "x")
    before = collect(redis_server, monkeypatch)
    for _ in range(3):
        client.get("present")
    for _ in range(5):
        client.get("absent")
    after = collect(redis_server, monkeypatch)
    assert after["redis_keyspace_hits_total"] - before["redis_keyspace_hits_total"] == 3
    assert after["redis_keyspace_misses_total"] - before["redis_keyspace_misses_total"] == 5
    assert after["redis_commands_processed_total"] > before["redis_commands_processed_total"] + 8


def test_wrong_password_is_a_clear_error(redis_server: RedisServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CollectorError, match="authentication failed") as info:
        collect(redis_server, monkeypatch, password="wrong-one")
    assert redis_server.address in str(info.value)
    assert "wrong-one" not in str(info.value)


def test_server_down_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    config = RedisCollectorConfig(name="cache", address=f"127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(CollectorError, match="(?i)refused"):
        RedisCollector(config).collect()
