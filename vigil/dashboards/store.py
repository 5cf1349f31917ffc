"""Dashboard files on disk: the configured folders, then Vigil's shipped dashboards.

Every call reads the folders again (a parsed file is kept only while its modification time
and size are unchanged), so a file edited on disk, by hand or by ``git pull``, shows on the
next request without a reload, on every replica that sees the folder.

Names: a dashboard is known by ``metadata.name``. The first folder that has a name wins over
later folders, and any folder wins over a shipped dashboard; the ones hidden that way are not
listed. Saving writes YAML into the *first* folder, atomically (a temporary file in the same
folder renamed over the target), to the file that already holds the dashboard there, else to
``NAME.yaml``. A shipped dashboard, or one from a later folder, is therefore saved as a copy
in the first folder, which then wins by name; the original file is never written. Files that
do not hold a valid dashboard are skipped and reported by :meth:`DashboardStore.problems`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from vigil.config.loader import resolve_path
from vigil.config.model import Config
from vigil.config.yamlmarks import Marks
from vigil.dashboards.lint import LintError, lint_data, load_document
from vigil.dashboards.model import Dashboard, dump_dashboard, parse_dashboard
from vigil.errors import ConfigError

__all__ = ["SHIPPED_DIR", "DashboardEntry", "DashboardError", "DashboardSettings", "DashboardStore",
           "dashboard_yaml", "settings_from_config"]

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).with_name("shipped")
_SUFFIXES = (".yaml", ".yml", ".json")
Source = Literal["folder", "shipped"]


@dataclass(frozen=True)
class DashboardSettings:
    folders: tuple[Path, ...] = ()
    shipped: Path | None = SHIPPED_DIR
    scrape_interval: float = 15.0  # seconds: the floor of steps and of $__rate_interval


def settings_from_config(config: Config) -> DashboardSettings:
    """The ``dashboards:`` section with its folders made absolute (relative to the config)."""
    section = config.dashboards
    return DashboardSettings(
        folders=tuple(Path(resolve_path(config, f)) for f in section.folders),
        shipped=SHIPPED_DIR if section.shipped else None,
        scrape_interval=config.global_.scrape_interval)


class DashboardError(Exception):
    """A refused request: ``kind`` is not_found, conflict or invalid (with ``errors``)."""

    def __init__(self, message: str, kind: str, errors: list[LintError] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.errors = errors or []


@dataclass(frozen=True)
class DashboardEntry:
    dashboard: Dashboard
    source: Source
    file: str
    editable: bool

    @property
    def name(self) -> str:
        return self.dashboard.name

    def summary(self) -> dict[str, Any]:
        d = self.dashboard
        return {"name": d.name, "project": d.metadata.project, "title": d.title,
                "description": d.description, "source": self.source, "file": self.file,
                "editable": self.editable}


@dataclass
class _Parsed:
    stamp: tuple[int, int, int, int]
    dashboard: Dashboard | None
    problem: str | None


@dataclass
class DashboardStore:
    """The dashboards of the folders ``settings()`` names (re-read on every call)."""

    settings: Callable[[], DashboardSettings]
    _cache: dict[Path, _Parsed] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _read(self, path: Path) -> _Parsed | None:
        try:
            st = path.stat()
        except OSError:
            return None
        # A rename (our own saves, editors, git) makes a new inode even within one mtime tick.
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        parsed = _Parsed(stamp, None, None)
        try:
            data, _ = load_document(path.read_text(encoding="utf-8"), str(path),
                                    json_only=path.suffix == ".json")
            parsed.dashboard = parse_dashboard(data)
        except ConfigError as exc:
            parsed.problem = str(exc)
        except (OSError, UnicodeDecodeError) as exc:
            parsed.problem = f"{path}: cannot read: {exc}"
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            parsed.problem = f"{path}: not a dashboard: {where}: {first['msg']}"
        if parsed.problem and (cached is None or cached.problem != parsed.problem):
            log.warning("dashboard file skipped: %s", parsed.problem)
        with self._lock:
            self._cache[path] = parsed
        return parsed

    @staticmethod
    def _files(folder: Path) -> Iterator[Path]:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return
        for name in names:
            if not name.startswith(".") and name.endswith(_SUFFIXES) and (folder / name).is_file():
                yield folder / name

    def _scan(self) -> tuple[dict[str, DashboardEntry], list[str]]:
        settings = self.settings()
        editable = bool(settings.folders)
        found: dict[str, DashboardEntry] = {}
        problems: list[str] = []
        sources: list[tuple[Path, Source]] = [(f, "folder") for f in settings.folders]
        if settings.shipped is not None:
            sources.append((settings.shipped, "shipped"))
        for folder, source in sources:
            for path in self._files(folder):
                parsed = self._read(path)
                if parsed is None:
                    continue
                if parsed.dashboard is None:
                    problems.append(parsed.problem or str(path))
                    continue
                name = parsed.dashboard.name
                if name in found:
                    if found[name].file != str(path) and Path(found[name].file).parent == folder:
                        problems.append(f"{path}: dashboard {name!r} is also in {found[name].file}")
                    continue
                found[name] = DashboardEntry(parsed.dashboard, source, str(path), editable)
        return found, problems

    def list(self) -> list[DashboardEntry]:
        """Every dashboard, by title."""
        found, _ = self._scan()
        return sorted(found.values(), key=lambda e: (e.dashboard.title.lower(), e.name))

    def problems(self) -> list[str]:
        """Files skipped because they hold no valid dashboard (or a name twice in a folder)."""
        return self._scan()[1]

    def get(self, name: str) -> DashboardEntry:
        entry = self._scan()[0].get(name)
        if entry is None:
            raise DashboardError(f"no dashboard named {name!r}", "not_found")
        return entry

    def find(self, name: str) -> DashboardEntry | None:
        return self._scan()[0].get(name)

    def validate(self, data: Any, marks: Marks | None = None) -> Dashboard:
        """``data`` as a dashboard, or :class:`DashboardError` (invalid) with every finding
        (with its line when ``marks`` say where the YAML had it)."""
        dashboard, errors = lint_data(data, marks)
        if errors or dashboard is None:
            raise DashboardError(f"the dashboard has {len(errors)} problem(s)", "invalid", errors)
        return dashboard

    def save(self, name: str, data: Any, marks: Marks | None = None
             ) -> tuple[DashboardEntry | None, DashboardEntry]:
        """Validate ``data`` and write it as dashboard ``name``; (before, after)."""
        settings = self.settings()
        if not settings.folders:
            raise DashboardError("no dashboards folder is configured (dashboards.folders), so "
                                 "dashboards cannot be saved", "conflict")
        dashboard = self.validate(data, marks)
        if dashboard.name != name:
            raise DashboardError(f"metadata.name is {dashboard.name!r} but the URL names {name!r}",
                                 "invalid", [LintError("metadata.name", "must match the URL")])
        folder = settings.folders[0]
        before = self.find(name)
        if before is not None and before.source == "folder" and Path(before.file).parent == folder:
            target = Path(before.file)
        else:
            target = folder / f"{name}.yaml"
            if target.exists():
                raise DashboardError(f"{target} exists and holds another (or an invalid) "
                                     "dashboard; rename or fix it first", "conflict")
        folder.mkdir(parents=True, exist_ok=True)
        text = (json.dumps(dump_dashboard(dashboard), indent=2) + "\n" if target.suffix == ".json"
                else dashboard_yaml(dashboard))
        _write_atomically(target, text)
        after = self.get(name)
        return before, after


def dashboard_yaml(dashboard: Dashboard) -> str:
    """The dashboard as a YAML document (keys in Perses's order, as given)."""
    # libyaml's emitter when PyYAML has it: an imported Node Exporter Full takes 1.4 s with
    # the pure-Python one.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(dump_dashboard(dashboard), Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def _write_atomically(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
