"""The column path of metric queries (vigil.logs.logql.columns) gives what reading entries gives.

Every query runs twice over the same entries: once through a reader that has
``select_columns`` (blocks in shuffled time order, needles applied exactly, a stream listed
without rows) and once through one that hides it, so the engine reads entries; the answers must
be equal to the last bit. Entries carry levels and structured fields, so a column answer that
dropped ``detected_level`` or a field from a series would differ. A reader whose ``select``
raises shows the column path is taken where it should be, and only there."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.logs.logql.memreader import EntriesOnly, MemoryReader
from vigil.logs.logql import LogQLEngine
from vigil.logs.model import EntryColumns, LogEntry, StreamSelection
from vigil.logs.store import LogStore, Options
from vigil.model.labels import Labels
from vigil.model.matchers import match_all
from vigil.promql.value import Matrix, Scalar, Vector

S = 1_000_000_000
T0 = 1_700_000_000 * S
STREAMS = [Labels.of(app="api", host="h1"), Labels.of(app="api", host="h2"),
           Labels.of(app="web", host="h1"), Labels.of(app="db", host="h3", env="prod")]


def _entries(with_fields: bool = True) -> list[LogEntry]:
    rng = random.Random(7)
    out = []
    for i in range(900):
        # whole seconds for a third of the lines, so windows end exactly on some of them
        ts = T0 + (i // 3) * S + (0 if i % 3 == 0 else rng.randrange(1, S))
        stream = STREAMS[rng.randrange(len(STREAMS))]
        word = rng.choice(("error", "warn", "ok", "naïve ✓"))
        line = f"{word} request {i} took {rng.randrange(1, 900)}ms" + "x" * rng.randrange(30)
        fields = (("trace", f"t{i % 4}"),) if with_fields and i % 5 == 0 else ()
        out.append(LogEntry(ts, stream, line, rng.choice(("info", "error", "")), fields))
    return out


class ColumnMemoryReader(MemoryReader):
    """A MemoryReader that also serves column blocks (a ColumnReader), as the store does;
    ``with_levels``: the blocks also carry each row's level and whether it has fields."""

    def __init__(self, entries: list[LogEntry], with_levels: bool = False) -> None:
        super().__init__(entries)
        self.with_levels = with_levels

    def select_columns(self, selection: StreamSelection) -> Iterator[EntryColumns]:
        self.selections.append(selection)
        hits = [e for e in self.entries
                if match_all(selection.matchers, e.labels)
                and selection.start_ns <= e.ts_ns < selection.end_ns
                and all(n in e.line for n in selection.needles)]
        random.Random(len(hits)).shuffle(hits)
        for at in range(0, len(hits), 97):
            block = hits[at:at + 97]
            # a stream with no row in the block (and no app label): it must not count
            streams = sorted({e.labels for e in block} | {Labels.of(host="idle")})
            index = {s: i for i, s in enumerate(streams)}
            levels = ("warn", "", "error", "info")  # one no row has, in no sorted order
            yield EntryColumns(
                ts_ns=np.array([e.ts_ns for e in block], dtype=np.int64),
                stream=np.array([index[e.labels] for e in block], dtype=np.int32),
                streams=tuple(streams),
                line_bytes=np.array([len(e.line.encode()) for e in block], dtype=np.int64),
                **({"level": np.array([levels.index(e.level) for e in block], dtype=np.uint8),
                    "levels": levels,
                    "has_fields": np.array([bool(e.fields) for e in block])}
                   if self.with_levels else {}))


class NoEntries(ColumnMemoryReader):
    """Columns only: reading entries fails the test."""

    def select(self, selection: StreamSelection) -> Iterator[LogEntry]:
        raise AssertionError(f"entries read for {selection}")


