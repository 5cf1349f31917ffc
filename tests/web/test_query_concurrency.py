"""API queries run on the query gate's threads (query.max_concurrency), never on the event
loop: the server answers other requests while a query runs, and with a limit of one two
queries take turns (the second waits, counted in vigil_engine_queries).

The queries run through the real API and engine over a real TSDB; the storage is wrapped
so that a query selecting ``held_*`` stops inside its select until the test lets it go,
which makes "still running" an observable state instead of a timing guess.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence

import httpx
import pytest

from tests.web.fakes import FakeRules, FakeTargets, parse_selector
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.promql import Engine
from vigil.selfmetrics import SelfMetrics
from vigil.storage import Querier
from vigil.tsdb import DB
from vigil.web import WebDeps, create_app
from vigil.web.query_gate import QueryGate

NOW_MS = 1_700_000_000_000
SAFETY_RELEASE_S = 20.0  # lets a wrongly blocked loop go, so a failure fails instead of hanging


class HeldStorage:
    """The real TSDB, but a select of metric ``held_<key>`` records ``enter <key>``, waits
    until ``release(key)``, then records ``exit <key>``."""

    def __init__(self, db: DB) -> None:
        self.db = db
        self.log: list[str] = []
        self.entered: dict[str, threading.Event] = {}
        self.gates: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        for key in ("a", "b"):
            self.entered[key] = threading.Event()
            self.gates[key] = threading.Event()
            safety = threading.Timer(SAFETY_RELEASE_S, self.gates[key].set)
            safety.daemon = True
            safety.start()

    def release(self, key: str) -> None:
        self.gates[key].set()

    def querier(self, mint_ms: int, maxt_ms: int) -> Querier:
        return _HeldQuerier(self, self.db.querier(mint_ms, maxt_ms))


class _HeldQuerier:
    def __init__(self, storage: HeldStorage, inner: Querier) -> None:
        self.storage = storage
        self.inner = inner

    def select(self, matchers: Sequence[Matcher]):
        name = next((m.value for m in matchers if m.name == "__name__"), "")
        key = name.removeprefix("held_") if name.startswith("held_") else None
        s = self.storage
        if key is not None:
            with s._lock:
                s.log.append(f"enter {key}")
            s.entered[key].set()
            s.gates[key].wait()
        found = self.inner.select(matchers)
        if key is not None:
            with s._lock:
                s.log.append(f"exit {key}")
        return found

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return self.inner.label_names(matchers)

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return self.inner.label_values(name, matchers)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DB]:
    db = DB.open(tmp_path_factory.mktemp("tsdb"), wal_fsync="off")
    app = db.appender()
    for name, value in (("held_a", 1.0), ("held_b", 2.0)):
        for i in range(5):
            app.append(Labels({"__name__": name, "job": "x"}), NOW_MS - 60_000 + i * 15_000,
                       value)
    app.commit()
    yield db
    db.close()


def _app(storage: HeldStorage, metrics: SelfMetrics, gate: QueryGate):
    engine = Engine(storage)
    return create_app(WebDeps(
        engine=engine, targets=FakeTargets([]), rules=FakeRules([]), storage=storage,
        metrics=metrics, parse_matchers=parse_selector, version="0.1.0",
        config_yaml=lambda: "", now=lambda: NOW_MS / 1000, query_gate=gate))


def _query(client: httpx.AsyncClient, expr: str, **params: str):
    return client.get("/api/v1/query", params={"query": expr, "time": str(NOW_MS / 1000),
                                               **params})


async def _until(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, SAFETY_RELEASE_S), "the query never started"


async def _until_in_flight(gate: QueryGate, n: int) -> None:
    for _ in range(4000):  # the request reaches the gate after parsing its form
        if gate.in_flight == n:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{gate.in_flight} queries in flight, expected {n}")


def _gauge(metrics: SelfMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


def test_event_loop_answers_while_a_query_runs(db: DB) -> None:
    storage, metrics = HeldStorage(db), SelfMetrics()
    gate = QueryGate(4, registry=metrics.registry)
    done: list[str] = []

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=_app(storage, metrics, gate))
        async with httpx.AsyncClient(transport=transport, base_url="http://vigil") as client:
            async def tracked(label: str, request) -> httpx.Response:
                response = await request
                done.append(label)
                return response

            slow = asyncio.create_task(tracked("query", _query(client, "sum(held_a)")))
            await _until(storage.entered["a"])
            build = await tracked("buildinfo", client.get("/api/v1/status/buildinfo"))
            healthy = await tracked("healthy", client.get("/-/healthy"))
            assert _gauge(metrics, "vigil_engine_queries") == 1  # still running
            storage.release("a")
            return await slow, build, healthy

    slow, build, healthy = asyncio.run(scenario())
    assert done == ["buildinfo", "healthy", "query"]
    assert build.status_code == 200 and build.json()["data"]["version"] == "0.1.0"
    assert healthy.status_code == 200
    assert slow.json()["data"]["result"][0]["value"][1] == "1"
    assert _gauge(metrics, "vigil_engine_queries") == 0


@pytest.mark.parametrize("limit", [1, 2])
def test_max_concurrency_bounds_queries_running_at_once(db: DB, limit: int) -> None:
    storage, metrics = HeldStorage(db), SelfMetrics()
    gate = QueryGate(limit, registry=metrics.registry)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=_app(storage, metrics, gate))
        async with httpx.AsyncClient(transport=transport, base_url="http://vigil") as client:
            first = asyncio.create_task(_query(client, "sum(held_a)"))
            await _until(storage.entered["a"])
            second = asyncio.create_task(_query(client, "sum(held_b)"))
            await _until_in_flight(gate, 2)
            assert _gauge(metrics, "vigil_engine_queries") == 2  # running or waiting
            if limit == 2:
                await _until(storage.entered["b"])  # both run at once
                storage.release("b")
                storage.release("a")
            else:
                assert not storage.entered["b"].is_set()  # waits for a free thread
                storage.release("a")
                await _until(storage.entered["b"])
                storage.release("b")
            return [await first, await second]

    first, second = asyncio.run(scenario())
    if limit == 1:
        assert storage.log == ["enter a", "exit a", "enter b", "exit b"]
    else:
        assert storage.log[:2] == ["enter a", "enter b"]
    assert [r.json()["data"]["result"][0]["value"][1] for r in (first, second)] == ["1", "2"]
    assert _gauge(metrics, "vigil_engine_queries") == 0
    assert _gauge(metrics, "vigil_engine_queries_concurrent_max") == limit


def test_a_query_whose_time_runs_out_in_line_never_runs(db: DB) -> None:
    storage, metrics = HeldStorage(db), SelfMetrics()
    gate = QueryGate(1, registry=metrics.registry)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=_app(storage, metrics, gate))
        async with httpx.AsyncClient(transport=transport, base_url="http://vigil") as client:
            first = asyncio.create_task(_query(client, "sum(held_a)"))
            await _until(storage.entered["a"])
            # The only thread is busy: this one waits in line until its 50 ms run out.
            second = await _query(client, "sum(held_b)", timeout="50ms")
            storage.release("a")
            return await first, second

    first, second = asyncio.run(scenario())
    assert second.status_code == 503
    assert second.json() == {"status": "error", "errorType": "timeout",
                             "error": "query timed out in query queue"}
    assert first.json()["status"] == "success"
    assert storage.log == ["enter a", "exit a"]  # b never ran
    assert not storage.entered["b"].is_set()
    assert _gauge(metrics, "vigil_engine_queries") == 0


def test_gate_limits_and_default() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        QueryGate(0)
    gate = QueryGate()
    assert (gate.max_concurrency, gate.timeout_s) == (20, 120.0)  # Prometheus's defaults
    assert asyncio.run(gate.query(lambda: 6 * 7)) == 42
