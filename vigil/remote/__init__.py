"""Prometheus remote write 1.0 (the wire codec, the receiver behind ``POST /api/v1/write``,
the queues that send committed samples to remote endpoints) and ``storage.remote``: metrics
kept in a Prometheus-compatible store, queried there (:mod:`vigil.remote.query`) and written
there through a queue with the local TSDB as its buffer (:mod:`vigil.remote.store`).

Imports from below: :mod:`vigil.storage` (the TSDB is reached through the ``Storage``
protocol and, for sending, a commit subscription passed in by ``vigil/app.py``),
:mod:`vigil.config`, and PromQL's parser and value types for the remote query engine.
"""

from vigil.remote.codec import (
    WireError,
    compress,
    decode_write_request,
    decompress,
    encode_write_request,
)
from vigil.remote.query import RemoteEngine, RemoteSeriesReader
from vigil.remote.queue import QueueManager
from vigil.remote.receiver import Limits, Receiver, RemoteWriteError
from vigil.remote.store import RemoteStore, open_remote_store

__all__ = [
    "Limits", "QueueManager", "Receiver", "RemoteEngine", "RemoteSeriesReader", "RemoteStore",
    "RemoteWriteError", "WireError", "compress", "decode_write_request", "decompress",
    "encode_write_request", "open_remote_store",
]
