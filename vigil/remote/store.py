"""``storage.remote`` assembled: the query engine, the series reader and the buffered writer of
one Prometheus-compatible store, built from the configuration for ``vigil/app.py``.

The local TSDB passed in is the buffer: the writer subscribes to its commits (the app does
that, as for every ``remote_write`` queue) and reads skipped spans back from it after an
outage (:mod:`vigil.remote.queue`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from vigil.config import Config
from vigil.config.model import RemoteStorageConfig, RemoteWriteConfig
from vigil.model.features import DEFAULT_FEATURES
from vigil.remote.backend import backend_client
from vigil.remote.query import RemoteEngine, RemoteSeriesReader
from vigil.remote.queue import QueueManager
from vigil.storage import Storage

__all__ = ["UNSENT_FILE", "RemoteStore", "open_remote_store"]

WRITER_NAME = "storage.remote"
# In the data directory: the time span a stop during a store outage left unsent.
UNSENT_FILE = "remote-storage-unsent.json"


@dataclass
class RemoteStore:
    """What the app wires in place of the local engine and TSDB reader."""

    config: RemoteStorageConfig
    engine: RemoteEngine
    series: RemoteSeriesReader
    writer: QueueManager  # not started; subscribe it to the buffer's commits, then start
    _query_client: httpx.Client

    def close(self) -> None:
        """Close the query client (the writer is stopped by its owner)."""
        self._query_client.close()


def open_remote_store(config: Config, buffer: Storage, *,
                      features: Iterable[str] = DEFAULT_FEATURES,
                      state_dir: str | None = None) -> RemoteStore:
    """The store of ``config.storage.remote`` (which must be set), with ``buffer`` behind its
    writer. ``state_dir`` (the data directory) keeps what a stop during an outage left
    unsent (:data:`UNSENT_FILE`), for the next start. Raises ``OSError``/``ssl.SSLError``
    for unreadable TLS files."""
    remote = config.storage.remote
    if remote is None:
        raise ValueError("storage.remote is not configured")
    query_client = backend_client(remote, config, timeout_s=remote.query_timeout)
    write_client = backend_client(remote, config, timeout_s=remote.write_timeout,
                                  headers={"User-Agent": "vigil-remote-write"})
    writer = QueueManager(
        RemoteWriteConfig(url=remote.write_url, name=WRITER_NAME, remote_timeout=remote.write_timeout,
                          queue_config=remote.queue_config),
        client=write_client, buffer=buffer, buffer_retention_ms=int(remote.local_retention * 1000),
        state_file=os.path.join(state_dir, UNSENT_FILE) if state_dir else None)
    return RemoteStore(remote, RemoteEngine(remote.query_url, query_client, features=features),
                       RemoteSeriesReader(remote.query_url, query_client), writer, query_client)
