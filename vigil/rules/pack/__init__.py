"""The runbook rule pack shipped with Vigil (R3), loaded by default.

Priority mapping used throughout the pack (from the runbook's "Alert Severity Levels" table:
P1 Critical / immediate, P2 High / 15 min, P3 Medium / 1 h, P4 Low / 4 h):

- ``severity: critical`` on a resource threshold (performance degraded, outage near) -> P2
- ``severity: warning`` (the runbook's own P3 example is "Disk space warning") -> P3
- P1 is kept for outages and data loss (service down, backups failed) in later parts;
  P4 for trends and optimisation hints.
"""

from __future__ import annotations

from importlib import resources

PACK_FILES = ("infrastructure.yml",)


def default_rule_files() -> list[str]:
    """Paths of the shipped rule files, for :func:`vigil.rules.load_rule_files`."""
    root = resources.files(__name__)
    return [str(root / name) for name in PACK_FILES]
