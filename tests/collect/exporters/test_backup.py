"""The backup freshness collector over files whose mtimes the test sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vigil.collect.exporters import BackupCollector, CollectorError
from vigil.config.model import BackupCollectorConfig

from .pages import values

NOW = 1_700_000_000.0


def backup(path: Path, name: str, size: int, mtime: float) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_bytes(b"x" * size)
    os.utime(path / name, (mtime, mtime))


def collect(path: Path, pattern: str = "*.sql.gz") -> dict[str, float]:
    config = BackupCollectorConfig(name="db-dumps", path=str(path), pattern=pattern)
    return values(BackupCollector(config, clock=lambda: NOW).collect())


def test_newest_matching_file(tmp_path: Path) -> None:
    backup(tmp_path, "monday.sql.gz", 100, NOW - 3 * 86400)
    backup(tmp_path, "tuesday.sql.gz", 250, NOW - 2 * 86400)
    backup(tmp_path, "notes.txt", 5, NOW - 60)  # newer, but not a backup
    (tmp_path / "dir.sql.gz").mkdir()  # matches, but is not a file
    v = collect(tmp_path)
    labels = '{collector="db-dumps"}'
    assert v[f"vigil_backup_files{labels}"] == 2
    assert v[f"vigil_backup_newest_timestamp_seconds{labels}"] == NOW - 2 * 86400
    assert v[f"vigil_backup_newest_age_seconds{labels}"] == 2 * 86400
    assert v[f"vigil_backup_newest_size_bytes{labels}"] == 250


def test_recursive_pattern(tmp_path: Path) -> None:
    backup(tmp_path / "2026" / "11", "a.sql.gz", 7, NOW - 100)
    backup(tmp_path, "b.sql.gz", 9, NOW - 200)
    v = collect(tmp_path, "**/*.sql.gz")
    assert v['vigil_backup_files{collector="db-dumps"}'] == 2
    assert v['vigil_backup_newest_size_bytes{collector="db-dumps"}'] == 7


def test_no_backups_yet(tmp_path: Path) -> None:
    v = collect(tmp_path)
    assert v == {'vigil_backup_files{collector="db-dumps"}': 0,
                 'vigil_collector_up{collector="db-dumps"}': 1}


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="no such directory"):
        collect(tmp_path / "gone")
