"""What the report machinery tests share: a state store, a runner over the tests' own
sample report, and a clock the tests move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.reports.sample import SampleDefinition
from vigil.reports.runner import ReportRunner
from vigil.state import Store
from vigil.state.report_store import ReportStore


@dataclass
class Ctx:
    """The context the sample report is built with (the shipped reports get ReportContext)."""

    progress: Callable[[str], None]
    timezone: str


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    store: Store
    reports: ReportStore
    definitions: dict[str, Any] = field(default_factory=lambda: {"sample": SampleDefinition()})
    enqueued: list[int] = field(default_factory=list)

    def runner(self, member_id: str = "replica-a", *, timezone: str = "Europe/Helsinki",
               pdf_timeout_s: float = 60.0) -> ReportRunner:
        return ReportRunner(self.reports, lambda: self.definitions, lambda progress, tz: Ctx(progress, tz),
                            member_id=member_id, default_timezone=lambda: timezone,
                            pdf_timeout_s=lambda: pdf_timeout_s, external_url="http://vigil.example:9090",
                            smtp_from=lambda: "vigil@example.org", on_enqueue=lambda: self.enqueued.append(1))


def harness(tmp_path: Path) -> Harness:
    store = Store.open_in(str(tmp_path / "state"))
    return Harness(store, ReportStore(store.engine))
