"""The columnar block index: matcher semantics equal to the head's, blocks written by the
first index version still open, labels shared between blocks and released with them, and a
damaged index refused with its block named."""

from __future__ import annotations

import os
import random
import shutil
import zlib

import numpy as np
import pytest

from vigil.model import Labels, Matcher
from vigil.model.matchers import MatchType
from vigil.tsdb import DB
from vigil.tsdb.block import Block, write_block
from vigil.tsdb.head import SeriesData
from vigil.tsdb.index import PostingsIndex

V1_BLOCK = os.path.join(os.path.dirname(__file__), "data", "v1_block")
V1_T0 = 1_700_000_000_000


def _random_series(rng: random.Random, n: int) -> list[Labels]:
    out = set()
    while len(out) < n:
        pairs = {"__name__": rng.choice(["up", "node_load1", "http_requests_total"])}
        for name, values in (("job", ["node", "api", "db"]), ("env", ["prod", "dev", ""]),
                             ("code", ["200", "404", "500"]), ("path", ["/", "/a", "/b/c"])):
            if rng.random() < 0.7:
                pairs[name] = rng.choice(values)
        pairs["instance"] = f"h{rng.randrange(40)}"
        out.add(Labels(pairs))
    return sorted(out)


def _random_matchers(rng: random.Random) -> list[Matcher]:
    ms = []
    for _ in range(rng.randrange(1, 4)):
        name = rng.choice(["__name__", "job", "env", "code", "path", "instance", "absent"])
        kind = rng.choice(list(MatchType))
        value = rng.choice(["", "node", "prod", "dev", "200", "5..", "/.*", "h1.*", "up|node_load1",
                            "api|", "nomatch", "/a"])
        ms.append(Matcher(kind, name, value))
    return ms


def _block_of(tmp_path, labels: list[Labels]) -> Block:
    data = [SeriesData(lb, np.array([1000, 2000], np.int64), np.array([1.0, float(i)]))
            for i, lb in enumerate(labels)]
    return Block(write_block(str(tmp_path), data, 3000))


def test_block_selects_what_the_head_index_selects(tmp_path) -> None:
    rng = random.Random(11)
    labels = _random_series(rng, 400)
    block = _block_of(tmp_path, labels)
    head_index = PostingsIndex()
    for i, lb in enumerate(labels):
        head_index.add(i, lb)
    for _ in range(600):
        ms = _random_matchers(rng)
        want = sorted(head_index.select(ms))
        got = block.index.select(ms).tolist()
        assert got == want, ms
        refs = set(want)
        assert block.label_names(ms) == (head_index.label_names(refs) if refs else set())
        for name in ("job", "code", "instance", "absent"):
            assert block.label_values(name, ms) == head_index.label_values(name, refs), (ms, name)
    assert block.label_names([]) == head_index.label_names()
    assert block.label_values("env", []) == {"prod", "dev"}


def test_select_reads_the_samples_of_the_matching_series(tmp_path) -> None:
    labels = _random_series(random.Random(5), 50)
    block = _block_of(tmp_path, labels)
    got = list(block.select_set([Matcher(MatchType.REGEX, "instance", "h1.*")], 0, 5000))
    want = [(lb, i) for i, lb in enumerate(labels) if lb.get("instance").startswith("h1")]
    assert [(d.labels, d.values[1]) for d in got] == [(lb, float(i)) for lb, i in want]
    # A window inside the chunk trims it; one past it selects nothing.
    assert [d.timestamps.tolist() for d in block.select_set([], 1500, 2500)] == [[2000]] * 50
    assert list(block.select_set([], 2001, 9000)) == []


