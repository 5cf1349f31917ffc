"""Backup freshness (C9): the newest file matching a glob under a directory.

Series, each labelled ``collector`` with the configured name:
``vigil_backup_files`` (how many files match), and when at least one does,
``vigil_backup_newest_timestamp_seconds`` (its mtime, unix seconds),
``vigil_backup_newest_age_seconds`` (now minus that mtime, never below 0) and
``vigil_backup_newest_size_bytes``. A missing or unreadable directory raises
:class:`CollectorError` (the scrape then stores ``vigil_collector_up`` 0 and the target's
last error says why): a vanished backup mount must page someone, not look like "no
backups".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from vigil.collect.exporters._expfmt import CollectorError, Page
from vigil.config.model import BackupCollectorConfig

__all__ = ["BackupCollector"]


class BackupCollector:
    """Looks at one backup directory. ``clock`` returns unix seconds (injected by tests)."""

    def __init__(self, config: BackupCollectorConfig, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock

    def collect(self) -> str:
        cfg = self.config
        root = Path(cfg.path)
        if not root.is_dir():
            raise CollectorError(f"backup {cfg.name}: {cfg.path}: no such directory")
        if not os.access(root, os.R_OK | os.X_OK):
            raise CollectorError(f"backup {cfg.name}: {cfg.path}: permission denied")
        count, newest_mtime, newest_size = 0, None, 0
        for path in root.glob(cfg.pattern):
            try:
                st = path.stat()
            except OSError:
                continue  # removed while we looked (rotation): not a backup any more
            if not path.is_file():
                continue
            count += 1
            if newest_mtime is None or st.st_mtime > newest_mtime:
                newest_mtime, newest_size = st.st_mtime, st.st_size
        labels = {"collector": cfg.name}
        page = Page()
        page.sample("vigil_backup_files", count, labels,
                    help_text="Number of files matching the backup pattern")
        if newest_mtime is not None:
            page.sample("vigil_backup_newest_timestamp_seconds", newest_mtime, labels,
                        help_text="Modification time of the newest backup, unix seconds")
            page.sample("vigil_backup_newest_age_seconds",
                        max(0.0, self._clock() - newest_mtime), labels,
                        help_text="Seconds since the newest backup was modified")
            page.sample("vigil_backup_newest_size_bytes", newest_size, labels,
                        help_text="Size of the newest backup in bytes")
        page.sample("vigil_collector_up", 1, labels,
                    help_text="Whether the collector could collect")
        return page.text()
