"""The log rule files shipped with Vigil (vigil/logs/shipped/): Loki ruler files whose
expressions are LogQL, loaded like ``logs.rule_files`` (``vigil.rules.load_rule_files`` with
``language=LOGQL`` and :func:`vigil.logs.rules.parse_rule_expr`).

* ``security.yml``: brute-force and failed logins, password spraying, invalid tokens, access
  denied, privilege escalation attempts, off-hours logins, large exports and secrets masked at
  ingest (alerts), and per-minute recording rules the Security dashboard charts.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["SHIPPED_LOG_RULE_FILES", "shipped_log_rule_files"]

SHIPPED_LOG_RULE_FILES = ("security.yml",)


def shipped_log_rule_files() -> list[str]:
    """Paths of the shipped log rule files, in load order."""
    root = resources.files("vigil.logs") / "shipped"
    return [str(root / name) for name in SHIPPED_LOG_RULE_FILES]
