"""The in-process runner: each script's data in a real :class:`vigil.tsdb.DB` in a temporary
directory, queried through :class:`vigil.promql.engine.Engine`.

``load`` appends through the DB's appender (the i-th value of a series at ``i * step``
from the epoch); ``clear`` closes the DB and opens a fresh one. Before an eval runs it is
classified (:mod:`vigil.promqltest.classify`); unsupported cases are recorded with their
reason and not run. Every other case passes or fails.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from vigil.errors import VigilError
from vigil.model.features import ALL_FEATURES
from vigil.promql.engine import Engine
from vigil.promqltest.cases import Backend, QueryFailed, run_case
from vigil.promqltest.classify import DataState, unsupported_reason
from vigil.promqltest.compare import Answer
from vigil.promqltest.report import FileReport
from vigil.promqltest.script import Clear, EvalCase, Load, parse_script
from vigil.tsdb import DB

__all__ = ["EngineBackend", "run_file"]

# Later loads may add samples before earlier ones; the store must take them all.
_OUT_OF_ORDER_WINDOW_MS = 1000 * 365 * 86400_000


class EngineBackend:
    """Queries answered by the engine in this process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def instant(self, query: str, ts_ms: int) -> Answer:
        try:
            r = self.engine.instant_query(query, ts_ms)
        except VigilError as e:
            raise QueryFailed(str(e)) from None
        return Answer(r.value, r.warnings, r.infos)

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> Answer:
        try:
            r = self.engine.range_query(query, start_ms, end_ms, step_ms)
        except VigilError as e:
            raise QueryFailed(str(e)) from None
        return Answer(r.value, r.warnings, r.infos)


class _Store:
    """The DB of the current data state; a fresh directory after each ``clear``."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.generation = 0
        self.db: DB | None = None

    def open(self) -> DB:
        if self.db is None:
            self.generation += 1
            self.db = DB.open(Path(self.root) / f"db{self.generation}", wal_fsync="off",
                              compact_interval_s=3600.0, apply_retention=False,
                              out_of_order_window_ms=_OUT_OF_ORDER_WINDOW_MS)
        return self.db

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def run_file(path: str | Path) -> FileReport:
    """Run every eval of one ``.test`` file against the engine over a real TSDB."""
    script = parse_script(path)
    report = FileReport(script.name)
    state = DataState()
    with tempfile.TemporaryDirectory(prefix="promqltest-") as root:
        store = _Store(root)
        try:
            for cmd in script.commands:
                if isinstance(cmd, Clear):
                    store.close()
                    state = DataState()
                elif isinstance(cmd, Load):
                    state.add(cmd)
                    _append(store.open(), cmd)
                elif isinstance(cmd, EvalCase):
                    _eval(report, state, EngineBackend(_engine(store.open())), cmd)
        finally:
            store.close()
    return report


def _engine(db: DB) -> Engine:
    return Engine(db, features=ALL_FEATURES, max_samples=50_000_000)


def _append(db: DB, load: Load) -> None:
    app = db.appender()
    for line in load.effective():
        if line.histogram or line.start_timestamps:
            continue
        for k, v in enumerate(line.values):
            if v is not None:
                app.append(line.labels, k * load.step_ms, v)
    app.commit()


def _eval(report: FileReport, state: DataState, backend: Backend, case: EvalCase) -> None:
    reason = unsupported_reason(case, state)
    if reason is not None:
        report.unsupported(case.identity, reason)
        return
    try:
        err = run_case(backend, case)
    except Exception as e:  # noqa: BLE001 - a crash is one failed case, not a failed run
        err = f"crash: {type(e).__name__}: {e}"
    if err is None:
        report.passed(case.identity)
    else:
        report.failed(case.identity, case.expr, err)