COLUMN_QUERIES = [
    'sum by (app) (count_over_time({host=~".+"}[10s]))',
    'sum(count_over_time({app="api"}[7s]))',
    'sum by (app, host) (rate({host=~"h1|h2"} |= "error" [15s]))',
    'sum by (host) (bytes_over_time({app=~"api|web"}[5s] offset 3s))',
    'sum by (app) (bytes_rate({host=~".+"} |= "request" |= "ms" [20s]))',
    'sum(count_over_time({app="api"} |= "naïve ✓" [30s]))',
    'sum by (app) (count_over_time({app="nothing"}[10s]))',
    'sum by (app) (count_over_time({app="api"} |= "no line has this" [10s]))',
    'absent_over_time({app="api"} |= "error" [2s])',
    'absent_over_time({app="nothing"}[10s])',
    'topk(2, sum by (host) (count_over_time({host=~".+"}[10s])))',
    'sum by (app) (count_over_time({host=~".+"}[10s])) / sum(count_over_time({host=~".+"}[10s]))',
    'sum by (app) (rate({host=~".+"}[1m])) > 0.5',
    'max(sum by (host) (count_over_time({host=~".+"}[3s] offset 1m)))',
    'sum by (app) (count_over_time({host=~".+"} |= "" [10s]))',
]
ENTRY_QUERIES = [  # their series depend on fields or levels, or their pipeline on more
    'count_over_time({app="api"}[10s])',
    'sum by (detected_level) (count_over_time({host=~".+"}[10s]))',
    'sum by (trace) (count_over_time({host=~".+"}[10s]))',
    'sum by (env) (count_over_time({host=~".+"}[10s]))',  # only the db stream has env
    'sum without (host) (count_over_time({host=~".+"}[10s]))',
    'sum by (app) (count_over_time({host=~".+"} != "error" [10s]))',
    'sum by (app) (count_over_time({host=~".+"} |= "error" or "warn" [10s]))',
    'sum by (app) (count_over_time({host=~".+"} |~ "err.r" [10s]))',
    'sum by (app) (count_over_time({host=~".+"} | logfmt [10s]))',
    'max by (app) (count_over_time({host=~".+"}[10s]))',
]
LEVEL_QUERIES = [  # from columns when the blocks give levels and no row has fields
    'count_over_time({app="api"}[10s])',
    'rate({host=~".+"} |= "error" [15s])',
    'bytes_over_time({app=~"api|db"}[5s] offset 3s)',
    'sum by (detected_level) (count_over_time({host=~".+"}[10s]))',
    'sum by (env) (count_over_time({host=~".+"}[10s]))',
    'sum without (host) (count_over_time({host=~".+"}[10s]))',
    'topk(3, count_over_time({host=~".+"}[10s]))',
    'max by (app) (count_over_time({host=~".+"}[10s]))',
]
RANGES = [  # start, end, step
    (T0, T0 + 300 * S, 10 * S),
    (T0 + 7 * S + 123, T0 + 250 * S + 5, 13 * S + 7),  # steps off the whole seconds
    (T0 - 60 * S, T0 + 30 * S, 1 * S),  # windows on exact line times, some before the data
    (T0 + 400 * S, T0 + 500 * S, 20 * S),  # after the data: empty
]
INSTANTS = [T0 + 10 * S, T0 + 123 * S + 456, T0 + 299 * S + 999_999_999, T0 - S, T0 + 10**4 * S]


def _plain(result: Matrix | Vector | Scalar) -> object:
    if isinstance(result, Matrix):
        return [(str(s.labels), s.timestamps.tolist(), s.values.tolist()) for s in result.series]
    if isinstance(result, Vector):
        return [(str(s.labels), s.ts_ms, s.value) for s in result.samples]
    return (result.ts_ms, result.value)


@pytest.fixture(scope="module")
def readers() -> tuple[ColumnMemoryReader, EntriesOnly]:
    entries = _entries()
    return ColumnMemoryReader(entries), EntriesOnly(MemoryReader(entries))


def _same_answers(columns: LogQLEngine, entries: LogQLEngine, query: str) -> None:
    for start, end, step in RANGES:
        want = _plain(entries.range(query, start, end, step))
        assert _plain(columns.range(query, start, end, step)) == want, (start, end, step)
    for at in INSTANTS:
        assert _plain(columns.instant(query, at)) == _plain(entries.instant(query, at)), at


@pytest.mark.parametrize("query", COLUMN_QUERIES + ENTRY_QUERIES)
def test_columns_answer_as_entries_do(readers: tuple[ColumnMemoryReader, EntriesOnly],
                                      query: str) -> None:
    _same_answers(LogQLEngine(readers[0]), LogQLEngine(readers[1]), query)


