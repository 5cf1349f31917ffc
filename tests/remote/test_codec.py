"""The wire codec: the hand decoder agrees with the protobuf classes, bad bytes are refused."""

from __future__ import annotations

import math
import struct

import pytest

from vigil.remote import WireError, compress, decode_write_request, decompress, encode_write_request
from vigil.remote._fastdecode import decode_labels, scan_write_request

SERIES = [
    ([("__name__", "up"), ("job", "node"), ("instance", "a:9100")], [1_700_000_000_000, 1_700_000_015_000], [1.0, 0.0]),
    ([("__name__", "neg_ts"), ("ü", "ünïcode")], [-5], [math.inf]),
    ([("__name__", "many"), ("long", "x" * 300)], list(range(200)), [float(i) / 3 for i in range(200)]),
    ([("__name__", "empty")], [], []),
]


def fast(data: bytes) -> list:
    cols = scan_write_request(data)
    out, i = [], 0
    for lb, k in zip(cols.labels, cols.counts, strict=True):
        out.append((decode_labels(lb), cols.ts[i:i + k], cols.vals[i:i + k]))
        i += k
    return out


def test_roundtrip_and_both_decoders_agree():
    data = encode_write_request(SERIES)
    assert decompress(compress(data), max_bytes=1 << 20) == data
    want = [(list(lb), list(t), list(v)) for lb, t, v in SERIES]
    assert decode_write_request(data) == want
    assert fast(data) == want


def test_fast_decoder_handles_unusual_field_order():
    # A hand-built series: sample (timestamp before value), then a label after the sample,
    # then an unknown field 9 (varint) in the time series and at the top level.
    def ld(n: bytes) -> bytes:
        return bytes([len(n)]) + n
    label = lambda n, v: b"\x0a" + ld(b"\x0a" + ld(n) + b"\x12" + ld(v))  # noqa: E731
    sample = b"\x12" + ld(b"\x10\x05" + b"\x09" + struct.pack("<d", 2.5))
    ts = label(b"__name__", b"m") + sample + label(b"a", b"b") + b"\x48\x01"
    data = b"\x0a" + ld(ts) + b"\x48\x07"
    assert fast(data) == [([("__name__", "m"), ("a", "b")], [5], [2.5])]
    assert decode_write_request(data) == fast(data)


@pytest.mark.parametrize("data", [
    b"\x0a\x05\x0a\x03",              # truncated time series
    b"\x0a\x02\x12\x09",              # sample runs past its series
    b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # varint overflow / huge length
    b"\x0f",                           # wire type 7
])
def test_bad_protobuf_is_refused_by_both(data):
    with pytest.raises(WireError):
        scan_write_request(data)
    with pytest.raises(WireError):
        decode_write_request(data)


def test_invalid_utf8_label():
    data = encode_write_request([([("__name__", "m")], [1], [1.0])]).replace(b"m", b"\xff")
    with pytest.raises(WireError, match="UTF-8"):
        fast(data)


def test_bad_snappy_and_declared_size_limit():
    with pytest.raises(WireError, match="snappy"):
        decompress(b"\x10not snappy at all", max_bytes=1 << 20)
    with pytest.raises(WireError, match="exceeds the limit"):
        decompress(compress(b"x" * 5000), max_bytes=4096)
