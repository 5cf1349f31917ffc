"""Redis server metrics (C5), named as redis_exporter names them.

From ``INFO``: ``redis_up``, ``redis_uptime_in_seconds``, ``redis_memory_used_bytes``,
``redis_memory_used_rss_bytes``, ``redis_memory_max_bytes`` (0 = no limit),
``redis_connected_clients``, ``redis_blocked_clients``, ``redis_connected_slaves``,
``redis_keyspace_hits_total``, ``redis_keyspace_misses_total``, ``redis_evicted_keys_total``,
``redis_expired_keys_total``, ``redis_commands_processed_total``,
``redis_connections_received_total``, ``redis_rejected_connections_total``,
``redis_db_keys{db}`` and ``redis_db_keys_expiring{db}`` (``db`` as ``db0``).

Each :meth:`RedisCollector.collect` opens one connection and closes it; it raises
:class:`CollectorError` (e.g. ``redis cache: 127.0.0.1:6379: WRONGPASS ...``) when the
server is unreachable or refuses the login.
"""

from __future__ import annotations

import redis as redis_py
from redis.backoff import NoBackoff
from redis.retry import Retry

from vigil.collect.exporters._expfmt import CollectorError, Page
from vigil.collect.exporters._secret import read_password
from vigil.config.model import RedisCollectorConfig

__all__ = ["RedisCollector"]

# INFO field -> (metric, type, help)
_FIELDS = {
    "uptime_in_seconds": ("redis_uptime_in_seconds", "gauge", "uptime_in_seconds metric"),
    "used_memory": ("redis_memory_used_bytes", "gauge", "memory_used_bytes metric"),
    "used_memory_rss": ("redis_memory_used_rss_bytes", "gauge", "memory_used_rss_bytes metric"),
    "maxmemory": ("redis_memory_max_bytes", "gauge", "memory_max_bytes metric"),
    "connected_clients": ("redis_connected_clients", "gauge", "connected_clients metric"),
    "blocked_clients": ("redis_blocked_clients", "gauge", "blocked_clients metric"),
    "connected_slaves": ("redis_connected_slaves", "gauge", "connected_slaves metric"),
    "keyspace_hits": ("redis_keyspace_hits_total", "counter", "keyspace_hits_total metric"),
    "keyspace_misses": ("redis_keyspace_misses_total", "counter",
                        "keyspace_misses_total metric"),
    "evicted_keys": ("redis_evicted_keys_total", "counter", "evicted_keys_total metric"),
    "expired_keys": ("redis_expired_keys_total", "counter", "expired_keys_total metric"),
    "total_commands_processed": ("redis_commands_processed_total", "counter",
                                 "commands_processed_total metric"),
    "total_connections_received": ("redis_connections_received_total", "counter",
                                   "connections_received_total metric"),
    "rejected_connections": ("redis_rejected_connections_total", "counter",
                             "rejected_connections_total metric"),
}


class RedisCollector:
    """Collects one Redis server. Safe to call from one thread at a time."""

    def __init__(self, config: RedisCollectorConfig) -> None:
        self.config = config

    def collect(self) -> str:
        cfg = self.config
        what = f"redis {cfg.name}"
        password = read_password(what, cfg.password_env, cfg.password_file)
        host, _, port = cfg.address.rpartition(":")
        client = redis_py.Redis(host=host.strip("[]"), port=int(port), username=cfg.username,
                                password=password, socket_timeout=cfg.timeout,
                                socket_connect_timeout=cfg.timeout,
                                # no retries: the next scrape is the retry, and a failing
                                # scrape must end within the scrape timeout
                                retry=Retry(NoBackoff(), 0))
        try:
            info = client.info()
        except redis_py.RedisError as e:
            raise CollectorError(f"{what}: {_describe(e, cfg.address)}") from None
        finally:
            client.close()
        page = Page()
        page.sample("redis_up", 1, help_text="Information about the Redis instance")
        for field, (metric, kind, help_text) in _FIELDS.items():
            value = info.get(field)
            if isinstance(value, int | float):
                page.sample(metric, value, kind=kind, help_text=help_text)
        page.family("redis_db_keys", "gauge", "Total number of keys by DB")
        page.family("redis_db_keys_expiring", "gauge", "Total number of expiring keys by DB")
        for key, value in info.items():
            if key.startswith("db") and key[2:].isdigit() and isinstance(value, dict):
                page.sample("redis_db_keys", value.get("keys", 0), {"db": key})
                page.sample("redis_db_keys_expiring", value.get("expires", 0), {"db": key})
        page.collector_health(cfg.name)
        return page.text()


def _describe(e: redis_py.RedisError, address: str) -> str:
    text = str(e).strip() or type(e).__name__
    if isinstance(e, redis_py.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text:
        return f"{address}: authentication failed: {text}"
    if isinstance(e, redis_py.TimeoutError):
        return f"{address}: timeout"
    if isinstance(e, redis_py.ConnectionError) and "connecting to" in text:
        # redis-py says "Error 111 connecting to host:port. Connection refused."
        reason = text.rsplit(". ", 1)[-1].rstrip(".") if ". " in text else text
        return f"connection to {address} failed: {reason}"
    return f"{address}: {text}"