def test_the_log_store_answers_from_columns_as_from_entries(tmp_path: Path) -> None:
    """Over the real store: chunks (several, some skipped by the needles' Bloom filters) and
    the head, with lines appended out of time order."""
    entries = _entries()
    random.Random(3).shuffle(entries)
    with LogStore.open(str(tmp_path / "logs"), Options(chunk_bytes=6000)) as store:
        for at in range(0, 850, 50):
            store.append(entries[at:at + 50])
        store.flush()
        store.append(entries[850:])
        assert store.stats().chunks > 4 and store.stats().head_entries > 0
        columns, by_entry = LogQLEngine(store), LogQLEngine(EntriesOnly(store))
        for query in COLUMN_QUERIES + ENTRY_QUERIES[:3]:
            _same_answers(columns, by_entry, query)
        total = columns.instant('sum(count_over_time({host=~".+"}[1h]))', T0 + 400 * S)
        assert isinstance(total, Vector) and total.samples[0].value == len(entries)


def test_answers_are_not_empty() -> None:
    """The comparisons above compare figures, not two empty answers."""
    engine = LogQLEngine(NoEntries(_entries()))
    result = engine.range('sum by (app) (count_over_time({host=~".+"}[10s]))', T0, T0 + 300 * S,
                          10 * S)
    assert {str(s.labels) for s in result.series} == {'{app="api"}', '{app="web"}',
                                                      '{app="db"}'}
    assert sum(float(s.values.sum()) for s in result.series) > 800


@pytest.mark.parametrize("query", COLUMN_QUERIES)
def test_column_queries_read_no_entries(query: str) -> None:
    engine = LogQLEngine(NoEntries(_entries()))
    engine.range(query, T0, T0 + 300 * S, 10 * S)
    engine.instant(query, T0 + 100 * S)


@pytest.mark.parametrize("query", ENTRY_QUERIES)
def test_other_queries_read_entries(query: str) -> None:
    engine = LogQLEngine(NoEntries(_entries()))
    with pytest.raises(AssertionError, match="entries read"):
        engine.range(query, T0, T0 + 300 * S, 10 * S)


def test_needles_reach_the_column_reader() -> None:
    reader = ColumnMemoryReader(_entries())
    LogQLEngine(reader).instant('sum(rate({app="api"} |= "error" |= "ms" [10s]))', T0 + 50 * S)
    assert [s.needles for s in reader.selections] == [("error", "ms")]
    assert reader.selections[0].start_ns == T0 + 40 * S + 1
    assert reader.selections[0].end_ns == T0 + 50 * S + 1


@pytest.mark.parametrize("query", LEVEL_QUERIES)
def test_with_levels_and_no_fields_every_grouping_comes_from_columns(query: str) -> None:
    entries = _entries(with_fields=False)
    columns = LogQLEngine(NoEntries(entries, with_levels=True))  # reading entries fails
    _same_answers(columns, LogQLEngine(EntriesOnly(MemoryReader(entries))), query)


@pytest.mark.parametrize("query", LEVEL_QUERIES[:3])
def test_rows_with_fields_are_still_read_as_entries(query: str) -> None:
    entries = _entries(with_fields=True)
    with pytest.raises(AssertionError, match="entries read"):
        LogQLEngine(NoEntries(entries, with_levels=True)).range(query, T0, T0 + 300 * S, 10 * S)
    _same_answers(LogQLEngine(ColumnMemoryReader(entries, with_levels=True)),
                  LogQLEngine(EntriesOnly(MemoryReader(entries))), query)


def test_the_log_store_gives_levels_so_bare_counts_come_from_columns(tmp_path: Path) -> None:
    entries = _entries(with_fields=False)
    random.Random(5).shuffle(entries)
    with LogStore.open(str(tmp_path / "logs"), Options(chunk_bytes=6000)) as store:
        for at in range(0, 850, 50):
            store.append(entries[at:at + 50])
        store.flush()
        store.append(entries[850:])
        columns, by_entry = LogQLEngine(store), LogQLEngine(EntriesOnly(store))
        for query in LEVEL_QUERIES:
            _same_answers(columns, by_entry, query)
        store.select = None  # type: ignore[method-assign]  # columns only from here
        result = columns.range('count_over_time({app="api"}[1h])', T0 + 400 * S, T0 + 400 * S, S)
        assert {s.labels.get("detected_level") for s in result.series} == {"info", "error", ""}
