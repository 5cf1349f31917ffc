"""Outcomes of a run: one per eval identity, and figures by file and by reason.

An outcome is ``pass``, ``fail`` or ``unsupported: <reason>``
(:func:`vigil.promqltest.classify.unsupported_reason`). Unsupported cases are not run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["FileReport", "by_reason", "figures"]


@dataclass
class FileReport:
    """One script's outcomes (identity -> outcome) and why each failure failed."""

    name: str
    outcomes: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def passed(self, identity: str) -> None:
        self.outcomes[identity] = "pass"

    def failed(self, identity: str, expr: str, why: str) -> None:
        self.outcomes[identity] = "fail"
        self.failures[identity] = f"{expr}: {why}"

    def unsupported(self, identity: str, reason: str) -> None:
        self.outcomes[identity] = f"unsupported: {reason}"

    def counts(self) -> dict[str, int]:
        c = Counter(o.split(":")[0] for o in self.outcomes.values())
        return {"pass": c["pass"], "fail": c["fail"], "unsupported": c["unsupported"]}


def figures(reports: list[FileReport]) -> dict[str, dict[str, int]]:
    """pass/fail/unsupported per file, plus a ``total`` row."""
    rows = {r.name: r.counts() for r in reports}
    rows["total"] = {k: sum(row[k] for row in list(rows.values())) for k in
                     ("pass", "fail", "unsupported")}
    return rows


def by_reason(reports: list[FileReport]) -> dict[str, int]:
    """How many cases each unsupported reason covers."""
    c: Counter[str] = Counter()
    for r in reports:
        for o in r.outcomes.values():
            if o.startswith("unsupported: "):
                c[o.removeprefix("unsupported: ")] += 1
    return dict(sorted(c.items()))
