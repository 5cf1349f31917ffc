"""LogStore.select_columns: the same entries as select (count, timestamps and UTF-8 bytes per
stream) over chunks and head, with matchers, needles (applied exactly) and windows."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from vigil.logs.model import LogEntry, StreamSelection
from vigil.logs.store import LogStore, Options
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher

S = 1_000_000_000
T0 = 1_700_000_000 * S


def entries(n: int) -> list[LogEntry]:
    apps = ["api", "db", "web"]
    words = ["ok", "timeout", "zürich", "naïve café", "err\udcff"]
    return [LogEntry(T0 + (i * 7919 % n) * S // 3, Labels.of(app=apps[i % 3], env="prod"),
                     f"request {i} {words[i % 5]} user=u{i % 11} id=ab{i:05x}cd",
                     "info")
            for i in range(n)]


def by_stream_from_select(store: LogStore, sel: StreamSelection) -> dict:
    out: dict = defaultdict(list)
    for e in store.select(sel):
        if all(n in e.line for n in sel.needles):  # select may return extra lines
            out[e.labels].append((e.ts_ns, len(e.line.encode("utf-8", "surrogatepass"))))
    return {k: sorted(v) for k, v in out.items()}


def by_stream_from_columns(store: LogStore, sel: StreamSelection) -> dict:
    out: dict = defaultdict(list)
    for block in store.select_columns(sel):
        assert block.ts_ns.dtype == np.int64 and block.line_bytes.dtype == np.int64
        assert block.stream.dtype == np.int32
        assert len(block.ts_ns) == len(block.stream) == len(block.line_bytes)
        for ts, s, nbytes in zip(block.ts_ns.tolist(), block.stream.tolist(),
                                 block.line_bytes.tolist(), strict=True):
            out[block.streams[s]].append((ts, nbytes))
    return {k: sorted(v) for k, v in out.items()}


@pytest.fixture
def store(tmp_path):
    s = LogStore.open(str(tmp_path / "logs"), Options(chunk_bytes=5000))
    written = entries(570)
    for i in range(0, 570, 50):  # the last 120 lines stay in the head
        s.append(written[i:i + 50])
    assert s.stats().chunks > 2 and s.stats().head_entries > 0  # both are read
    yield s
    s.close()


@pytest.mark.parametrize("needles", [(), ("timeout",), ("zürich", "u3 "), ("b0012",),
                                     ("\udcff",), ("no such text",), ("cd\nrequest",)])
@pytest.mark.parametrize("window", [(0, 1 << 62), (T0 + 20 * S, T0 + 90 * S), (T0, T0 + 1)])
def test_columns_equal_select(store, needles, window):
    sel = StreamSelection((), window[0], window[1], needles)
    expected = by_stream_from_select(store, sel)
    assert by_stream_from_columns(store, sel) == expected
    if not needles and window[1] > T0 + 1:
        assert sum(map(len, expected.values())) > 50  # the case is not empty


def test_columns_with_matchers_and_after_reopen(tmp_path, store):
    sel = StreamSelection((Matcher.equal("app", "db"),), 0, 1 << 62, ("user=u1",))
    expected = by_stream_from_select(store, sel)
    assert set(expected) == {Labels.of(app="db", env="prod")}
    assert by_stream_from_columns(store, sel) == expected
    store.flush()
    assert store.stats().head_entries == 0
    assert by_stream_from_columns(store, sel) == expected
    none = StreamSelection((Matcher.equal("app", "nope"),), 0, 1 << 62)
    assert list(store.select_columns(none)) == []
