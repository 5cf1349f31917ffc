"""Pushed metric groups, as the Prometheus Pushgateway keeps them (C10).

A batch job pushes text-format metrics to ``/metrics/job/<job>{/<label>/<value>}``; the
path's labels form the *grouping key*. ``PUT`` replaces the whole group, ``POST`` replaces
only the metric families it contains, ``DELETE`` removes the group. Every group gets a
``push_time_seconds`` gauge (unix seconds of the last successful push).

The groups are scraped like any other target: :meth:`PushGateway.target` is a
:class:`~vigil.collect.local.LocalTarget` with ``honor_labels`` (as a Prometheus scrape
config for a Pushgateway must have), so the pushed ``job`` label is the one stored.

Pushed samples get the grouping labels (the path wins over a label in the body); samples
with timestamps are refused, as the Pushgateway does. Groups are saved to one JSON file
(written to a temporary file and renamed, so a crash leaves the old or the new state) and
loaded on start, so a restart keeps them. Thread-safe.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable

from vigil.collect.exposition import parse
from vigil.collect.local import LocalTarget
from vigil.errors import ParseError
from vigil.model.labels import METRIC_NAME, Labels

__all__ = ["PushGateway"]

_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created", "_info", "_gcount", "_gsum")

# grouping key (sorted label pairs) -> {"families": {family: {"type","help","lines"}}, "push_time"}
Group = dict


class PushGateway:
    """Pushed groups persisted in ``path`` (a JSON file, created on first push).
    ``now`` returns unix seconds (injectable for tests)."""

    def __init__(self, path: str, *, now: Callable[[], float] = time.time) -> None:
        self.path = path
        self._now = now
        self._lock = threading.Lock()
        self._groups: dict[tuple[tuple[str, str], ...], Group] = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for g in json.load(f)["groups"]:
                    key = tuple((k, v) for k, v in g["grouping"])
                    self._groups[key] = {"families": g["families"], "push_time": g["push_time"]}

    def push(self, grouping: dict[str, str], body: bytes, content_type: str | None, *,
             replace: bool) -> None:
        """Store a push. Raises :class:`ParseError` (``line N: ...``) for a body that does
        not parse or has timestamps; the stored group is then unchanged."""
        result = parse(body, content_type)
        families: dict[str, dict] = {}
        for s in result.samples:
            if s.ts_ms is not None:
                raise ParseError(f"pushed metrics must not have timestamps: {s.labels}")
            name = s.labels.name
            fam = _family(name, result.metadata)
            meta = result.metadata.get(fam)
            entry = families.setdefault(fam, {"type": meta.type if meta else "",
                                              "help": meta.help if meta else "", "lines": []})
            labels = s.labels.merge(grouping)
            entry["lines"].append(f"{labels} {_fmt(s.value)}")
        key = tuple(sorted(grouping.items()))
        with self._lock:
            old = self._groups.get(key)
            if old is not None and not replace:
                families = {**old["families"], **families}
            self._groups[key] = {"families": families, "push_time": self._now()}
            self._save()

    def delete(self, grouping: dict[str, str]) -> bool:
        """Remove a group; True if it existed."""
        key = tuple(sorted(grouping.items()))
        with self._lock:
            found = self._groups.pop(key, None) is not None
            if found:
                self._save()
        return found

    def groups(self) -> list[dict[str, str]]:
        with self._lock:
            return [dict(k) for k in sorted(self._groups)]

    def collect(self) -> str:
        """All groups as Prometheus text format 0.0.4, families merged across groups."""
        with self._lock:
            groups = sorted(self._groups.items())
        merged: dict[str, dict] = {}
        for key, g in groups:
            for fam, entry in g["families"].items():
                m = merged.setdefault(fam, {"type": entry["type"], "help": entry["help"],
                                            "lines": []})
                m["lines"].extend(entry["lines"])
            push = merged.setdefault("push_time_seconds", {
                "type": "gauge", "help": "Last Unix time when changing this group in the "
                "Pushgateway succeeded.", "lines": []})
            push["lines"].append(f"{Labels(((METRIC_NAME, 'push_time_seconds'), *key))} "
                                 f"{_fmt(g['push_time'])}")
        out = []
        for fam in sorted(merged):
            m = merged[fam]
            if m["help"]:
                out.append(f"# HELP {fam} {m['help']}")
            if m["type"]:
                out.append(f"# TYPE {fam} {m['type']}")
            out.extend(m["lines"])
        return "\n".join(out) + "\n" if out else ""

    def target(self, instance: str, interval_s: float | None = None) -> LocalTarget:
        """The local scrape target exposing the pushed groups (job ``pushgateway``)."""
        return LocalTarget(job="pushgateway", instance=instance, collect=self.collect,
                           interval_s=interval_s, honor_labels=True)

    def _save(self) -> None:
        data = {"groups": [{"grouping": list(k), **g} for k, g in sorted(self._groups.items())]}
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def _family(name: str, metadata: dict) -> str:
    if name in metadata:
        return name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[:-len(suffix)] in metadata:
            return name[:-len(suffix)]
    return name


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)
