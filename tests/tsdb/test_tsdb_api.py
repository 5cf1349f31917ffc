"""The public surface of vigil.tsdb: exports, stats, self-metrics, closed-DB errors, layering."""

from __future__ import annotations

import ast
import pathlib
import time

import pytest

import vigil.tsdb
from vigil.errors import StorageError
from vigil.model import Labels
from vigil.selfmetrics import SelfMetrics
from vigil.tsdb import DB


def test_exported_members() -> None:
    assert sorted(vigil.tsdb.__all__) == ["DB", "DuplicateSampleForTimestamp"]
    for name in vigil.tsdb.__all__:
        assert getattr(vigil.tsdb, name).__doc__


def test_stats_and_self_metrics(tmp_path) -> None:
    metrics = SelfMetrics()
    db = DB.open(str(tmp_path / "d"), metrics=metrics, wal_fsync="always")
    app = db.appender()
    for k in range(3):
        app.append(Labels.of(job="t", k=str(k)), 1000, 1.0)
        app.append(Labels.of(job="t", k=str(k)), 2000, 2.0)
    app.commit()
    st = db.stats()
    assert (st["series"], st["samples"], st["blocks"]) == (3, 6, 0)
    assert st["head_min_time"] == 1000 and st["head_max_time"] == 2000
    wal_dir = tmp_path / "d" / "wal"
    assert st["wal_bytes"] == sum(f.stat().st_size for f in wal_dir.rglob("*") if f.is_file()) > 0
    reg = metrics.registry
    assert reg.get_sample_value("vigil_tsdb_head_samples_appended_total") == 6
    assert reg.get_sample_value("vigil_tsdb_head_series") == 3
    assert reg.get_sample_value("vigil_tsdb_wal_fsync_duration_seconds_count") >= 1
    db.close()


def test_closed_db_refuses_work(tmp_path) -> None:
    db = DB.open(str(tmp_path / "d"))
    app = db.appender()
    app.append(Labels.of(job="t"), 1, 1.0)
    db.close()
    db.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        db.appender()
    with pytest.raises(StorageError, match="closed"):
        app.commit()


def test_bad_fsync_policy_rejected(tmp_path) -> None:
    with pytest.raises(StorageError, match="wal_fsync"):
        DB.open(str(tmp_path / "d"), wal_fsync="sometimes")  # type: ignore[arg-type]


def test_tsdb_imports_nothing_above_storage() -> None:
    allowed = ("vigil.tsdb", "vigil.storage", "vigil.model", "vigil.errors", "vigil.selfmetrics")
    root = pathlib.Path(vigil.tsdb.__file__).parent
    for py in root.glob("*.py"):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vigil"):
                assert node.module.startswith(allowed), f"{py.name} imports {node.module}"
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("vigil"):
                        assert a.name.startswith(allowed), f"{py.name} imports {a.name}"


def test_batch_fsync_happens_in_background(tmp_path) -> None:
    metrics = SelfMetrics()
    db = DB.open(str(tmp_path / "d"), metrics=metrics, wal_fsync="batch", fsync_interval_s=0.02)
    app = db.appender()
    app.append(Labels.of(job="t"), 1, 1.0)
    app.commit()
    count = "vigil_tsdb_wal_fsync_duration_seconds_count"
    for _ in range(500):  # the timer thread syncs the idle, dirty WAL
        if metrics.registry.get_sample_value(count):
            break
        time.sleep(0.01)
    assert metrics.registry.get_sample_value(count) >= 1
    db.close()


def test_context_manager_closes(tmp_path) -> None:
    with DB.open(tmp_path / "d") as db:
        app = db.appender()
        app.append(Labels.of(job="t"), 1, 1.0)
        app.commit()
    with DB.open(tmp_path / "d") as db:  # lock released by the first close
        assert db.stats()["samples"] == 1
