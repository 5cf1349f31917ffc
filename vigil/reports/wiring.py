"""The report machinery assembled for one running Vigil: the archive on the state database,
the runner (any replica runs what is asked for through the API, page or CLI), the service the
web layer uses, the scheduler (the primary runs the schedules) and the outbox integration of
report e-mails. :class:`vigil.app.App` calls :func:`wire_reports` with the registry of reports
and the context they are built with; everything is read from ``config()`` at each use, so a
reload changes schedules, time zone, SMTP settings and retention."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from vigil.alerting.notify.integration import Integration
from vigil.config.model import Config
from vigil.reports.mail import report_integrations, smtp_settings
from vigil.reports.runner import ContextFactory, ReportDefinitionLike, ReportRunner
from vigil.reports.schedule import ReportScheduler
from vigil.reports.service import ReportService
from vigil.state.coordination import CoordinationStore
from vigil.state.report_store import ReportStore

__all__ = ["Reports", "wire_reports"]


@dataclass
class Reports:
    store: ReportStore
    runner: ReportRunner
    service: ReportService
    scheduler: ReportScheduler
    config: Callable[[], Config]

    def integrations(self) -> dict[tuple[str, str], Integration]:
        """The outbox integration of report e-mails under the current config."""
        return report_integrations(self.config(), self.store)


def wire_reports(engine: Engine, coordination: CoordinationStore, config: Callable[[], Config],
                 definitions: Callable[[], Mapping[str, ReportDefinitionLike]], context: ContextFactory, *,
                 member_id: str, member_timeout_s: float, is_primary: Callable[[], bool],
                 external_url: str, on_enqueue: Callable[[], None]) -> Reports:
    store = ReportStore(engine)

    def smtp_from() -> str | None:
        smtp = smtp_settings(config())
        return None if smtp is None else smtp.from_

    runner = ReportRunner(store, definitions, context, member_id=member_id,
                          default_timezone=lambda: config().reports.timezone,
                          pdf_timeout_s=lambda: config().reports.pdf_timeout, external_url=external_url,
                          smtp_from=smtp_from, on_enqueue=on_enqueue)
    scheduler = ReportScheduler(runner, coordination, lambda: config().reports, member_id=member_id,
                                member_timeout_s=member_timeout_s, is_primary=is_primary)
    return Reports(store, runner, ReportService(runner, lambda: config().reports), scheduler, config)
