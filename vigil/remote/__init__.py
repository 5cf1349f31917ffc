"""Prometheus remote write 1.0: the wire codec, the receiver (``POST /api/v1/write``) and
the queue that sends committed samples to remote endpoints.

Only :mod:`vigil.storage` is imported from below; the TSDB is reached through the
``Storage`` protocol and, for sending, a commit subscription passed in by ``vigil/app.py``.
"""

from vigil.remote.codec import (
    WireError,
    compress,
    decode_write_request,
    decompress,
    encode_write_request,
)
from vigil.remote.queue import QueueManager
from vigil.remote.receiver import Limits, Receiver, RemoteWriteError

__all__ = [
    "Limits", "QueueManager", "Receiver", "RemoteWriteError", "WireError", "compress", "decode_write_request",
    "decompress", "encode_write_request",
]