def test_block_of_the_first_index_version_opens_and_answers(tmp_path) -> None:
    path = tmp_path / "db"
    shutil.copytree(V1_BLOCK, path / "blocks")
    with DB.open(str(path), wal_fsync="off") as db:
        assert db.corrupted_blocks == []
        q = db.querier(V1_T0, V1_T0 + 3600_000)
        got = {s.labels: s for s in q.select([Matcher.equal("__name__", "node_cpu_seconds_total"),
                                              Matcher(MatchType.NOT_EQUAL, "mode", "idle")])}
        q.close()
        assert sorted(lb.get("instance") + "/" + lb.get("mode") for lb in got) == [
            "a:9100/system", "a:9100/user", "b:9100/system", "b:9100/user"]
        s = next(iter(got.values()))
        assert len(s.timestamps) == 240 and s.timestamps[0] == V1_T0
        assert s.values[-1] == 120.0
        assert db.stats()["block_samples"] == 8 * 240
        # New data cut into a block of the current version reads alongside it.
        app = db.appender()
        app.append(Labels.of(__name__="node_load1", instance="a:9100", job="node"),
                   V1_T0 + 4000_000, 3.5)
        app.commit()
        q = db.querier(V1_T0, V1_T0 + 5000_000)
        (load,) = [s for s in q.select([Matcher.equal("__name__", "node_load1"),
                                        Matcher.equal("instance", "a:9100")])]
        q.close()
        assert load.values[0] == 0.0 and load.values[-1] == 3.5 and len(load.values) == 241


def test_blocks_share_the_labels_of_a_series_and_release_them_with_the_blocks(tmp_path) -> None:
    hour = 3600_000
    with DB.open(str(tmp_path / "d"), wal_fsync="off", block_range_ms=hour,
                 retention_ms=3 * hour, compact_interval_s=3600) as db:
        for t in range(0, 6 * hour, 60_000):
            app = db.appender()
            app.append(Labels.of(__name__="steady", job="t"), t, 1.0)
            if t < hour:
                app.append(Labels.of(__name__="gone", job="t"), t, 2.0)
            app.commit()
            if t % hour == 0:
                db.compact()
        db.compact()
        blocks = db._blocks
        assert len(blocks) >= 2
        steady = [lb for b in blocks for lb in b.series_labels if lb.name == "steady"]
        assert len(steady) == len(blocks)
        assert all(lb is steady[0] for lb in steady)
        # The series only the deleted first block listed is no longer held.
        assert all(b.min_time >= hour for b in blocks)
        assert Labels.of(__name__="gone", job="t") not in db._labels_pool._by_value
        assert Labels.of(__name__="steady", job="t") in db._labels_pool._by_value


@pytest.mark.parametrize("damage", ["truncated", "page_out_of_range", "symbol_out_of_range"])
def test_a_damaged_index_moves_its_block_aside_and_the_rest_opens(tmp_path, damage) -> None:
    path = tmp_path / "db"
    shutil.copytree(V1_BLOCK, path / "blocks")
    labels = [Labels.of(__name__="x", job="t", k=str(k)) for k in range(3)]
    bad = Block(write_block(str(path / "blocks"), [
        SeriesData(lb, np.array([V1_T0 + 4000_000]), np.array([1.0])) for lb in labels],
        V1_T0 + 5000_000))
    bad.close()
    index_file = os.path.join(bad.path, "index")
    with open(index_file, "rb") as f:
        raw = bytearray(zlib.decompress(f.read()))
    if damage == "truncated":
        raw = raw[:-10]
    elif damage == "page_out_of_range":
        raw[-28:-24] = (7).to_bytes(4, "little")  # the last series' page number
    else:
        # The label ids come before 3 series x 32 bytes of columns; 3 x 3 pairs of ids.
        first_id = len(raw) - 3 * 32 - 18 * 4
        raw[first_id:first_id + 4] = (999).to_bytes(4, "little")
    with open(index_file, "wb") as f:
        f.write(zlib.compress(bytes(raw)))
    with DB.open(str(path), wal_fsync="off") as db:
        assert len(db.corrupted_blocks) == 1
        assert os.path.basename(bad.path) in db.corrupted_blocks[0]
        assert "cannot load block" in db.corrupted_blocks[0]
        assert db.stats()["block_samples"] == 8 * 240
