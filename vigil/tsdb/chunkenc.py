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
from typing import NamedTuple

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


# -- decoding many chunks at once -----------------------------------------------------------
#
# Queries read hundreds to hundreds of thousands of chunks; decoding them one by one costs
# tens of numpy calls each. Chunks with the same *layout* (sample count, widths, encoding)
# have every field at the same byte offset, so a group of them stacks into one 2-D byte
# array and decodes with a fixed number of numpy calls, however many chunks it holds.


class _Layout(NamedTuple):
    n: int
    w_dod: int  # byte width of the timestamps' delta-of-deltas; -1 when n < 2
    enc: int
    k: int  # DECIMAL only: decimal exponent
    order: int  # DECIMAL only: delta order
    w_val: int  # DECIMAL only: byte width of the value deltas
    val_pos: int  # offset of the value encoding byte


def _layout(buf: bytes | memoryview) -> _Layout:
    (n,) = _HEAD.unpack_from(buf, 0)
    if n == 0:
        return _Layout(0, -1, 0, 0, 0, 0, 4)
    if n == 1:
        w_dod, pos = -1, 12
    else:
        w_dod = buf[20]
        pos = 21 + w_dod * (n - 2)
    enc = buf[pos]
    if enc == _DECIMAL:
        k, order = buf[pos + 1], buf[pos + 2]
        w_val = buf[pos + 11 + (8 if order == 2 else 0)]
        return _Layout(n, w_dod, enc, k, order, w_val, pos)
    return _Layout(n, w_dod, enc, 0, 0, 0, pos)


def _encoded_size(lay: _Layout) -> int:
    if lay.n == 0:
        return 4
    pos = lay.val_pos + 1
    if lay.enc == _XOR:
        return pos + 8 * lay.n
    pos += 10 + (8 if lay.order == 2 else 0) + 1
    return pos + lay.w_val * (lay.n - lay.order)


def _le_int64(cols: np.ndarray) -> np.ndarray:
    """[m, 8] bytes -> [m] little-endian int64."""
    return np.ascontiguousarray(cols).view("<i8").reshape(-1).astype(np.int64)


def _unshuffle_rows(data: np.ndarray, count: int, width: int, dtype: type) -> np.ndarray:
    """[m, width * count] shuffled bytes -> [m, count] items."""
    m = data.shape[0]
    if width == 1:
        return np.ascontiguousarray(data).view(dtype).reshape(m, count)
    items = data.reshape(m, width, count).transpose(0, 2, 1)
    return np.ascontiguousarray(items).view(dtype).reshape(m, count)


