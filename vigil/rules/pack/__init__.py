"""The runbook rule pack shipped with Vigil (R3), loaded by default.

Every ``*.yml`` file in this directory is a Prometheus rule file (the unit tests of the
rules live in ``tests/`` beside them and are not rule files). Each alert carries
``severity`` and ``priority`` labels and ``summary``, ``description`` and ``runbook_url``
annotations; ``runbook_url`` points at ``/runbooks/<alertname>``, served by
:mod:`vigil.web.runbooks`.

Priority mapping (from the runbook's "Alert Severity Levels" table: P1 Critical /
immediate, P2 High / 15 min, P3 Medium / 1 h, P4 Low / 4 h), documented in docs/rules.md:

- P1: an outage or data at risk (``ServiceDown``, backups missing or too old), critical
- P2: ``severity: critical`` on a threshold (performance degraded, outage near)
- P3: ``severity: warning`` (the runbook's own P3 example is "Disk space warning")
- P4: ``severity: info`` advice and slow trends (scaling, weekly averages, leaks)
"""

from __future__ import annotations

from importlib import resources

PACK_FILES = ("infrastructure.yml", "kubernetes.yml", "network.yml", "database.yml",
              "application.yml", "pipeline.yml", "capacity.yml")


def default_rule_files() -> list[str]:
    """Paths of the shipped rule files, for :func:`vigil.rules.load_rule_files`."""
    root = resources.files(__name__)
    return [str(root / name) for name in PACK_FILES]


def pack_test_files() -> list[str]:
    """Paths of the pack's unit-test files (promtool format), for ``vigil rules test``."""
    root = resources.files(__name__) / "tests"
    return sorted(str(root / p.name) for p in root.iterdir() if p.name.endswith(".yml"))
