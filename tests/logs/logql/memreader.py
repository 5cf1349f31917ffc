"""A LogReader over a list of entries, for the LogQL tests (the real store has its own tests;
the end-to-end cases run LogQL over it). It honours the whole StreamSelection contract,
needles included, so a wrong needle (one a matching line need not contain) loses lines here.
``EntriesOnly`` hides a reader's columns (the engine then reads entries); bench/logql_bench.py
uses it too."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vigil.logs.model import LogEntry, LogReader, StreamSelection
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, match_all


class MemoryReader:
    def __init__(self, entries: Sequence[LogEntry]) -> None:
        self.entries = list(entries)
        self.selections: list[StreamSelection] = []

    def select(self, selection: StreamSelection) -> Iterator[LogEntry]:
        self.selections.append(selection)
        hits = [e for e in self.entries
                if match_all(selection.matchers, e.labels)
                and selection.start_ns <= e.ts_ns < selection.end_ns
                and all(n in e.line for n in selection.needles)]
        hits.sort(key=lambda e: e.ts_ns, reverse=selection.backward)
        if selection.limit:
            hits = hits[:selection.limit]
        yield from hits

    def streams(self, matchers: Sequence[Matcher], start_ns: int, end_ns: int) -> list[Labels]:
        return sorted({e.labels for e in self.entries if match_all(list(matchers), e.labels)
                       and start_ns <= e.ts_ns < end_ns})

    def label_names(self, start_ns: int, end_ns: int) -> list[str]:
        return sorted({n for e in self.entries for n in e.labels.names()})

    def label_values(self, name: str, start_ns: int, end_ns: int,
                     matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({e.labels.get(name) for e in self.entries if e.labels.get(name)})


class EntriesOnly:
    """Hides ``select_columns``: the engine must read entries."""

    def __init__(self, reader: LogReader) -> None:
        self.reader = reader

    def select(self, selection: StreamSelection) -> Iterator[LogEntry]:
        return self.reader.select(selection)

    def streams(self, matchers: Sequence[Matcher], start_ns: int, end_ns: int) -> list[Labels]:
        return self.reader.streams(matchers, start_ns, end_ns)

    def label_names(self, start_ns: int, end_ns: int) -> list[str]:
        return self.reader.label_names(start_ns, end_ns)

    def label_values(self, name: str, start_ns: int, end_ns: int,
                     matchers: Sequence[Matcher] = ()) -> list[str]:
        return self.reader.label_values(name, start_ns, end_ns, matchers)
