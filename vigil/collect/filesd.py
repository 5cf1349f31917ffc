"""File service discovery (``file_sd_configs``): target groups read from JSON/YAML files.

A file holds a list of groups ``{targets: [host:port, ...], labels: {name: value}}``. Each
group also gets ``__meta_filepath``. Files are matched by glob patterns; :meth:`FileSD.poll`
re-reads a file whose modification time or size changed. A file that does not parse keeps
the groups it had before (logged with the file and the reason), as Prometheus does.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import yaml

from vigil.model.labels import is_label_name

__all__ = ["FileSD", "TargetGroup", "parse_target_groups"]

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class TargetGroup:
    """Targets (``host:port``) sharing ``labels``; ``source`` names where they came from."""

    source: str
    targets: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict, hash=False)


def parse_target_groups(path: str, data: bytes) -> list[TargetGroup]:
    """The groups in one file's content; raises ``ValueError`` with the reason if malformed.
    ``.json`` files are JSON, everything else YAML."""
    try:
        if path.lower().endswith(".json"):
            doc = json.loads(data)
        else:
            doc = yaml.safe_load(data)
    except (ValueError, yaml.YAMLError) as e:
        # One line for the log: YAML's messages span several (problem, then position).
        raise ValueError(" ".join(str(e).split()) or type(e).__name__) from None
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise ValueError("expected a list of target groups")
    groups = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict) or set(item) - {"targets", "labels"}:
            raise ValueError(f"group {i}: expected only 'targets' and 'labels'")
        targets = item.get("targets") or []
        labels = item.get("labels") or {}
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ValueError(f"group {i}: targets must be a list of strings")
        if not isinstance(labels, dict):
            raise ValueError(f"group {i}: labels must be a map")
        for name, value in labels.items():
            if not isinstance(name, str) or not is_label_name(name):
                raise ValueError(f'group {i}: "{name}" is not a valid label name')
            if not isinstance(value, str):
                raise ValueError(f"group {i}: value of label {name!r} must be a string")
        groups.append(TargetGroup(source=f"{path}:{i}", targets=tuple(targets),
                                  labels={**labels, "__meta_filepath": path}))
    return groups


class FileSD:
    """The groups of every file matching ``patterns`` (absolute paths or globs).

    Not thread-safe; call from one task. ``poll`` is cheap when nothing changed (one
    ``stat`` per file).
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self._patterns = list(patterns)
        self._stamps: dict[str, tuple[int, int]] = {}
        self._groups: dict[str, list[TargetGroup]] = {}

    def groups(self) -> list[TargetGroup]:
        """Every group currently known, in file name order."""
        return [g for path in sorted(self._groups) for g in self._groups[path]]

    def poll(self) -> bool:
        """Re-read new and changed files, forget vanished ones. True if the groups changed."""
        paths = sorted({p for pat in self._patterns for p in glob.glob(pat)})
        changed = False
        for gone in set(self._groups) - set(paths):
            del self._groups[gone]
            self._stamps.pop(gone, None)
            changed = True
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                continue  # vanished between glob and stat: the next poll forgets it
            stamp = (st.st_mtime_ns, st.st_size)
            if self._stamps.get(path) == stamp:
                continue
            self._stamps[path] = stamp
            try:
                with open(path, "rb") as f:
                    groups = parse_target_groups(path, f.read())
            except (OSError, ValueError) as e:
                log.error("file_sd: %s: %s (keeping its previous targets)", path, e)
                continue
            if self._groups.get(path) != groups:
                self._groups[path] = groups
                changed = True
        return changed
