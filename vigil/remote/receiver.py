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
Requests of real batches are scanned by compiled code without the GIL
(:mod:`vigil.remote._nbdecode`, imported on the first such request), small ones in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.errors import StorageError, VigilError
from vigil.model.labels import METRIC_NAME, Labels, is_label_name, with_shared_pairs
from vigil.remote import codec
from vigil.remote._fastdecode import _varint, decode_labels, scan_write_request
from vigil.storage import Storage

__all__ = ["COMPILED_SCAN_BYTES", "Limits", "Receiver", "RemoteWriteError"]



# Decompressed requests at least this big (~100 samples) are scanned by the compiled
# decoder, which releases the GIL (concurrent requests decode on every core) and costs
# ~10x less CPU per sample; smaller ones by the Python scanner, which gives the same columns.
COMPILED_SCAN_BYTES = 16 << 10


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
        # Raw wire bytes of one valid `labels` entry -> its shared pair.
        self._entries: dict[bytes, tuple[str, str]] = {}

    def write(self, body: bytes) -> int:
        """Store one snappy-compressed WriteRequest; returns the number of samples stored."""
        lim = self.limits
        try:
            data = codec.decompress(body, max_bytes=lim.max_decompressed_bytes)
            if len(data) >= COMPILED_SCAN_BYTES:
                # Imported here, not at start-up: numba costs ~55 MB and a second to load,
                # which only a sender of real batches should pay for.
                from vigil.remote import _nbdecode
                cols = _nbdecode.scan_write_request(data)
            else:
                cols = scan_write_request(data, self._labels)
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
            labels = self._from_entries(raw) or self._validate(decode_labels(raw))
            if len(self._labels) >= self.limits.label_cache_size:
                self._labels.clear()  # crude but bounded; refills within one round of sends
                self._pairs.clear()
                self._entries.clear()
            self._labels[raw] = labels
        return labels

    def _from_entries(self, raw: bytes) -> Labels | None:
        """A new series' labels from the cache of label entries (most pairs — ``job``,
        ``__name__``, ``cpu="0"`` — recur across series, so a new series is mostly a few dict
        lookups instead of decoding and validating every pair). None when any entry or the
        whole set is not plainly valid: then :meth:`_validate` decides, and raises the
        error it always did."""
        entries = self._entries
        pairs = []
        pos, n = 0, len(raw)
        while pos < n:  # raw is a run of well-formed `labels` entries (the scanners check)
            ln = raw[pos + 1]
            if ln < 0x80:
                end = pos + 2 + ln
            else:
                ln, end = _varint(raw, pos + 1)
                end += ln
            entry = raw[pos:end]
            pair = entries.get(entry)
            if pair is None:
                pair = self._new_entry(entry)
                if pair is None:
                    return None
            pairs.append(pair)
            pos = end
        if len(pairs) > self.limits.max_labels_per_series or \
                len({name for name, _ in pairs}) != len(pairs):
            return None
        labels = with_shared_pairs(Labels(pairs), self._pairs)
        return labels if labels.get(METRIC_NAME) else None

    def _new_entry(self, entry: bytes) -> tuple[str, str] | None:
        """The shared (name, value) pair of one valid label entry, now cached; else None."""
        try:
            decoded = decode_labels(entry)
        except codec.WireError:
            return None
        if len(decoded) != 1:
            return None
        name, value = decoded[0]
        lim = self.limits
        if not is_label_name(name) or len(name) > lim.max_label_name_bytes or (
                len(value) > lim.max_label_value_bytes
                and len(value.encode("utf-8")) > lim.max_label_value_bytes):
            return None
        pair = self._entries[entry] = self._pairs.setdefault(decoded[0], decoded[0])
        return pair

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
