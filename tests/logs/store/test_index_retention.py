"""The token index skips chunks that cannot hold a needle (and never one that can), the
stream index skips chunks of other streams, chunks follow time partitions, and retention
deletes by age and by size."""

from __future__ import annotations

import glob
import os
import random

import numpy as np

from vigil.logs.model import LogEntry, StreamSelection
from vigil.logs.store import LogStore, Options
from vigil.logs.store import chunk as chunkfile
from vigil.logs.store._bloom import TokenIndex, fnv1a, needle_tokens, token_values
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher

S = 1_000_000_000
DAY = 86400


def test_token_index_has_no_false_negatives_and_rejects_absent_needles():
    rng = random.Random(7)
    words = ["GET", "/api/v1/users", "timeout", "ssh", "Failed", "password", "ünïcödé", "☃",
             "req-", "=", " "]
    lines = ["".join(rng.choice(words) + str(rng.randrange(10**6)) for _ in range(8))
             for _ in range(2000)]
    index = TokenIndex.build("".join(lines).encode())
    for _ in range(3000):
        line = rng.choice(lines)
        a = rng.randrange(len(line) - 1)
        assert index.may_contain(line[a:a + rng.randrange(1, 30)])
    # whole words absent from the chunk: the word filter rejects them
    absent = [f"x {i}zqxw{i} y" for i in range(300)]
    assert sum(index.may_contain(n) for n in absent) <= 20
    # absent characters: the trigram filter rejects them
    assert not index.may_contain("QQQ")
    assert index.may_contain("zq")  # no whole word, no trigram: cannot tell


def test_words_are_split_as_documented():
    assert len(needle_tokens(b"a b")) == 0 and isinstance(needle_tokens(b"a"), np.ndarray)
    assert list(needle_tokens(b"req-needle-5e1f")) == [fnv1a(b"needle")]
    assert list(needle_tokens("x ünï_1 y".encode())) == [fnv1a("ünï_1".encode())]
    assert list(needle_tokens(b"needle")) == []
    assert sorted(token_values(b"ab cd.ab\nef")) == sorted(
        {fnv1a(b"ab"), fnv1a(b"cd"), fnv1a(b"ef")})


def test_needle_search_reads_only_chunks_that_may_match(tmp_path, monkeypatch):
    read: list[int] = []
    real = chunkfile.read_body
    monkeypatch.setattr(chunkfile, "read_body", lambda m: read.append(m.id) or real(m))
    opts = Options(chunk_bytes=1 << 30, cached_chunks=0)
    with LogStore.open(str(tmp_path / "s"), opts) as store:
        for c in range(10):
            store.append([LogEntry((c * 100 + i) * S, Labels.of(app="a"),
                                   f"chunk {c} entry {i} request_id=" + ("needle-7f3a" if (c, i) == (6, 42) else f"r{c}x{i}"))
                          for i in range(100)])
            store.flush()
        hits = list(store.select(StreamSelection((), 0, 1 << 62, ("needle-7f3a",))))
        assert [e.line for e in hits] == ["chunk 6 entry 42 request_id=needle-7f3a"]
        assert read == [7]  # chunk ids start at 1
        read.clear()
        assert len(list(store.select(StreamSelection((), 0, 1 << 62, ("entry 5 ",))))) == 10
        assert sorted(read) == list(range(1, 11))


def test_stream_index_skips_chunks_of_other_streams(tmp_path, monkeypatch):
    read: list[int] = []
    real = chunkfile.read_body
    monkeypatch.setattr(chunkfile, "read_body", lambda m: read.append(m.id) or real(m))
    with LogStore.open(str(tmp_path / "s"), Options(chunk_bytes=1 << 30)) as store:
        for app in ("a", "b", "c"):
            store.append([LogEntry(i * S, Labels.of(app=app), f"{app}{i}") for i in range(20)])
            store.flush()
        got = list(store.select(StreamSelection((Matcher.equal("app", "b"),), 0, 1 << 62)))
        assert len(got) == 20 and read == [2]


def test_chunks_never_span_a_partition(tmp_path):
    path = str(tmp_path / "s")
    with LogStore.open(path, Options(chunk_bytes=1 << 30)) as store:
        store.append([LogEntry((DAY - 2 + i) * S, Labels.of(app="a"), f"l{i}") for i in range(4)])
    assert sorted(os.listdir(os.path.join(path, "chunks"))) == ["0", str(DAY)]
    with LogStore.open(path) as store:
        got = [e.line for e in store.select(StreamSelection((), 0, 1 << 62, backward=False))]
    assert got == ["l0", "l1", "l2", "l3"]


def test_retention_by_time_deletes_old_chunks_and_empty_partitions(tmp_path):
    now = [10 * DAY * S]
    path = str(tmp_path / "s")
    opts = Options(chunk_bytes=1 << 30, retention_s=3 * DAY, now_ns=lambda: now[0])
    with LogStore.open(path, opts) as store:
        for day in range(10):
            store.append([LogEntry((day * DAY + 5) * S, Labels.of(app="a"), f"day {day}")])
            store.flush()
        got = [e.line for e in store.select(StreamSelection((), 0, 1 << 62, backward=False))]
        assert got == ["day 7", "day 8", "day 9"]
        assert len(os.listdir(os.path.join(path, "chunks"))) == 3
        now[0] += DAY * S
        store.apply_retention()
        assert store.label_values("app", 0, 1 << 62) == ["a"]
        assert store.stats().chunks == 2


def test_retention_by_size_keeps_the_newest_chunks_under_the_limit(tmp_path):
    path = str(tmp_path / "s")
    with LogStore.open(path, Options(chunk_bytes=1 << 30)) as store:
        for c in range(6):
            store.append([LogEntry((c * 100 + i) * S, Labels.of(app="a"), f"c{c} {i} " * 5)
                          for i in range(100)])
            store.flush()
        sizes = [os.path.getsize(p) for p in sorted(glob.glob(f"{path}/chunks/*/*.chunk"))]
    limit = sum(sizes[-2:]) + sizes[0] // 2
    with LogStore.open(path, Options(max_bytes=limit)) as store:
        assert store.stats().chunk_bytes <= limit
        assert store.stats().chunks == 2
        lines = [e.line for e in store.select(StreamSelection((), 0, 1 << 62, limit=1))]
        assert lines == ["c5 99 " * 5]
