"""A compiled (numba) scan of a decompressed WriteRequest into flat arrays, the GIL released.

Why: the pure-Python scanner (:mod:`vigil.remote._fastdecode`) spends ~1.5 µs of bytecode
per sample and holds the GIL throughout, so concurrent remote-write requests decode one at a
time on one core. This kernel walks the same bytes in compiled code (~20-40 ns per sample)
with the GIL released (``nogil=True``), so requests arriving on several connections decode
on every core; only turning label offsets into ``bytes`` keys and the ordered commit stay
in Python.

Scope: the layout every sender writes (each series' labels first, then its samples; unknown
fields such as metadata, exemplars and native histograms skipped, as the Python scanner
does). Anything else — a label after a sample, a truncated or malformed message, a varint
that does not fit 64 bits — makes the kernel give up and :func:`scan_write_request` hands
the request to the Python scanner, which decodes the rare layout or raises the same
:class:`~vigil.remote.codec.WireError` it always did. So both paths give the same columns and
the same errors by construction for odd input, and tests compare them on ordinary input.

This module imports numba: import it lazily (the receiver does, on the first request big
enough to pay for it), never at start-up. Compiled code is cached on disk (``cache=True``),
as for :mod:`vigil.promql._kernel`.
"""

from __future__ import annotations

import numpy as np

from vigil.compiled import njit
from vigil.remote import _fastdecode
from vigil.remote._fastdecode import Columns

__all__ = ["scan_write_request"]

# Kernel results besides "done": the Python scanner must take the request.
_OK, _GIVE_UP = 0, 1


@njit
def _varint(b: np.ndarray, pos: int, limit: int) -> tuple[np.uint64, int]:
    """(value, position after it); position -1 when the varint runs past ``limit`` or does
    not fit 64 bits (the Python scanner then reports what is wrong)."""
    value = np.uint64(0)
    shift = 0
    while pos < limit:
        byte = b[pos]
        pos += 1
        if shift == 63 and byte > 1:
            return value, -1
        value |= np.uint64(byte & 0x7F) << np.uint64(shift)
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            return value, -1
    return value, -1


@njit
def _skip(b: np.ndarray, pos: int, wire: int, limit: int) -> int:
    """Position after one field's payload (its tag read), or -1 if it does not end by ``limit``."""
    if wire == 0:
        return _varint(b, pos, limit)[1]
    if wire == 1:
        pos += 8
    elif wire == 2:
        ln, pos = _varint(b, pos, limit)
        if pos < 0:
            return -1
        if ln > np.uint64(limit - pos):
            return -1
        pos += np.int64(ln)
    elif wire == 5:
        pos += 4
    else:
        return -1
    return pos if pos <= limit else -1


@njit
def _scan(b: np.ndarray, lab_start: np.ndarray, lab_end: np.ndarray, counts: np.ndarray,
          ts: np.ndarray, vals: np.ndarray) -> tuple[int, int, int]:
    """Fill the output arrays (each at least ``len(b) // 2 + 1`` long: every series and
    every sample takes at least two bytes). Returns (series, samples, status)."""
    n = b.shape[0]
    bits = np.empty(1, np.uint64)
    as_double = bits.view(np.float64)
    ns = 0
    nsm = 0
    pos = 0
    while pos < n:
        if b[pos] != 0x0A:  # not `timeseries`: metadata etc. are skipped
            key, pos = _varint(b, pos, n)
            if pos < 0:
                return ns, nsm, _GIVE_UP
            pos = _skip(b, pos, np.int64(key & np.uint64(7)), n)
            if pos < 0:
                return ns, nsm, _GIVE_UP
            continue
        ln, pos = _varint(b, pos + 1, n)
        if pos < 0 or ln > np.uint64(n - pos):
            return ns, nsm, _GIVE_UP
        end = pos + np.int64(ln)
        # The series' labels: the run of field-1 entries it starts with.
        start = pos
        while pos < end and b[pos] == 0x0A:
            ll, pos = _varint(b, pos + 1, end)
            if pos < 0 or ll > np.uint64(end - pos):
                return ns, nsm, _GIVE_UP
            pos += np.int64(ll)
        lab_start[ns] = start
        lab_end[ns] = pos
        first = nsm
        while pos < end:
            tag = b[pos]
            if tag == 0x12:  # a sample
                sl, pos = _varint(b, pos + 1, end)
                if pos < 0 or sl > np.uint64(end - pos):
                    return ns, nsm, _GIVE_UP
                s_end = pos + np.int64(sl)
                t = np.uint64(0)
                v = 0.0
                while pos < s_end:  # fields in any order, the last one wins (protobuf)
                    k, pos = _varint(b, pos, s_end)
                    if pos < 0:
                        return ns, nsm, _GIVE_UP
                    if k == 0x09:  # value: double
                        if pos + 8 > s_end:
                            return ns, nsm, _GIVE_UP
                        u = np.uint64(0)
                        for i in range(8):
                            u |= np.uint64(b[pos + i]) << np.uint64(8 * i)
                        bits[0] = u
                        v = as_double[0]
                        pos += 8
                    elif k == 0x10:  # timestamp: varint
                        t, pos = _varint(b, pos, s_end)
                        if pos < 0:
                            return ns, nsm, _GIVE_UP
                    else:
                        pos = _skip(b, pos, np.int64(k & np.uint64(7)), s_end)
                        if pos < 0:
                            return ns, nsm, _GIVE_UP
                ts[nsm] = np.int64(t)  # two's complement, as int64 on the wire
                vals[nsm] = v
                nsm += 1
            elif tag == 0x0A:  # a label after samples: legal, rare; Python's path
                return ns, nsm, _GIVE_UP
            else:  # exemplars, histograms, unknown fields: skipped
                k, pos = _varint(b, pos, end)
                if pos < 0:
                    return ns, nsm, _GIVE_UP
                pos = _skip(b, pos, np.int64(k & np.uint64(7)), end)
                if pos < 0:
                    return ns, nsm, _GIVE_UP
        counts[ns] = nsm - first
        ns += 1
    return ns, nsm, _OK


def scan_write_request(data: bytes) -> Columns:
    """:func:`vigil.remote._fastdecode.scan_write_request` (same columns, same errors) with
    the scan in compiled code that runs without the GIL."""
    buf = np.frombuffer(data, np.uint8)
    cap = len(data) // 2 + 1
    lab_start = np.empty(cap, np.int64)
    lab_end = np.empty(cap, np.int64)
    counts = np.empty(cap, np.int64)
    ts = np.empty(cap, np.int64)
    vals = np.empty(cap, np.float64)
    ns, nsm, status = _scan(buf, lab_start, lab_end, counts, ts, vals)
    if status != _OK:  # odd layout or bad input: the Python scanner decodes or explains it
        return _fastdecode.scan_write_request(data)
    out = Columns()
    out.labels = [data[a:z] for a, z in zip(lab_start[:ns].tolist(), lab_end[:ns].tolist(),
                                            strict=True)]
    out.counts = counts[:ns].tolist()
    out.ts = ts[:nsm].tolist()
    out.vals = vals[:nsm].tolist()
    return out
