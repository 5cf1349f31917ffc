"""LogStore through its public API: append, select (order, window, matchers, needles, limit),
the stream and label queries, reopening, and a cut head read together with chunks."""

from __future__ import annotations

import pytest

from vigil.errors import StorageError
from vigil.logs.model import LogEntry, StreamSelection
from vigil.logs.store import LogStore, Options
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType

S = 1_000_000_000
ALL = (0, 1 << 62)


def entries(n: int, start: int = 0) -> list[LogEntry]:
    apps = ["api", "db", "web"]
    return [LogEntry(1_700_000_000 * S + (start + i) * S,
                     Labels.of(app=apps[(start + i) % 3], env="prod"),
                     f"request {start + i} user=u{(start + i) % 11} status={200 + (start + i) % 5}",
                     "error" if (start + i) % 10 == 0 else "info",
                     (("trace_id", f"t{start + i}"),) if i % 2 else ())
            for i in range(n)]


def sel(*matchers: Matcher, needles: tuple[str, ...] = (), backward: bool = True,
        limit: int = 0, window: tuple[int, int] = ALL) -> StreamSelection:
    return StreamSelection(matchers, window[0], window[1], needles, backward, limit)


@pytest.fixture
def store(tmp_path):
    s = LogStore.open(str(tmp_path / "logs"), Options(chunk_bytes=1500))
    yield s
    s.close()


def test_round_trip_keeps_every_field_and_orders_by_time(store):
    written = entries(200)
    for i in range(0, 200, 30):
        assert store.append(written[i:i + 30]) == len(written[i:i + 30])
    assert store.stats().chunks > 1 and store.stats().head_entries > 0  # both are read
    assert list(store.select(sel(backward=False))) == written
    assert list(store.select(sel())) == written[::-1]


def test_out_of_order_appends_come_back_sorted(store):
    written = entries(90)
    for part in (written[60:], written[:30], written[30:60]):
        store.append(part)
    assert list(store.select(sel(backward=False))) == written


def test_matchers_window_and_limit(store):
    written = entries(120)
    store.append(written)
    api = [e for e in written if e.labels.get("app") == "api"]
    assert list(store.select(sel(Matcher.equal("app", "api"), backward=False))) == api
    not_api = list(store.select(sel(Matcher(MatchType.NOT_REGEX, "app", "a.*"))))
    assert {e.labels.get("app") for e in not_api} == {"db", "web"}
    window = (written[10].ts_ns, written[20].ts_ns)
    assert list(store.select(sel(window=window, backward=False))) == written[10:20]
    assert list(store.select(sel(limit=5))) == written[::-1][:5]
    assert list(store.select(sel(Matcher.equal("app", "nope")))) == []


def test_needles_return_only_lines_holding_all_of_them(store):
    written = entries(300)
    store.append(written)
    got = list(store.select(sel(needles=("user=u3 ", "status=201"), backward=False)))
    want = [e for e in written if "user=u3 " in e.line and "status=201" in e.line]
    assert got == want and want


def test_needle_across_a_line_end_does_not_match(store):
    store.append([LogEntry(S, Labels.of(app="a"), "ends with ab"),
                  LogEntry(2 * S, Labels.of(app="a"), "cd starts")])
    store.flush()
    assert list(store.select(sel(needles=("abcd",)))) == []
    assert [e.line for e in store.select(sel(needles=("cd",)))] == ["cd starts"]


def test_reopen_reads_chunks_and_replays_the_wal(tmp_path):
    path = str(tmp_path / "logs")
    written = entries(100)
    s = LogStore.open(path, Options(chunk_bytes=1500))
    s.append(written)
    s._wal.close()  # simulate a crash: no cut at close, the WAL holds the head
    s._closed = True
    import os
    os.close(s._lock_fd)
    s2 = LogStore.open(path, Options(chunk_bytes=1500))
    assert list(s2.select(sel(backward=False))) == written
    s2.close()
    s3 = LogStore.open(path)
    assert s3.stats().head_entries == 0 and s3.stats().wal_bytes == 0
    assert list(s3.select(sel(backward=False))) == written
    s3.close()


def test_streams_and_labels(store):
    store.append(entries(30))
    store.append([LogEntry(5 * S, Labels.of(app="old", host="h1"), "x")])
    assert store.label_names(*ALL) == ["app", "env", "host"]
    assert store.label_values("app", *ALL) == ["api", "db", "old", "web"]
    assert store.label_values("app", *ALL, [Matcher.equal("host", "h1")]) == ["old"]
    assert store.streams([Matcher.equal("app", "old")], *ALL) == [Labels.of(app="old", host="h1")]
    assert store.streams([Matcher.equal("app", "old")], 6 * S, 1 << 62) == []


def test_bad_entries_are_refused_with_their_index(store):
    with pytest.raises(StorageError, match="entry 1: timestamp"):
        store.append([LogEntry(S, Labels.of(a="b"), "x"), LogEntry(1.5, Labels.of(a="b"), "y")])  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="entry 0: timestamp 1267650600228229401496703205376"):
        store.append([LogEntry(2**100, Labels.of(a="b"), "x")])
    assert list(store.select(sel())) == []
    unlabelled = LogEntry(S, Labels(), "no labels: ingest's policy, stored as the stream {}")
    store.append([unlabelled])
    assert list(store.select(sel())) == [unlabelled]


def test_second_open_is_refused(tmp_path, store):
    with pytest.raises(StorageError, match="in use"):
        LogStore.open(store.path)


def test_unicode_and_surrogates_round_trip(store):
    odd = [LogEntry(S, Labels.of(app="ü"), "naïve ☃ \udcff tab\tnewline\nend", "",
                    (("ключ", "значение"),))]
    store.append(odd)
    store.flush()
    assert list(store.select(sel(needles=("☃",)))) == odd


def test_readers_and_a_writer_at_once(tmp_path):
    import threading
    s = LogStore.open(str(tmp_path / "c"), Options(chunk_bytes=3000, retention_s=0))
    written = entries(600)
    errors: list[BaseException] = []

    def write() -> None:
        for i in range(0, 600, 20):
            s.append(written[i:i + 20])

    def read() -> None:
        try:
            for _ in range(30):
                got = list(s.select(sel(backward=False)))
                assert got == written[:len(got)]  # always a prefix: batches land whole
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s.close()
    assert not errors
    with LogStore.open(s.path) as again:
        assert list(again.select(sel(backward=False))) == written
