"""The automatic checks run once per shift across replicas and restarts (SQLite and
PostgreSQL): two replicas' loops passing at the same moment run the checks once between
them; later passes, and a restarted replica, find the claim done and do nothing; a replica
that is not primary does nothing at all."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.shifts.support import shifts_config
from tests.state.conftest import two_stores  # noqa: F401
from vigil.promql import Engine
from vigil.shifts.checks import CheckOutcome, ShiftChecker
from vigil.shifts.loop import ShiftLoop, claim_key
from vigil.shifts.service import ShiftService
from vigil.state import Store, schema
from vigil.state.lifecycle_store import LifecycleStore
from vigil.state.shift_store import ShiftStore
from vigil.tsdb import DB

CONFIG = shifts_config("{}\n")  # the runbook's three lists


class CountingChecker(ShiftChecker):
    """The real checker, counting its runs (shared by both replicas)."""

    runs: list[str] = []
    lock = threading.Lock()

    def run(self, kind: str, spec: dict[str, Any], at: datetime) -> CheckOutcome:
        with self.lock:
            self.runs.append(kind)
        return super().run(kind, spec, at)


def _member(store: Store, member_id: str) -> None:
    at = store.db_now()
    with store.engine.begin() as conn:
        conn.execute(insert(schema.cluster_members).values(
            id=member_id, name=member_id, url="", version="test", started_at=at, heartbeat_at=at,
            left_at=None, info={}))


def _loop(store: Store, db: DB, member_id: str, *, primary: bool = True) -> ShiftLoop:
    checker = CountingChecker(Engine(db), LifecycleStore(store.engine))
    service = ShiftService(ShiftStore(store.engine), config=lambda: CONFIG, checker=checker)
    return ShiftLoop(service, store, member_id=member_id, member_timeout_s=lambda: 30.0,
                     is_primary=lambda: primary)


def test_checks_run_once_per_shift_across_replicas(two_stores, tmp_path) -> None:  # noqa: F811
    a, b = two_stores
    CountingChecker.runs = []
    _member(a, "replica-a")
    _member(a, "replica-b")
    with DB.open(str(tmp_path / "tsdb")) as db:
        loops = [_loop(a, db, "replica-a"), _loop(b, db, "replica-b")]
        results: list[Any] = []
        barrier = threading.Barrier(2)

        def run(loop: ShiftLoop) -> None:
            barrier.wait()
            results.append(loop.pass_once())

        threads = [threading.Thread(target=run, args=(loop,)) for loop in loops]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ran = [r for r in results if r is not None]
        assert len(ran) == 1
        shift = ran[0]
        checks = [i for i in shift.items if i.kind == "check"]
        assert len(CountingChecker.runs) == len(checks) and checks
        assert all(i.by == "vigil" and i.evidence for i in checks)
        # Later passes and a restarted replica (a new loop, same member name) run nothing.
        assert loops[0].pass_once() is None and loops[1].pass_once() is None
        assert _loop(b, db, "replica-b").pass_once() is None
        assert len(CountingChecker.runs) == len(checks)
        record = a.run_once_get(claim_key(shift.id))
        assert record is not None and record["done_at"] is not None
        assert record["detail"]["checked"] == len(checks)
        # The shift was opened once, with its items once.
        assert [s.id for s in ShiftStore(a.engine).between(shift.starts_at - timedelta(days=1),
                                                           shift.ends_at)] == [shift.id]


def test_a_replica_that_is_not_primary_does_not_run(tmp_path) -> None:
    store = Store.open_in(str(tmp_path / "state"))
    CountingChecker.runs = []
    with DB.open(str(tmp_path / "tsdb")) as db:
        import asyncio

        loop = _loop(store, db, "replica-c", primary=False)
        loop.interval_s = 0.01

        async def briefly() -> None:
            task = asyncio.create_task(loop.run())
            await asyncio.sleep(0.1)
            task.cancel()

        asyncio.run(briefly())
    assert CountingChecker.runs == []
    assert ShiftStore(store.engine).latest_before(store.db_now() + timedelta(days=2)) is None
    store.close()
