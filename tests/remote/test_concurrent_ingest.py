"""Remote-write requests from several senders at once (as a sender's shards): every sample
is stored, each series in time order, and the WAL replays to the same head."""

from __future__ import annotations

import threading

from tests.remote.conftest import read_all
from vigil.model import Labels
from vigil.remote import Receiver, compress, encode_write_request
from vigil.tsdb import DB

T0 = 1_700_000_000_000
SHARDS, SERIES_PER_SHARD, SCRAPES = 4, 300, 12


def _series(shard: int, i: int) -> list[tuple[str, str]]:
    return [("__name__", f"m{i % 5}"), ("job", "node"), ("shard", str(shard)), ("i", str(i))]


def test_concurrent_senders_store_everything_in_order_and_replay(tmp_path):
    path = str(tmp_path / "tsdb")
    db = DB.open(path, wal_fsync="off")
    rx = Receiver(db)
    errors: list[BaseException] = []
    # Shards start together: each scrape's requests of different shards race each other.
    start = threading.Barrier(SHARDS)

    def sender(shard: int) -> None:
        try:
            start.wait()
            for k in range(SCRAPES):
                # Big requests (compiled scan) and small ones (Python scanner) alternate.
                n = SERIES_PER_SHARD if (k + shard) % 2 == 0 else 20
                rx.write(compress(encode_write_request(
                    [(_series(shard, i), [T0 + 15_000 * k], [float(k * 1000 + i)])
                     for i in range(n)])))
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=sender, args=(j,)) for j in range(SHARDS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    expected = {}
    for shard in range(SHARDS):
        for i in range(SERIES_PER_SHARD):
            expected[Labels(_series(shard, i))] = [
                (T0 + 15_000 * k, float(k * 1000 + i)) for k in range(SCRAPES)
                if i < (SERIES_PER_SHARD if (k + shard) % 2 == 0 else 20)]
    got = read_all(db)
    assert got == expected
    db.close()
    replayed = DB.open(path, wal_fsync="off")
    try:
        assert read_all(replayed) == expected
    finally:
        replayed.close()
