"""The remote-write receiver against a real TSDB, directly and over HTTP."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.remote.conftest import read_all
from tests.web.fakes import make_deps
from vigil.model import Labels, Matcher
from vigil.remote import (
    Limits,
    Receiver,
    RemoteWriteError,
    compress,
    decompress,
    encode_write_request,
)
from vigil.remote.receiver import COMPILED_SCAN_BYTES
from vigil.tsdb import DB
from vigil.web import create_app

T0 = 1_700_000_000_000


def body(series) -> bytes:
    return compress(encode_write_request(series))


def test_samples_are_stored_with_sorted_labels(db):
    rx = Receiver(db)
    n = rx.write(body([
        ([("job", "node"), ("__name__", "up"), ("instance", "a")], [T0, T0 + 15_000], [1.0, 0.0]),
        ([("__name__", "load1"), ("job", "node"), ("empty", "")], [T0], [0.5]),
    ]))
    assert n == 3
    got = read_all(db)
    assert got == {
        Labels({"__name__": "up", "job": "node", "instance": "a"}): [(T0, 1.0), (T0 + 15_000, 0.0)],
        Labels({"__name__": "load1", "job": "node"}): [(T0, 0.5)],
    }
    # The same series again (the label cache path) appends to the same series.
    rx.write(body([([("job", "node"), ("__name__", "up"), ("instance", "a")], [T0 + 30_000], [1.0])]))
    assert len(read_all(db, Matcher.equal("__name__", "up"))[Labels(
        {"__name__": "up", "job": "node", "instance": "a"})]) == 3


@pytest.mark.parametrize(("series", "message"), [
    ([([("job", "x")], [T0], [1.0])], "no __name__ label"),
    ([([("__name__", "m"), ("a", "1"), ("a", "2")], [T0], [1.0])], "duplicate label name 'a'"),
    ([([("__name__", "m"), ("0bad", "1")], [T0], [1.0])], "invalid label name '0bad'"),
    ([([("__name__", "m"), ("a-b", "1")], [T0], [1.0])], "invalid label name 'a-b'"),
    ([([("__name__", "m")] + [(f"l{i}", "v") for i in range(10_000)], [T0], [1.0])],
     "10001 labels, more than the limit of 256"),
    ([([("__name__", "m"), ("big", "x" * (1 << 20))], [T0], [1.0])],
     "is 1048576 bytes, more than the limit of 65536"),
    ([([("__name__", "m")], [T0, T0 - 1], [1.0, 2.0])], "out of order sample"),
    ([([("__name__", "m")], [T0, T0], [1.0, 2.0])], "duplicate sample for timestamp"),
])
@pytest.mark.parametrize("padding", [0, 400])  # 400 more series: the compiled scan's size
def test_bad_series_rejects_whole_request_with_400(db, series, message, padding):
    rx = Receiver(db)
    good = ([("__name__", "good")], [T0], [1.0])
    pad = [([("__name__", "pad"), ("job", "j"), ("i", str(i))], [T0], [1.0]) for i in range(padding)]
    request = body([good, *pad, *series])
    if padding:
        assert len(decompress(request, max_bytes=1 << 30)) >= COMPILED_SCAN_BYTES
    with pytest.raises(RemoteWriteError, match=message) as exc:
        rx.write(request)
    assert exc.value.status == 400
    assert read_all(db) == {}  # nothing of the request is stored
    rx.write(body([good]))  # and the receiver still works
    assert list(read_all(db)) == [Labels({"__name__": "good"})]


def test_out_of_order_against_committed_sample_is_400(db):
    rx = Receiver(db)
    rx.write(body([([("__name__", "m")], [T0], [1.0])]))
    with pytest.raises(RemoteWriteError, match="out of order") as exc:
        rx.write(body([([("__name__", "m")], [T0 - 1000], [1.0])]))
    assert exc.value.status == 400


def test_decompressed_size_limit(db):
    rx = Receiver(db, Limits(max_decompressed_bytes=1000))
    with pytest.raises(RemoteWriteError, match="exceeds the limit of 1000 bytes"):
        rx.write(body([([("__name__", "m"), ("v", "y" * 2000)], [T0], [1.0])]))


def test_closed_store_is_retryable(tmp_path):
    from vigil.tsdb import DB
    d = DB.open(str(tmp_path / "t"), wal_fsync="off")
    d.close()
    with pytest.raises(RemoteWriteError) as exc:
        Receiver(d).write(body([([("__name__", "m")], [T0], [1.0])]))
    assert exc.value.status >= 500


def test_http_endpoint(db):
    deps = make_deps()
    with TestClient(create_app(deps)) as c:
        assert c.post("/api/v1/write", content=body([])).status_code == 404  # not enabled
    deps.remote_write = Receiver(db)
    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
    with TestClient(create_app(deps)) as c:
        r = c.post("/api/v1/write", content=body([([("__name__", "m")], [T0], [4.0])]),
                   headers=headers)
        assert r.status_code == 204
        r = c.post("/api/v1/write", content=b"garbage", headers=headers)
        assert r.status_code == 400 and "snappy" in r.text
        r = c.post("/api/v1/write", content=compress(b"\x0a\x05\x0a"), headers=headers)
        assert r.status_code == 400 and "protobuf" in r.text
    assert read_all(db) == {Labels({"__name__": "m"}): [(T0, 4.0)]}


def test_series_without_samples_next_to_one_with_two(db):
    Receiver(db).write(body([([("__name__", "none")], [], []),
                             ([("__name__", "two")], [T0, T0 + 1], [1.0, 2.0])]))
    assert read_all(db) == {Labels({"__name__": "two"}): [(T0, 1.0), (T0 + 1, 2.0)]}


def test_http_body_too_large_is_413(db):
    deps = make_deps()
    deps.remote_write = Receiver(db)
    deps.max_request_body_bytes = 100  # the web app's one limit (tests/web/test_body_limit.py)
    with TestClient(create_app(deps)) as c:
        assert c.post("/api/v1/write", content=b"x" * 101).status_code == 413
        assert c.post("/api/v1/write", content=body([([("__name__", "m")], [T0], [1.0])])
                      ).status_code == 204


def test_out_of_order_window_lets_late_samples_in(tmp_path):
    db = DB.open(str(tmp_path / "tsdb"), wal_fsync="off", out_of_order_window_ms=600_000)
    try:
        rx = Receiver(db)
        rx.write(body([([("__name__", "m")], [T0], [1.0])]))
        rx.write(body([([("__name__", "m")], [T0 - 60_000, T0 - 120_000], [0.5, 0.25])]))
        assert read_all(db) == {Labels({"__name__": "m"}): [
            (T0 - 120_000, 0.25), (T0 - 60_000, 0.5), (T0, 1.0)]}
        with pytest.raises(RemoteWriteError, match="too old sample") as exc:
            rx.write(body([([("__name__", "m")], [T0 - 601_000], [0.0])]))
        assert exc.value.status == 400
    finally:
        db.close()


def test_big_and_small_requests_store_the_same(tmp_path):
    """A request the compiled scan takes and the same series sent in small requests (the
    Python scanner's) end as the same head; new series' labels come from the entry cache."""
    series = [([("__name__", f"m{i % 7}"), ("job", "node"), ("instance", f"h{i // 7}"),
                ("cpu", str(i % 3)), ("empty", "")], [T0 + 1000 * k for k in range(i % 3 + 1)],
               [float(i), -0.0, float("inf")][:i % 3 + 1]) for i in range(600)]
    got = []
    for name, chunks in (("big", [series]), ("small", [series[i:i + 5] for i in range(0, 600, 5)])):
        d = DB.open(str(tmp_path / name), wal_fsync="off")
        try:
            rx = Receiver(d)
            for chunk in chunks:
                request = body(chunk)
                assert (len(decompress(request, max_bytes=1 << 30)) >= COMPILED_SCAN_BYTES) \
                    == (name == "big")
                rx.write(request)
            got.append(read_all(d))
        finally:
            d.close()
    assert len(got[0]) == 600
    assert got[0] == got[1]
    assert Labels({"__name__": "m1", "job": "node", "instance": "h0", "cpu": "1"}) in got[0]
