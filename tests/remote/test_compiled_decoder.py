"""The compiled WriteRequest scan (vigil.remote._nbdecode) against the Python scanner and
the protobuf reference decoder: same columns, same errors, on ordinary and odd requests."""

from __future__ import annotations

import random
import struct

import pytest

from vigil.remote import _nbdecode
from vigil.remote._fastdecode import Columns, decode_labels, scan_write_request
from vigil.remote.codec import (
    WireError,
    _uvarint,
    decode_write_request,
    encode_labels,
    encode_series,
)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _uvarint(number << 3 | wire) + payload


def _ld(number: int, data: bytes) -> bytes:
    return _field(number, 2, _uvarint(len(data)) + data)


def _as_tuples(c: Columns) -> tuple:
    return (c.labels, c.counts, c.ts, [struct.pack("<d", v) for v in c.vals])


def _reference(data: bytes) -> tuple:
    """Columns as the generated protobuf classes see them (labels compared decoded)."""
    out = decode_write_request(data)
    return ([lb for lb, _, _ in out], [len(t) for _, t, _ in out],
            [t for _, ts, _ in out for t in ts],
            [struct.pack("<d", v) for _, _, vs in out for v in vs])


def _sample(rng: random.Random, t: int, v: float) -> bytes:
    """One Sample message: usually value then timestamp; sometimes reordered, repeated
    (the last one wins), with unknown fields or default (absent) fields."""
    val = _field(1, 1, struct.pack("<d", v))
    ts = _field(2, 0, _uvarint(t & 0xFFFF_FFFF_FFFF_FFFF))
    shape = rng.random()
    if shape < 0.6:
        body = val + ts
    elif shape < 0.7:
        body = ts + val
    elif shape < 0.75:
        body = _field(2, 0, _uvarint(12345)) + val + ts  # a repeated field: the last wins
    elif shape < 0.8:
        body = val + _field(7, 0, _uvarint(99)) + ts + _ld(9, b"junk")
    elif shape < 0.85:
        body = ts if t else b""  # value 0.0 (and timestamp 0) are absent in proto3
    else:
        body = val + ts + _field(5, 5, b"\x01\x02\x03\x04") + _field(6, 1, bytes(8))
    return _ld(2, body)


def _request(rng: random.Random, odd: bool) -> bytes:
    parts = []
    for i in range(rng.randint(0, 40)):
        pairs = sorted({("__name__", f"m{rng.randint(0, 5)}"), ("job", "j"),
                        ("instance", f"h{i}:{rng.randint(0, 300)}"),
                        ("ü" if rng.random() < 0.1 else "x", "é" * rng.randint(0, 200))})
        n = rng.choice([1, 1, 1, 2, 5]) if odd else 1
        t0 = rng.choice([1_700_000_000_000, 0, 5, -1000, 2**62])
        ts = [t0 + 15_000 * k for k in range(n)]
        vals = [rng.choice([0.0, -0.0, 1.5, float("nan"), float("inf"), rng.random() * 1e9])
                for _ in range(n)]
        if not odd:
            parts.append(encode_series(encode_labels(pairs), ts, vals))
            continue
        body = encode_labels(pairs) + b"".join(_sample(rng, t, v) for t, v in zip(ts, vals, strict=True))
        r = rng.random()
        if r < 0.1:  # an exemplar (field 3) and a native histogram (field 4): skipped
            body += _ld(3, _ld(1, b"\x0a\x01a\x12\x01b")) + _ld(4, _field(1, 0, b"\x05"))
        elif r < 0.15:  # a series with no samples at all
            body = encode_labels(pairs)
        parts.append(_ld(1, body))
        if rng.random() < 0.1:  # metadata (field 3 of WriteRequest) between series
            parts.append(_ld(3, _field(1, 0, b"\x02") + _ld(2, b"up") + _ld(4, b"help")))
    return b"".join(parts)


@pytest.mark.parametrize("odd", [False, True])
def test_same_columns_as_the_python_scanner_and_the_reference(odd):
    rng = random.Random(21 + odd)
    for _ in range(300):
        data = _request(rng, odd)
        got = _nbdecode.scan_write_request(data)
        assert _as_tuples(got) == _as_tuples(scan_write_request(data))
        ref = _reference(data)
        assert ([decode_labels(raw) for raw in got.labels], got.counts, got.ts,
                [struct.pack("<d", v) for v in got.vals]) == ref


def test_the_kernel_itself_decodes_ordinary_requests():
    """Guard against the kernel silently handing everything to the Python scanner."""
    import numpy as np
    data = _request(random.Random(3), odd=False) + encode_series(encode_labels([("a", "b")]),
                                                                 [1, 2], [0.5, 1.5])
    cap = len(data) // 2 + 1
    outs = [np.empty(cap, np.int64) for _ in range(4)] + [np.empty(cap, np.float64)]
    ns, nsm, status = _nbdecode._scan(np.frombuffer(data, np.uint8), *outs)
    assert status == _nbdecode._OK
    assert (ns, nsm) == (len(decode_write_request(data)), len(scan_write_request(data).ts))


def test_a_label_after_samples_is_decoded_by_the_python_path():
    first, rest = encode_labels([("__name__", "up")]), encode_labels([("job", "a")])
    sample = _ld(2, _field(1, 1, struct.pack("<d", 2.0)) + _field(2, 0, _uvarint(7)))
    data = _ld(1, first + sample + rest)
    got = _nbdecode.scan_write_request(data)
    assert _as_tuples(got) == _as_tuples(scan_write_request(data))
    assert decode_labels(got.labels[0]) == [("__name__", "up"), ("job", "a")]
    assert (got.ts, got.vals) == ([7], [2.0])


def test_empty_request():
    got = _nbdecode.scan_write_request(b"")
    assert (got.labels, got.counts, got.ts, got.vals) == ([], [], [], [])


def _errors(data: bytes) -> tuple[str | None, str | None]:
    def err(fn) -> str | None:
        try:
            fn(data)
        except WireError as e:
            return str(e)
        return None
    return err(_nbdecode.scan_write_request), err(scan_write_request)


def test_truncated_and_malformed_bodies_give_the_python_scanners_errors():
    rng = random.Random(5)
    good = _request(rng, odd=True) + _request(rng, odd=False)
    assert good
    errors = 0
    for cut in range(1, len(good), max(1, len(good) // 400)):
        fast, python = _errors(good[:cut])
        assert fast == python
        errors += fast is not None
    assert errors > 0
    for bad in (b"\x0a", b"\x0a\x05\x0a", b"\x0a\x02\x12\x05", b"\x0f", b"\x0a\x01\x0a",
                b"\x0a" + b"\xff" * 11, b"\x0a\x0c\x12\x0a\x10" + b"\xff" * 9 + b"\x02"):
        fast, python = _errors(bad)
        assert fast is not None and fast == python


def test_small_requests_do_not_load_numba(tmp_path):
    """numba (~55 MB) is loaded by the first request big enough for the compiled scan,
    never at start-up or by small requests."""
    import subprocess
    import sys
    code = f"""
import sys
from vigil.remote import Receiver, compress, encode_write_request
from vigil.tsdb import DB
db = DB.open({str(tmp_path / "db")!r}, wal_fsync="off")
rx = Receiver(db)
rx.write(compress(encode_write_request([([("__name__", "up")], [1000], [1.0])])))
assert "numba" not in sys.modules, "a small request loaded numba"
big = [([("__name__", "m"), ("i", str(i))], [2000], [1.0]) for i in range(1000)]
rx.write(compress(encode_write_request(big)))
assert "numba" in sys.modules, "a big request did not take the compiled scan"
db.close()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
