"""Scheduled reports: each ``reports.schedules`` entry's cron, read in its time zone, runs its
report once per occurrence, on the primary, whatever the number of replicas and restarts.

Once per occurrence, three ways:

* the occurrence is claimed in the database before it is run
  (:meth:`CoordinationStore.run_once_claim`, key ``report-schedule:<report|cron|tz>@<UTC>``),
  so two replicas (or a primary change in the middle) do not run it together; a claim held
  by a replica that died is taken over;
* the archived run carries the occurrence's key, unique: an occurrence archived by an
  attempt that crashed before marking the claim done is not run again, only marked done;
* its e-mails are queued in the same transaction as the archive (:mod:`vigil.reports.mail`).

Catching up: at every tick the newest occurrence at or before now (the database's clock) that
is not done is run, so an occurrence missed while Vigil was down runs at the next start; only
the newest (a week down does not send seven daily reports), and not occurrences from before
the schedule was first seen (a new schedule waits for its first occurrence).
``catch_up: false`` runs an occurrence only within ``grace_s`` of its time. A failing run is
tried :data:`MAX_ATTEMPTS` times in all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

from vigil.config.model import Config
from vigil.config.reports import ReportSchedule, ReportsConfig
from vigil.reports.runner import ReportRunner
from vigil.state.coordination import CoordinationStore

__all__ = ["ReportScheduler", "check_report_schedules", "latest_occurrence"]

log = logging.getLogger(__name__)

# A scheduled run that fails is tried again at the next ticks, this many times in all; then
# the occurrence is given up (the archive keeps the failed run and why).
MAX_ATTEMPTS = 3


def latest_occurrence(cron: str, tz_name: str, now: datetime) -> datetime:
    """The newest time at or before ``now`` that ``cron`` names on the clock of ``tz_name``
    (UTC). Daylight-saving changes follow croniter: a 02:30 that does not exist that day is
    skipped, one that exists twice runs once."""
    local = now.astimezone(ZoneInfo(tz_name))
    itr = croniter(cron, local + timedelta(seconds=1))  # "at or before": include now itself
    return itr.get_prev(datetime).astimezone(timezone.utc)


def check_report_schedules(config: Config, report_names: Mapping[str, object] | list[str],
                           has_smtp: bool) -> tuple[tuple[str | int, ...], str] | None:
    """A problem of ``reports.schedules`` the config layer cannot see (path, message): a
    report that does not exist, or e-mail without SMTP settings to send it with."""
    known = sorted(report_names)
    for i, s in enumerate(config.reports.schedules):
        if s.report not in known:
            return (("reports", "schedules", i, "report"),
                    f"no report {s.report!r}; the reports are {', '.join(known) or 'none'}")
        if s.email and not has_smtp:
            return (("reports", "schedules", i, "email"),
                    "e-mail needs SMTP settings: set reports.smtp, or a receiver with email_configs")
    return None


class ReportScheduler:
    """Runs the schedules' due occurrences (:meth:`tick`), on the primary (:meth:`run`)."""

    def __init__(self, runner: ReportRunner, coordination: CoordinationStore, config: Callable[[], ReportsConfig], *,
                 member_id: str, member_timeout_s: float, is_primary: Callable[[], bool] = lambda: True,
                 poll_s: float = 15.0, grace_s: float = 300.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.runner = runner
        self.coordination = coordination
        self.config = config
        self.member_id = member_id
        self.member_timeout_s = member_timeout_s
        self.is_primary = is_primary
        self.poll_s = poll_s
        self.grace_s = grace_s
        self.clock = clock or coordination.db_now  # decisions use the database's clock

    def _first_seen(self, schedule_key: str, now: datetime) -> datetime:
        """When this schedule was first seen (recorded once, in the database)."""
        key = f"report-schedule-seen:{schedule_key}"
        if self.coordination.run_once_claim(key, self.member_id, member_timeout_s=self.member_timeout_s,
                                            detail={"since": now.isoformat()}):
            self.coordination.run_once_done(key, self.member_id)
        record = self.coordination.run_once_get(key)
        return datetime.fromisoformat(record["detail"]["since"]) if record else now

    def due(self, now: datetime) -> list[tuple[ReportSchedule, str, datetime]]:
        """(schedule, occurrence key, occurrence) of every schedule whose newest occurrence
        may need running at ``now``."""
        cfg = self.config()
        out = []
        for s in cfg.schedules:
            tz = s.timezone or cfg.timezone
            occurrence = latest_occurrence(s.cron, tz, now)
            schedule_key = s.key(cfg.timezone)
            if occurrence < self._first_seen(schedule_key, now):
                continue
            if not s.catch_up and now - occurrence > timedelta(seconds=self.grace_s):
                continue
            out.append((s, f"report-schedule:{schedule_key}@{occurrence.isoformat()}", occurrence))
        return out

    def tick(self) -> list[str]:
        """Run what is due now (blocking: reports run in this thread); the ids of the runs made."""
        now = self.clock()
        store = self.runner.store
        store.fail_abandoned(self.member_timeout_s)
        keep = self.config().keep
        if keep > 0:
            store.delete_before(now - timedelta(seconds=keep))
        made = []
        cfg = self.config()
        for schedule, key, occurrence in self.due(now):
            record = self.coordination.run_once_get(key)
            if record is not None and record["done_at"] is not None:
                continue
            attempts = int((record or {"detail": {}})["detail"].get("attempts", 0)) + 1
            if not self.coordination.run_once_claim(key, self.member_id, member_timeout_s=self.member_timeout_s,
                                                    detail={"report": schedule.report, "attempts": attempts}):
                continue  # another live replica is running it
            archived = store.by_occurrence(key)
            if archived is None or archived.status != "done":
                tz = schedule.timezone or cfg.timezone
                log.info("running report %s for %s (%s %s)", schedule.report, occurrence.isoformat(), schedule.cron, tz)
                run_id = self.runner.run(schedule.report, occurrence, trigger="schedule",
                                         triggered_by=f"schedule {schedule.cron} {tz}", timezone=tz,
                                         occurrence_key=key, email_to=schedule.email, attach=schedule.formats)
                made.append(run_id)
                if store.get(run_id).status != "done" and attempts < MAX_ATTEMPTS:
                    continue  # failed: the claim stays open and the next tick tries again
            self.coordination.run_once_done(key, self.member_id)
        return made

    async def run(self) -> None:
        while True:
            if self.is_primary():
                try:
                    await asyncio.to_thread(self.tick)
                except Exception:
                    log.exception("report schedules: the tick failed; retrying in %.0f s", self.poll_s)
            await asyncio.sleep(self.poll_s)
