"""LogQL end to end over the real log store: entries appended to a LogStore (small chunks, so a
query spans several chunks, the head and the Bloom filters' skipping), then each query's answer
compared with the same query over the plain list of entries, and a few answers checked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.logs.logql.memreader import MemoryReader
from vigil.logs.logql import LogQLEngine
from vigil.logs.model import LogEntry
from vigil.logs.store import LogStore, Options
from vigil.model.labels import Labels
from vigil.promql.value import Vector

S = 1_000_000_000
T0 = 1_700_000_000 * S
SERVICES = ("api", "web", "auth")


def _entries() -> list[LogEntry]:
    out = []
    for i in range(600):
        service = SERVICES[i % 3]
        level = "error" if i % 7 == 0 else "info"
        status = 500 if i % 7 == 0 else 200
        line = (f'{{"level":"{level}","status":{status},"latency":"{(i % 50) * 10}ms",'
                f'"user":"u{i % 5}","msg":"request {i}"}}')
        if service == "auth":
            line = f'level={level} user=u{i % 5} msg="login {"failed" if i % 7 == 0 else "ok"}"'
        out.append(LogEntry(T0 + i * S, Labels.of(app=service, env="prod"), line))
    return out


@pytest.fixture
def engines(tmp_path: Path) -> tuple[LogQLEngine, LogQLEngine]:
    store = LogStore.open(str(tmp_path / "logs"), Options(chunk_bytes=4096))
    entries = _entries()
    for i in range(0, 590, 30):  # most entries in several chunks, the last ten in the head
        store.append(entries[i:min(i + 30, 590)])
    store.append(entries[590:])
    assert store.stats().chunks > 3 and store.stats().head_entries > 0
    return LogQLEngine(store), LogQLEngine(MemoryReader(entries))


LOG_QUERIES = [
    '{app="api"}',
    '{env="prod"} |= "error"',
    '{app=~"api|web"} |= "request 42" or "request 43"',
    '{app="api"} | json | status >= 500 | latency > 200ms',
    '{app="auth"} | logfmt | msg="login failed" | line_format "{{.user}} failed"',
    '{app="web"} |~ "u[34]" | json | keep user',
]
METRIC_QUERIES = [
    'sum by (app) (count_over_time({env="prod"} |= "error" [1m]))',
    'rate({app="api"}[30s])',
    'sum by (user) (count_over_time({app="auth"} | logfmt | msg="login failed" [10m]))',
    'quantile_over_time(0.9, {app="api"} | json | unwrap duration(latency) [5m]) by (app)',
    'topk(2, sum by (user) (bytes_over_time({app="web"} | json | keep user [10m])))',
]


@pytest.mark.parametrize("query", LOG_QUERIES)
def test_log_queries_agree_with_the_plain_list(engines: tuple[LogQLEngine, LogQLEngine],
                                               query: str) -> None:
    store, plain = engines
    for direction in ("backward", "forward"):
        got = store.select_logs(query, T0, T0 + 600 * S, limit=50, direction=direction)
        want = plain.select_logs(query, T0, T0 + 600 * S, limit=50, direction=direction)
        assert sorted((s.labels, s.entries) for s in got) == sorted(
            (s.labels, s.entries) for s in want)
        assert sum(len(s.entries) for s in got) > 0


@pytest.mark.parametrize("query", METRIC_QUERIES)
def test_metric_queries_agree_with_the_plain_list(engines: tuple[LogQLEngine, LogQLEngine],
                                                  query: str) -> None:
    store, plain = engines
    got = store.range(query, T0 + 60 * S, T0 + 600 * S, 60 * S)
    want = plain.range(query, T0 + 60 * S, T0 + 600 * S, 60 * S)
    assert [(s.labels, s.timestamps.tolist(), s.values.tolist()) for s in got.series] == [
        (s.labels, s.timestamps.tolist(), s.values.tolist()) for s in want.series]
    assert got.series


def test_errors_by_service_in_the_last_ten_minutes(engines: tuple[LogQLEngine, LogQLEngine]
                                                   ) -> None:
    store, _ = engines
    result = store.instant('sum by (app) (count_over_time({env="prod"} |= "error" [10m]))',
                           T0 + 599 * S)
    assert isinstance(result, Vector)
    # i in 0..599 with i % 7 == 0 is every 7th line: 86 of them; by service i % 3.
    counts = {s.labels.get("app"): s.value for s in result.samples}
    expected = {"api": 0, "web": 0, "auth": 0}
    for i in range(0, 600, 7):
        expected[SERVICES[i % 3]] += 1
    # auth lines say level=error, json lines "level":"error": both contain "error"
    assert counts == {k: float(v) for k, v in expected.items()}
