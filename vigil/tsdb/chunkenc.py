"""Vectorised sample encodings for block chunks (numpy in, bytes out; no compression here).

A chunk holds one series' samples for one block. Layout (little-endian)::

    u32 n
    -- if n >= 1 --
    i64 t0                       first timestamp (ms)
    i64 d1                       first delta (only if n >= 2)
    u8  w_dod                    byte width of the delta-of-deltas (0 = all zero)
    [n-2 items, w_dod bytes each, byte-shuffled]
    u8  value encoding
      0 XOR:      n u64 words, each value's bits XOR the previous value's, byte-shuffled
      1 DECIMAL:  u8 k, u8 order, i64 first, [i64 first delta if order == 2], u8 w,
                  [n-order deltas of order 1 or 2 of round(v * 10**k), byte-shuffled]

"Byte-shuffled" stores byte 0 of every item, then byte 1, ... so that the mostly-zero high
bytes of small deltas form long runs that the block's page compressor squeezes to nothing.
DECIMAL is chosen only if decoding gives back bit-identical float64 values, so NaN, stale
markers, infinities and -0.0 always fall back to XOR.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from vigil.errors import StorageError

_HEAD = struct.Struct("<I")
_Q = struct.Struct("<q")
_XOR = 0
_DECIMAL = 1
_MAX_EXACT = float(2**53)
_WIDTH_DTYPES = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}
_WIDTH_BOUNDS = [(w, dt, -(2 ** (8 * w - 1)), 2 ** (8 * w - 1) - 1) for w, dt in _WIDTH_DTYPES.items()]


def _narrow(values: np.ndarray) -> tuple[int, bytes]:
    """Smallest signed width holding all int64 ``values`` and their shuffled bytes."""
    if len(values) == 0:
        return 0, b""
    lo, hi = int(values.min()), int(values.max())
    if lo == 0 and hi == 0:
        return 0, b""
    for width, dt, wmin, wmax in _WIDTH_BOUNDS:
        if wmin <= lo and hi <= wmax:
            return width, _shuffle(values.astype(dt), width)
    raise AssertionError("unreachable")


def _shuffle(arr: np.ndarray, width: int) -> bytes:
    if width == 1:
        return arr.tobytes()
    return np.ascontiguousarray(arr.view(np.uint8).reshape(-1, width).T).tobytes()


def _unshuffle(buf: bytes, pos: int, count: int, width: int, dtype: type) -> np.ndarray:
    raw = np.frombuffer(buf, dtype=np.uint8, count=count * width, offset=pos)
    if width == 1:
        return raw.view(dtype).copy()
    return np.ascontiguousarray(raw.reshape(width, count).T).view(dtype).reshape(count)


def _scalar_exponent(x: float) -> int | None:
    """Smallest k with round(x * 10**k) / 10**k == x bit for bit, for one value."""
    if not math.isfinite(x) or (x == 0.0 and math.copysign(1.0, x) < 0):
        return None
    for k in range(7):
        scale = 10.0**k
        r = round(x * scale)
        if abs(r) >= _MAX_EXACT:
            return None
        if r / scale == x:
            return k
    return None


def _decimal_exponent(vals: np.ndarray) -> tuple[int, np.ndarray] | None:
    # A scalar probe of the first and last values rules out arbitrary floats cheaply and
    # gives the smallest exponent worth trying on the whole array.
    k_first = _scalar_exponent(float(vals[0]))
    k_last = _scalar_exponent(float(vals[-1]))
    if k_first is None or k_last is None or not np.isfinite(vals).all():
        return None
    bits = vals.view(np.uint64)
    for k in range(max(k_first, k_last), 7):
        scale = 10.0**k
        r = np.round(vals * scale)
        if np.abs(r).max() >= _MAX_EXACT:
            return None
        ints = r.astype(np.int64)
        # Check through the ints, as the decoder computes: -0.0 becomes 0 and must fail.
        if np.array_equal((ints.astype(np.float64) / scale).view(np.uint64), bits):
            return k, ints
    return None


def encode(ts: np.ndarray, vals: np.ndarray) -> bytes:
    """Encode ascending int64 ms timestamps and float64 values of equal length."""
    n = len(ts)
    parts = [_HEAD.pack(n)]
    if n == 0:
        return parts[0]
    ts = np.asarray(ts, dtype=np.int64)
    vals = np.asarray(vals, dtype=np.float64)
    parts.append(_Q.pack(int(ts[0])))
    if n >= 2:
        parts.append(_Q.pack(int(ts[1] - ts[0])))
        width, data = _narrow(np.diff(ts, 2))
        parts += [bytes([width]), data]
    dec = _decimal_exponent(vals)
    if dec is not None:
        k, ints = dec
        d1 = np.diff(ints)
        width, data = _narrow(d1)
        order = 1
        if n >= 3:
            # Counters rising at a steady rate have constant deltas: second order wins.
            d2 = np.diff(d1)
            w2, data2 = _narrow(d2)
            if (w2, np.count_nonzero(d2)) < (width, np.count_nonzero(d1)):
                order, width, data = 2, w2, data2
        parts += [bytes([_DECIMAL, k, order]), _Q.pack(int(ints[0]))]
        if order == 2:
            parts.append(_Q.pack(int(d1[0])))
        parts += [bytes([width]), data]
    else:
        bits = vals.view(np.uint64)
        xor = bits.copy()
        xor[1:] ^= bits[:-1]
        parts += [bytes([_XOR]), _shuffle(xor, 8)]
    return b"".join(parts)


def decode(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode`. Raises :class:`StorageError` on malformed input."""
    try:
        return _decode(buf)
    except (struct.error, ValueError, IndexError, KeyError) as e:
        raise StorageError(f"malformed chunk: {e}") from e


def _decode(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    (n,) = _HEAD.unpack_from(buf, 0)
    pos = _HEAD.size
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    (t0,) = _Q.unpack_from(buf, pos)
    pos += 8
    ts = np.empty(n, dtype=np.int64)
    ts[0] = t0
    if n >= 2:
        (d1,) = _Q.unpack_from(buf, pos)
        width = buf[pos + 8]
        pos += 9
        deltas = np.full(n - 1, d1, dtype=np.int64)
        if width:
            dod = _unshuffle(buf, pos, n - 2, width, _WIDTH_DTYPES[width]).astype(np.int64)
            pos += width * (n - 2)
            deltas[1:] += np.cumsum(dod)
        ts[1:] = t0 + np.cumsum(deltas)
    enc = buf[pos]
    pos += 1
    if enc == _DECIMAL:
        k, order = buf[pos], buf[pos + 1]
        (first,) = _Q.unpack_from(buf, pos + 2)
        pos += 10
        deltas = np.zeros(n - 1, dtype=np.int64)
        if order == 2:
            (d1,) = _Q.unpack_from(buf, pos)
            pos += 8
            deltas[:] = d1
        elif order != 1:
            raise ValueError(f"unknown delta order {order}")
        width = buf[pos]
        pos += 1
        count = n - order
        if width and count > 0:
            d = _unshuffle(buf, pos, count, width, _WIDTH_DTYPES[width]).astype(np.int64)
            if order == 2:
                deltas[1:] += np.cumsum(d)
            else:
                deltas += d
        ints = np.full(n, first, dtype=np.int64)
        ints[1:] += np.cumsum(deltas)
        vals = ints.astype(np.float64) / 10.0**k
    elif enc == _XOR:
        xor = _unshuffle(buf, pos, n, 8, np.uint64)
        vals = np.bitwise_xor.accumulate(xor).view(np.float64)
    else:
        raise ValueError(f"unknown value encoding {enc}")
    return ts, vals
