"""Scrape sharding across replicas (``storage.remote`` with several ``vigil up``): each HTTP
target is scraped by exactly one replica, the one whose index equals Prometheus's
``hashmod`` of the target's address (MD5, last 8 bytes big-endian) modulo the number of
live replicas. It is what a Prometheus user writes by hand as a ``hashmod`` relabel rule on
``__address__`` plus a ``keep`` of one shard; here the index and count come from the
cluster's membership, so when a replica dies its targets move to the survivors.

Built-in collectors (host, Vigil's own metrics, exporters, pushes) are not sharded: they
describe the replica's own machine and carry its ``instance``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from vigil.model.relabel import hashmod

__all__ = ["Shard", "owner_of", "scrape_address"]

# (this replica's index, number of live replicas); index in [0, count).
Shard = Callable[[], tuple[int, int]]


def scrape_address(scrape_url: str) -> str:
    """The ``host:port`` a target is scraped at (its ``__address__`` after relabelling and
    the default port)."""
    return urlsplit(scrape_url).netloc


def owner_of(scrape_url: str, count: int) -> int:
    """The index of the replica (of ``count``) that scrapes the target at ``scrape_url``."""
    return hashmod(scrape_address(scrape_url), count) if count > 1 else 0
