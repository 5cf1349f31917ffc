"""The remote-write receiver: ``POST /api/v1/write`` bodies into the store.

Contract (as Prometheus 2.42's write handler):

* The whole request is one appender batch. It is acknowledged (:meth:`Receiver.write`
  returns) only after the appender's commit wrote it to the WAL.
* Bad input raises :class:`RemoteWriteError` with ``status`` 400 and nothing of the request
  is stored: corrupt snappy or protobuf, a series without ``__name__``, invalid or
  duplicate label names, limits exceeded (:class:`Limits`), and out-of-order, duplicate or
  too-old samples (Prometheus answers 400 for those so that senders do not retry).
* A store failure a retry could fix (WAL write failed, store closed) raises it with
  ``status`` 500 or 503.

Series labels are cached by their raw wire bytes (:mod:`vigil.remote._fastdecode`), so a
series seen before costs one dict lookup instead of decoding, validating and sorting.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.errors import StorageError, VigilError
from vigil.model.labels import METRIC_NAME, Labels, is_label_name, with_shared_pairs
from vigil.remote import codec
from vigil.remote._fastdecode import decode_labels, scan_write_request
from vigil.storage import Storage

__all__ = ["Limits", "Receiver", "RemoteWriteError"]



class RemoteWriteError(VigilError):
    """A request that was not stored. ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """Per-request limits. Prometheus has none by default; these bound the memory one
    request can take (a sender that hits them has a bug, not a big fleet).

    The compressed request's size is bounded by the web app for every request body
    (``web.max_request_body_size``, :mod:`vigil.web.body_limit`); ``max_decompressed_bytes``
    bounds the declared snappy size; label limits apply per series, in UTF-8 bytes."""

    max_decompressed_bytes: int = 128 << 20
    max_labels_per_series: int = 256
    max_label_name_bytes: int = 1024
    max_label_value_bytes: int = 64 << 10
    label_cache_size: int = 1_000_000  # series; ~300 bytes each (raw labels + entry)


class Receiver:
    """Decodes and stores remote-write requests into ``storage``. Thread-safe (each call
    uses its own appender); CPU-bound, so call it from a worker thread."""

    def __init__(self, storage: Storage, limits: Limits | None = None) -> None:
        self._storage = storage
        self.limits = limits or Limits()
        self._labels: dict[bytes, Labels] = {}
        # One tuple per distinct (name, value) pair, shared by every series that has it: a
        # node_exporter-like series otherwise holds ~780 bytes of its own strings and pairs
        # (bench/head_memory.py), though nearly all of them repeat across series.
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}

    def write(self, body: bytes) -> int:
        """Store one snappy-compressed WriteRequest; returns the number of samples stored."""
        lim = self.limits
        try:
            cols = scan_write_request(codec.decompress(body, max_bytes=lim.max_decompressed_bytes),
                                      self._labels)
            cached, resolve = self._labels.get, self._resolve
            labels = [cached(raw) or resolve(raw) for raw in cols.labels]
        except codec.WireError as e:
            raise RemoteWriteError(str(e), 400) from None
        if len(labels) != len(cols.ts) or 0 in cols.counts:  # not one sample per series
            labels = [lb for lb, k in zip(labels, cols.counts, strict=True) for _ in range(k)]
        return self._append(labels, cols.ts, cols.vals)

    def _resolve(self, raw: bytes) -> Labels:
        labels = self._labels.get(raw)
        if labels is None:
            labels = self._validate(decode_labels(raw))
            if len(self._labels) >= self.limits.label_cache_size:
                self._labels.clear()  # crude but bounded; refills within one round of sends
                self._pairs.clear()
            self._labels[raw] = labels
        return labels

    def _validate(self, pairs: list[tuple[str, str]]) -> Labels:
        lim = self.limits
        if len(pairs) > lim.max_labels_per_series:
            raise codec.WireError(f"series has {len(pairs)} labels, more than the limit of "
                                  f"{lim.max_labels_per_series}")
        seen: set[str] = set()
        for name, value in pairs:
            if not is_label_name(name):
                raise codec.WireError(f"invalid label name {name[:200]!r}")
            if name in seen:
                raise codec.WireError(f"duplicate label name {name!r} in {_brief(pairs)}")
            seen.add(name)
            if len(name) > lim.max_label_name_bytes:
                raise codec.WireError(f"label name {name[:64]!r}... is longer than "
                                      f"{lim.max_label_name_bytes} bytes")
            if len(value) > lim.max_label_value_bytes and \
                    len(value.encode("utf-8")) > lim.max_label_value_bytes:
                raise codec.WireError(f"value of label {name!r} is {len(value.encode())} bytes, "
                                      f"more than the limit of {lim.max_label_value_bytes}")
        labels = with_shared_pairs(Labels(pairs), self._pairs)
        if not labels.get(METRIC_NAME):
            raise codec.WireError(f"series {_brief(pairs)} has no {METRIC_NAME} label")
        return labels

    def _append(self, labels: list[Labels], ts: list[int], vals: list[float]) -> int:
        try:
            app = self._storage.appender()
        except StorageError as e:
            raise RemoteWriteError(str(e), 503) from None
        try:
            append_columns = getattr(app, "append_columns", None)
            if append_columns is not None:  # the TSDB's column-wise path
                append_columns(labels, ts, vals)
            else:
                for lb, t, v in zip(labels, ts, vals, strict=True):
                    app.append(lb, t, v)
        except StorageError as e:  # out of order, duplicate, out of bounds
            app.rollback()
            raise RemoteWriteError(str(e), 400) from None
        try:
            app.commit()
        except StorageError as e:
            raise RemoteWriteError(str(e), 500) from None
        return len(ts)


def _brief(pairs: list[tuple[str, str]]) -> str:
    text = "{" + ", ".join(f'{n}="{v}"' for n, v in pairs[:8]) + (", ...}" if len(pairs) > 8 else "}")
    return text if len(text) <= 300 else text[:300] + "...}"
