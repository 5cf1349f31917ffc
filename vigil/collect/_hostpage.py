"""The page the host collector builds, and how its sections read ``/proc`` and ``/sys``.

:class:`PageWriter` accumulates metric families in the Prometheus text format 0.0.4, each
family written once with its HELP and TYPE. :class:`HostFiles` resolves paths under the
configured ``proc_path``, ``sys_path`` and the root file system they belong to (the parent of
``proc_path``: ``/`` for ``/proc``, ``/host`` for ``/host/proc``), so tests point every
section at a fixture tree. Shared by :mod:`vigil.collect.host` and its section modules.
"""

from __future__ import annotations

import math
import os

__all__ = ["HostFiles", "Labels", "PageWriter"]

Labels = dict[str, str]


def _fmt_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def _escape(v: str) -> str:
    if "\\" not in v and "\n" not in v and '"' not in v:
        return v  # the common case, about a thousand times per scrape
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class PageWriter:
    """Accumulates families in the text format; each family is written once, in order."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[str, str, list[tuple[Labels, float]]]] = {}

    def add(self, name: str, help_: str, type_: str, value: float,
            labels: Labels | None = None) -> None:
        fam = self.families.setdefault(name, (help_, type_, []))
        fam[2].append((labels or {}, float(value)))

    def merge(self, other: PageWriter) -> None:
        """Takes over ``other``'s families (a section's, once it succeeded)."""
        self.families.update(other.families)

    def render(self) -> str:
        out: list[str] = []
        for name, (help_, type_, samples) in self.families.items():
            out.append(f"# HELP {name} {help_.replace(chr(92), chr(92) * 2)}")
            out.append(f"# TYPE {name} {type_}")
            for labels, value in samples:
                if labels:
                    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
                    out.append(f"{name}{{{inner}}} {_fmt_value(value)}")
                else:
                    out.append(f"{name} {_fmt_value(value)}")
        return "\n".join(out) + "\n"


class HostFiles:
    """Reads files of the host: ``proc`` raises :class:`OSError` (a section that needs the
    file fails), ``sys``/``optional`` return None when the file is absent or unreadable
    (hardware or a kernel feature this host does not have is not a failure)."""

    def __init__(self, proc_path: str, sys_path: str) -> None:
        self.proc_path = proc_path
        self.sys_path = sys_path
        self.root_path = os.path.dirname(os.path.abspath(proc_path)) or "/"

    def proc(self, *parts: str) -> str:
        with open(os.path.join(self.proc_path, *parts), encoding="utf-8",
                  errors="replace") as f:
            return f.read()

    def optional(self, *parts: str) -> str | None:
        """A /proc file that exists only with some kernel feature (PSI, conntrack)."""
        try:
            return self.proc(*parts)
        except FileNotFoundError:
            return None

    def sys(self, *parts: str) -> str | None:
        """A sysfs file's stripped content, or None if it cannot be read (sysfs answers
        EINVAL for attributes a device does not support, e.g. the speed of a down link)."""
        try:
            with open(os.path.join(self.sys_path, *parts), encoding="utf-8") as f:
                return f.read().strip()
        except (OSError, UnicodeDecodeError):
            return None

    def sys_dir(self, *parts: str) -> list[str]:
        """Sorted entries of a sysfs directory; empty if it does not exist."""
        try:
            return sorted(os.listdir(os.path.join(self.sys_path, *parts)))
        except OSError:
            return []

    def root(self, *parts: str) -> str:
        with open(os.path.join(self.root_path, *parts), encoding="utf-8",
                  errors="replace") as f:
            return f.read()
