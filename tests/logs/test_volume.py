"""Index statistics and log volume (vigil.logs.volume) counted over entries and over column
blocks: both paths give the same figures, worked out by hand here, including a stream whose
lines span two UTC days (two chunks' worth) and buckets aligned to the step."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from tests.logs.logql.memreader import MemoryReader
from vigil.logs.model import EntryColumns, LogEntry, StreamSelection
from vigil.logs.volume import IndexStats, index_stats, volume
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType, match_all

S = 1_000_000_000
DAY = 86_400 * S
T0 = 19_000 * DAY  # midnight UTC
A = Labels.of(app="api", env="prod")
B = Labels.of(app="web", env="dev")
C = Labels.of(app="cron")


class ColumnReader(MemoryReader):
    """Serves column blocks of three rows, newest first, as a store may (any order)."""

    def select_columns(self, selection: StreamSelection) -> Iterator[EntryColumns]:
        hits = [e for e in self.entries if match_all(selection.matchers, e.labels)
                and selection.start_ns <= e.ts_ns < selection.end_ns][::-1]
        streams = tuple(sorted({e.labels for e in hits}))
        for at in range(0, len(hits), 3):
            block = hits[at:at + 3]
            yield EntryColumns(np.array([e.ts_ns for e in block], dtype=np.int64),
                               np.array([streams.index(e.labels) for e in block], dtype=np.int32),
                               streams,
                               np.array([len(e.line.encode()) for e in block], dtype=np.int64))


ENTRIES = [
    LogEntry(T0 - 10 * S, A, "late é"),     # 7 bytes, the day before
    LogEntry(T0 + 1 * S, A, "one"),         # 3
    LogEntry(T0 + 2 * S, B, "four"),        # 4
    LogEntry(T0 + 6 * S, A, "seven!!"),     # 7
    LogEntry(T0 + 7 * S, C, "12345678"),    # 8
    LogEntry(T0 + 9 * S, B, "ninenine9"),   # 9
]


@pytest.fixture(params=["entries", "columns"])
def reader(request):
    return (MemoryReader if request.param == "entries" else ColumnReader)(ENTRIES)


def app(regex: str) -> list[Matcher]:
    return [Matcher(MatchType.REGEX, "app", regex)]


def test_index_stats(reader) -> None:
    got = index_stats(reader, app(".+"), T0 - DAY, T0 + 10 * S)
    # A has lines on two days: two pieces; 7+3+4+7+8+9 bytes
    assert got == IndexStats(streams=3, chunks=4, entries=6, bytes=38)
    assert index_stats(reader, app("api"), T0, T0 + 10 * S) == IndexStats(1, 1, 2, 10)
    assert index_stats(reader, app("none"), T0, T0 + 10 * S) == IndexStats(0, 0, 0, 0)


def test_volume_one_bucket(reader) -> None:
    got = volume(reader, app(".+"), T0, T0 + 10 * S)
    assert [(s.metric, s.points) for s in got] == [
        ({"app": "web"}, [(T0 // 1_000_000 + 10_000, 13)]),
        ({"app": "api"}, [(T0 // 1_000_000 + 10_000, 10)]),
        ({"app": "cron"}, [(T0 // 1_000_000 + 10_000, 8)])]
    # no matchers ({}): every label of each stream; limit keeps the largest
    got = volume(reader, [], T0, T0 + 10 * S, limit=2)
    assert [s.metric for s in got] == [{"app": "web", "env": "dev"},
                                       {"app": "api", "env": "prod"}]
    got = volume(reader, app(".+"), T0, T0 + 10 * S, target_labels=["env"])
    assert [(s.metric, s.points[0][1]) for s in got] == [({"env": "dev"}, 13),
                                                          ({"env": "prod"}, 10)]
    got = volume(reader, app(".+"), T0, T0 + 10 * S, aggregate_by="labels")
    assert [(s.metric, s.points[0][1]) for s in got] == [({"app": ""}, 31), ({"env": ""}, 23)]


def test_volume_buckets_align_to_the_step(reader) -> None:
    # step 4s from T0+1s: buckets [T0+1s, T0+4s), [T0+4s, T0+8s), [T0+8s, T0+10s)
    got = volume(reader, app(".+"), T0 + S, T0 + 10 * S, step_ns=4 * S)
    ms = T0 // 1_000_000
    # ordered by their first point, largest first (Loki's rule)
    assert [(s.metric, s.points) for s in got] == [
        ({"app": "cron"}, [(ms + 8000, 8)]),
        ({"app": "web"}, [(ms + 4000, 4), (ms + 10_000, 9)]),
        ({"app": "api"}, [(ms + 4000, 3), (ms + 8000, 7)])]
