"""The WAL record codec: samples round-trip bit-exactly in both layouts and both codecs, tiny
records stay uncompressed, records of the format before compression decode, bad payloads are
refused."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from vigil.errors import StorageError
from vigil.model import Labels
from vigil.storage import STALE_NAN
from vigil.tsdb import _records


def _roundtrip(refs, ts, vals, out_of_order=False, codec="snappy") -> _records.SamplesRecord:
    rec = _records.decode(_records.encode_samples(refs, ts, vals, out_of_order=out_of_order,
                                                  codec=codec))
    assert isinstance(rec, _records.SamplesRecord)
    assert rec.refs.dtype == np.uint64 and rec.timestamps.dtype == np.int64
    assert rec.values.dtype == np.float64 and rec.out_of_order == out_of_order
    assert rec.refs.tolist() == np.asarray(refs, np.uint64).tolist()
    assert rec.timestamps.tolist() == np.asarray(ts, np.int64).tolist()
    assert (rec.values.view(np.uint64) == np.asarray(vals, np.float64).view(np.uint64)).all()
    return rec


@pytest.mark.parametrize("n", [0, 1, 2, 7, _records.PACKED_MIN_SAMPLES - 1,
                               _records.PACKED_MIN_SAMPLES, 3000])
@pytest.mark.parametrize("out_of_order", [False, True])
@pytest.mark.parametrize("codec", ["snappy", "zstd"])
def test_samples_roundtrip_any_bits(n, out_of_order, codec) -> None:
    rng = np.random.default_rng(n)
    refs = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
    ts = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64, endpoint=True)
    vals = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True).view(np.float64)
    _roundtrip(refs, ts, vals, out_of_order, codec)


def _kind(payload: bytes) -> tuple[int, int]:
    return payload[0] & 0x3F, payload[0] & (_records.SNAPPY | _records.ZSTD)


@pytest.mark.parametrize("codec", ["snappy", "zstd"])
def test_layout_and_flag_follow_size_and_codec(codec) -> None:
    flag = _records.SNAPPY if codec == "snappy" else _records.ZSTD
    for n, kind, ooo_kind in (
            (_records.PACKED_MIN_SAMPLES - 1, _records.SAMPLES, _records.OOO_SAMPLES),
            (_records.PACKED_MIN_SAMPLES, _records.PACKED_SAMPLES, _records.PACKED_OOO_SAMPLES)):
        refs = np.arange(n, dtype=np.uint64)
        payload = _records.encode_samples(refs, np.full(n, 5, np.int64), np.ones(n), codec=codec)
        assert _kind(payload) == (kind, flag)
        payload = _records.encode_samples(refs, np.full(n, 5, np.int64), np.ones(n), codec=codec,
                                          out_of_order=True)
        assert _kind(payload) == (ooo_kind, flag)


def test_special_values_and_extreme_deltas_survive() -> None:
    refs = np.array([2**64 - 1, 0, 5, 2**63, 1], np.uint64)  # deltas wrap around
    ts = np.array([2**63 - 1, -(2**63), 0, -1, 2**63 - 1], np.int64)
    vals = np.array([STALE_NAN, float("nan"), -0.0, float("inf"), 5e-324])
    _roundtrip(refs, ts, vals)
    n = _records.PACKED_MIN_SAMPLES
    _roundtrip(np.resize(refs, n), np.resize(ts, n), np.resize(vals, n))


def test_a_scrape_compresses_to_a_few_bytes_per_sample() -> None:
    n = 2000
    refs = np.arange(1000, 1000 + n, dtype=np.uint64)
    ts = np.full(n, 1_700_000_000_000, np.int64) + np.arange(n) % 3
    vals = np.round(np.random.default_rng(1).normal(500, 50, n), 2)
    for codec, flag, most in (("snappy", _records.SNAPPY, 9), ("zstd", _records.ZSTD, 6)):
        payload = _records.encode_samples(refs, ts, vals, codec=codec)
        assert payload[0] == _records.PACKED_SAMPLES | flag
        assert len(payload) < most * n  # 24 bytes per sample uncompressed
        _roundtrip(refs, ts, vals, codec=codec)


def test_small_records_stay_uncompressed() -> None:
    payload = _records.encode_samples(np.array([3], np.uint64), np.array([10], np.int64),
                                      np.array([1.5]))
    assert payload[0] == _records.SAMPLES and len(payload) == 1 + 4 + 24
    assert _records.encode_meta(77) == struct.pack("<Bq", _records.META, 77)
    assert _records.decode(_records.encode_meta(77)) == _records.MetaRecord(77)
    series = [(1, Labels.of(job="a"))]
    payload = _records.encode_series(series)
    assert payload[0] == _records.SERIES and _records.decode(payload) == series


def test_series_record_roundtrip_compressed() -> None:
    series = [(r, Labels.of(__name__="node_cpu_seconds_total", cpu=str(r % 8), mode="idle",
                            instance=f"10.0.0.{r}:9100", unicode="é✓")) for r in range(200)]
    for codec, flag in (("snappy", _records.SNAPPY), ("zstd", _records.ZSTD)):
        payload = _records.encode_series(series, codec=codec)
        assert payload[0] == _records.SERIES | flag
        assert _records.decode(payload) == series


def test_records_of_the_format_before_compression_decode() -> None:
    refs = np.array([7, 9, 7], np.uint64)
    ts = np.array([1000, 1000, 2000], np.int64)
    vals = np.array([1.0, STALE_NAN, -2.5])
    body = struct.pack("<I", 3) + refs.tobytes() + ts.tobytes() + vals.tobytes()
    for kind, ooo in ((_records.SAMPLES, False), (_records.OOO_SAMPLES, True)):
        rec = _records.decode(bytes([kind]) + body)
        assert isinstance(rec, _records.SamplesRecord) and rec.out_of_order == ooo
        assert rec.refs.tolist() == [7, 9, 7] and rec.timestamps.tolist() == [1000, 1000, 2000]
        assert rec.values.view(np.uint64).tolist() == vals.view(np.uint64).tolist()
    series = (bytes([_records.SERIES]) + struct.pack("<IQH", 1, 4, 1)
              + struct.pack("<I", 3) + b"job" + struct.pack("<I", 1) + b"x")
    assert _records.decode(series) == [(4, Labels.of(job="x"))]


@pytest.mark.parametrize(("payload", "message"), [
    (b"", "empty WAL record"),
    (bytes([7]), "unknown WAL record type 7"),
    (bytes([0x20 | _records.SAMPLES]), "unknown WAL record type 34"),
    (bytes([_records.SNAPPY | _records.ZSTD | _records.SAMPLES]) + bytes(30),
     "unknown WAL record type 194"),
    (bytes([_records.PACKED_SAMPLES | _records.SNAPPY]) + b"\xff\xff\xff\xff\x0f",
     "malformed WAL record of type 5"),
    (bytes([_records.PACKED_SAMPLES | _records.ZSTD]) + b"not zstd", "malformed WAL record of type 5"),
    (bytes([_records.PACKED_SAMPLES]) + struct.pack("<I", 2) + bytes(24),
     "cannot hold 2 samples"),
    (bytes([_records.SERIES]) + struct.pack("<I", 1), "malformed WAL record of type 1"),
])
def test_bad_payloads_are_refused_with_a_reason(payload, message) -> None:
    with pytest.raises(StorageError, match=message):
        _records.decode(payload)