def _decode_group(lay: _Layout, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``rows`` ([m, size] bytes of chunks sharing ``lay``) into [m, n] arrays."""
    m, n = rows.shape[0], lay.n
    t0 = _le_int64(rows[:, 4:12])
    ts = np.empty((m, n), dtype=np.int64)
    ts[:, 0] = t0
    if n >= 2:
        deltas = np.repeat(_le_int64(rows[:, 12:20])[:, None], n - 1, axis=1)
        if lay.w_dod:
            dod = _unshuffle_rows(rows[:, 21:21 + lay.w_dod * (n - 2)], n - 2, lay.w_dod,
                                  _WIDTH_DTYPES[lay.w_dod])
            deltas[:, 1:] += np.cumsum(dod, axis=1, dtype=np.int64)
        ts[:, 1:] = t0[:, None] + np.cumsum(deltas, axis=1)
    pos = lay.val_pos + 1
    if lay.enc == _XOR:
        xor = _unshuffle_rows(rows[:, pos:pos + 8 * n], n, 8, np.uint64)
        return ts, np.bitwise_xor.accumulate(xor, axis=1).view(np.float64)
    if lay.enc != _DECIMAL:
        raise ValueError(f"unknown value encoding {lay.enc}")
    first = _le_int64(rows[:, pos + 2:pos + 10])
    pos += 10
    deltas = np.zeros((m, n - 1), dtype=np.int64)
    if lay.order == 2:
        deltas[:] = _le_int64(rows[:, pos:pos + 8])[:, None]
        pos += 8
    elif lay.order != 1:
        raise ValueError(f"unknown delta order {lay.order}")
    pos += 1
    count = n - lay.order
    if lay.w_val and count > 0:
        d = _unshuffle_rows(rows[:, pos:pos + lay.w_val * count], count, lay.w_val,
                            _WIDTH_DTYPES[lay.w_val])
        if lay.order == 2:
            deltas[:, 1:] += np.cumsum(d, axis=1, dtype=np.int64)
        else:
            deltas += d
    ints = np.repeat(first[:, None], n, axis=1)
    ints[:, 1:] += np.cumsum(deltas, axis=1)
    return ts, ints.astype(np.float64) / 10.0**lay.k


def decode_many(bufs: list[bytes] | list[memoryview]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode many chunks: (timestamps, values) of all of them concatenated in input order,
    and each chunk's sample count. Same results as :func:`decode` on each; raises
    :class:`StorageError` on a malformed chunk."""
    try:
        layouts = [_layout(b) for b in bufs]
        counts = np.fromiter((lay.n for lay in layouts), dtype=np.int64, count=len(layouts))
        starts = np.zeros(len(bufs), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        total = int(counts.sum())
        ts = np.empty(total, dtype=np.int64)
        vals = np.empty(total, dtype=np.float64)
        groups: dict[_Layout, list[int]] = {}
        for i, lay in enumerate(layouts):
            if lay.n:
                groups.setdefault(lay, []).append(i)
        for lay, members in groups.items():
            size = _encoded_size(lay)
            joined = b"".join(bytes(bufs[i][:size]) for i in members)
            if len(joined) != size * len(members):
                raise ValueError("chunk shorter than its header says")
            rows = np.frombuffer(joined, dtype=np.uint8).reshape(len(members), size)
            gts, gvals = _decode_group(lay, rows)
            at = (starts[members][:, None] + np.arange(lay.n)).reshape(-1)
            ts[at] = gts.reshape(-1)
            vals[at] = gvals.reshape(-1)
        return ts, vals, counts
    except (struct.error, ValueError, IndexError, KeyError) as e:
        raise StorageError(f"malformed chunk: {e}") from e


def encode_many(series: list[tuple[np.ndarray, np.ndarray]]) -> list[bytes]:
    """:func:`encode` for many series at once, byte for byte the same result. Series of
    equal length are encoded together as rows of 2-D arrays, so cutting a block of many
    short series costs a few numpy passes instead of a dozen numpy calls per series."""
    out: list[bytes] = [b""] * len(series)
    by_len: dict[int, list[int]] = {}
    for i, (ts, _) in enumerate(series):
        by_len.setdefault(len(ts), []).append(i)
    for n, rows in by_len.items():
        if n < 3 or len(rows) < 16:
            for i in rows:
                out[i] = encode(*series[i])
            continue
        ts = np.stack([np.asarray(series[i][0], dtype=np.int64) for i in rows])
        vals = np.stack([np.asarray(series[i][1], dtype=np.float64) for i in rows])
        for i, chunk in zip(rows, _encode_rows(ts, vals), strict=True):
            out[i] = chunk
    return out


def _row_widths(values: np.ndarray) -> np.ndarray:
    """Per row, the byte width :func:`_narrow` picks for it."""
    lo, hi = values.min(axis=1), values.max(axis=1)
    width = np.full(len(values), 8, np.int64)
    for w, _, wmin, wmax in reversed(_WIDTH_BOUNDS[:-1]):
        width[(lo >= wmin) & (hi <= wmax)] = w
    width[(lo == 0) & (hi == 0)] = 0
    return width


def _shuffled_rows(values: np.ndarray, width: np.ndarray) -> list[bytes]:
    """Per row, :func:`_narrow`'s bytes for that row at its width."""
    out = [b""] * len(values)
    for w, dt in _WIDTH_DTYPES.items():
        rows = np.flatnonzero(width == w)
        if not len(rows):
            continue
        part = values[rows].astype(dt)
        cube = np.ascontiguousarray(part.view(np.uint8).reshape(len(rows), -1, w)
                                    .transpose(0, 2, 1))
        buf, size = cube.tobytes(), cube[0].size
        for j, r in enumerate(rows.tolist()):
            out[r] = buf[j * size:(j + 1) * size]
    return out


def _decimal_rows(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, :func:`_decimal_exponent`'s exponent (-1 = none) and the scaled ints."""
    rows = len(vals)
    k_out = np.full(rows, -1, np.int64)
    ints = np.zeros(vals.shape, np.int64)
    start = np.full(rows, 99, np.int64)
    finite = np.isfinite(vals).all(axis=1)
    for r in np.flatnonzero(finite).tolist():
        a = _scalar_exponent(float(vals[r, 0]))
        b = _scalar_exponent(float(vals[r, -1]))
        if a is not None and b is not None:
            start[r] = max(a, b)
    pending = start < 7
    bits = vals.view(np.uint64)
    for k in range(7):
        cand = np.flatnonzero(pending & (start <= k))
        if not len(cand):
            continue
        scale = 10.0**k
        r = np.round(vals[cand] * scale)
        too_big = np.abs(r).max(axis=1) >= _MAX_EXACT
        pending[cand[too_big]] = False
        ok_rows = ~too_big
        cand, r = cand[ok_rows], r[ok_rows]
        as_int = r.astype(np.int64)
        exact = ((as_int.astype(np.float64) / scale).view(np.uint64) == bits[cand]).all(axis=1)
        hit = cand[exact]
        k_out[hit] = k
        ints[hit] = as_int[exact]
        pending[hit] = False
    return k_out, ints


def _encode_rows(ts: np.ndarray, vals: np.ndarray) -> list[bytes]:
    rows, n = ts.shape
    head = np.zeros(rows, dtype=[("n", "<u4"), ("t0", "<i8"), ("d1", "<i8")])
    head["n"], head["t0"], head["d1"] = n, ts[:, 0], ts[:, 1] - ts[:, 0]
    head_buf = head.tobytes()
    dod = np.diff(ts, 2, axis=1)
    dod_w = _row_widths(dod)
    dod_bytes = _shuffled_rows(dod, dod_w)

    k, ints = _decimal_rows(vals)
    dec = k >= 0
    d1 = np.diff(ints, axis=1)
    d2 = np.diff(d1, axis=1)
    w1, w2 = _row_widths(d1), _row_widths(d2)
    nz1, nz2 = np.count_nonzero(d1, axis=1), np.count_nonzero(d2, axis=1)
    second = dec & ((w2 < w1) | ((w2 == w1) & (nz2 < nz1)))
    val_w = np.where(second, w2, w1)
    first_order = np.flatnonzero(dec & ~second)
    second_order = np.flatnonzero(second)
    val_bytes = [b""] * rows
    for sel, diffs in ((first_order, d1), (second_order, d2)):
        if len(sel):
            for r, b in zip(sel.tolist(), _shuffled_rows(diffs[sel], val_w[sel]), strict=True):
                val_bytes[r] = b
    xor_rows = np.flatnonzero(~dec)
    if len(xor_rows):
        bits = vals[xor_rows].view(np.uint64)
        xor = bits.copy()
        xor[:, 1:] ^= bits[:, :-1]
        for r, b in zip(xor_rows.tolist(), _shuffled_rows(xor, np.full(len(xor_rows), 8)),
                        strict=True):
            val_bytes[r] = b

    out = []
    size = head.itemsize
    ks, orders, widths = k.tolist(), np.where(second, 2, 1).tolist(), val_w.tolist()
    first_int, first_d1 = ints[:, 0].tolist(), d1[:, 0].tolist()
    for r, dw in enumerate(dod_w.tolist()):
        parts = [head_buf[r * size:(r + 1) * size], bytes([dw]), dod_bytes[r]]
        if ks[r] >= 0:
            parts += [bytes([_DECIMAL, ks[r], orders[r]]), _Q.pack(first_int[r])]
            if orders[r] == 2:
                parts.append(_Q.pack(first_d1[r]))
            parts += [bytes([widths[r]]), val_bytes[r]]
        else:
            parts += [bytes([_XOR]), val_bytes[r]]
        out.append(b"".join(parts))
    return out
