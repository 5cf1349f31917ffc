"""Scheduled reports: cron in a time zone, once per occurrence across replicas and restarts,
the newest missed occurrence caught up after a restart, and the e-mail with the PDF attached
delivered through the outbox to a real SMTP server (aiosmtpd) once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.alerting.test_email import Mailbox
from tests.reports.sample import SampleDefinition
from tests.reports.support import Clock, harness
from tests.support.ports import free_port
from vigil.alerting.notify.outbox import OutboxWorker
from vigil.config.loader import load_config_text
from vigil.config.model import Config
from vigil.reports.mail import report_integrations
from vigil.reports.schedule import ReportScheduler, check_report_schedules, latest_occurrence
from vigil.selfmetrics import SelfMetrics


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")


def config(extra: str = "", *, email: str = "") -> Config:
    return load_config_text(f"""
reports:
  timezone: Europe/Helsinki
  schedules:
    - report: sample
      cron: "30 8 * * *"
{email}{extra}""")


def test_latest_occurrence_reads_the_cron_in_its_time_zone() -> None:
    # 08:30 in Helsinki is 06:30 UTC in winter, 05:30 UTC in summer.
    assert latest_occurrence("30 8 * * *", "Europe/Helsinki", utc("2026-12-07T07:00:00")) == utc("2026-12-07T06:30:00")
    assert latest_occurrence("30 8 * * *", "Europe/Helsinki", utc("2026-12-07T06:30:00")) == utc("2026-12-07T06:30:00")
    assert latest_occurrence("30 8 * * *", "Europe/Helsinki", utc("2026-12-07T06:29:59")) == utc("2026-12-06T06:30:00")
    assert latest_occurrence("30 8 * * *", "Europe/Helsinki", utc("2026-07-01T06:00:00")) == utc("2026-07-01T05:30:00")
    assert latest_occurrence("0 9 * * MON", "UTC", utc("2026-12-10T12:00:00")) == utc("2026-12-07T09:00:00")


def scheduler(h, cfg: Config, clock: Clock, member: str) -> ReportScheduler:
    return ReportScheduler(h.runner(member), h.store, lambda: cfg.reports, member_id=member,
                           member_timeout_s=5.0, clock=clock)


def test_each_occurrence_runs_once_and_the_newest_missed_one_is_caught_up(tmp_path: Path) -> None:
    h = harness(tmp_path)
    cfg = config()
    clock = Clock(utc("2026-12-07T07:00:00"))
    a = scheduler(h, cfg, clock, "replica-a")
    # First seen after today's 08:30 (Helsinki): nothing before that is run.
    assert a.tick() == []
    clock.now = utc("2026-12-08T06:30:05")
    first = a.tick()
    assert len(first) == 1 and a.tick() == []
    run = h.reports.get(first[0])
    assert (run.trigger, run.triggered_by, run.at) == ("schedule", "schedule 30 8 * * * Europe/Helsinki",
                                                       utc("2026-12-08T06:30:00"))
    # Another replica ticking the same occurrence runs nothing.
    b = scheduler(h, cfg, clock, "replica-b")
    assert b.tick() == []
    # Down for three days: after the restart only the newest occurrence runs, once.
    clock.now = utc("2026-12-11T10:00:00")
    restarted = scheduler(h, cfg, clock, "replica-c")
    caught_up = restarted.tick()
    assert [h.reports.get(r).at for r in caught_up] == [utc("2026-12-11T06:30:00")]
    assert restarted.tick() == [] and b.tick() == []
    assert h.definitions["sample"].calls == [utc("2026-12-08T06:30:00"), utc("2026-12-11T06:30:00")]


def test_without_catch_up_a_missed_occurrence_is_skipped(tmp_path: Path) -> None:
    h = harness(tmp_path)
    cfg = config("      catch_up: false\n")
    clock = Clock(utc("2026-12-07T07:00:00"))
    s = scheduler(h, cfg, clock, "replica-a")
    assert s.tick() == []
    clock.now = utc("2026-12-08T09:00:00")  # 2.5 h after the occurrence
    assert s.tick() == []
    clock.now = utc("2026-12-09T06:31:00")  # within the grace
    assert len(s.tick()) == 1


def test_an_occurrence_archived_before_a_crash_is_not_run_again(tmp_path: Path) -> None:
    h = harness(tmp_path)
    cfg = config()
    clock = Clock(utc("2026-12-07T06:00:00"))
    s = scheduler(h, cfg, clock, "replica-a")
    s.tick()
    clock.now = utc("2026-12-07T06:31:00")
    (occurrence_key,) = [key for _, key, _ in s.due(clock.now)]
    # The crashed attempt archived the run but died before marking its claim done.
    h.runner("crashed").run("sample", utc("2026-12-07T06:30:00"), trigger="schedule", triggered_by="x",
                            occurrence_key=occurrence_key)
    assert s.tick() == []
    assert len(h.reports.runs()) == 1 and h.store.run_once_get(occurrence_key)["done_at"] is not None


def test_a_failing_scheduled_run_is_tried_three_times(tmp_path: Path) -> None:
    h = harness(tmp_path)

    class Broken(SampleDefinition):
        def build(self, ctx, at):
            self.calls.append(at)
            raise RuntimeError("database down")

    h.definitions["sample"] = Broken()
    clock = Clock(utc("2026-12-07T06:00:00"))
    s = scheduler(h, config(), clock, "replica-a")
    s.tick()
    clock.now = utc("2026-12-07T06:31:00")
    for _ in range(5):
        s.tick()
    assert len(h.definitions["sample"].calls) == 3
    (run,) = h.reports.runs()  # one row for the occurrence, its last attempt's error
    assert run.status == "failed" and run.error == "RuntimeError: database down"


@pytest.fixture
def smtp():
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port  # type: ignore[attr-defined]
    try:
        yield box
    finally:
        controller.stop()


def test_the_scheduled_report_is_mailed_once_with_the_pdf_attached(tmp_path: Path, smtp: Mailbox) -> None:
    h = harness(tmp_path)
    cfg = config(f"""  smtp:
    from: vigil@example.org
    smarthost: 127.0.0.1:{smtp.port}
    require_tls: false
""", email="      email: [ops@example.org, boss@example.org]\n      formats: [pdf, json]\n")
    assert check_report_schedules(cfg, ["sample"], has_smtp=True) is None
    clock = Clock(utc("2026-12-07T06:00:00"))
    s = scheduler(h, cfg, clock, "replica-a")
    s.tick()
    clock.now = utc("2026-12-07T06:30:10")
    (run_id,) = s.tick()
    assert h.enqueued == [1] and h.reports.pending_mail_count(run_id) == 1
    assert h.reports.get(run_id).emailed_to == ("boss@example.org", "ops@example.org")

    async def deliver(member: str) -> int:
        worker = OutboxWorker(h.store, report_integrations(cfg, h.reports), SelfMetrics(), member_id=member)
        async with httpx.AsyncClient() as client:
            return await worker.deliver_due(client)

    assert asyncio.run(deliver("replica-a")) == 1
    # A restart (another worker, the scheduler again) sends nothing more.
    assert asyncio.run(deliver("replica-b")) == 0
    assert scheduler(h, cfg, clock, "replica-b").tick() == []
    assert h.reports.pending_mail_count(run_id) == 0
    ((sender, rcpts, msg),) = smtp.messages
    assert sender == "vigil@example.org" and sorted(rcpts) == ["boss@example.org", "ops@example.org"]
    assert msg["Subject"] == "Sample health report: 2026-12-06 08:30 – 2026-12-07 08:30 (Europe/Helsinki)"
    assert f"report.{run_id}" in msg["Message-ID"]
    body = msg.get_body(("plain",)).get_content()
    assert f"http://vigil.example:9090/reports/runs/{run_id}/html" in body and "query up{job=\"db\"} failed" in body
    attachments = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
    assert sorted(attachments) == ["sample-2026-12-07.json", "sample-2026-12-07.pdf"]
    assert attachments["sample-2026-12-07.pdf"] == h.reports.content(run_id, "pdf")
    assert attachments["sample-2026-12-07.pdf"].startswith(b"%PDF-")


def test_schedules_are_checked_against_the_reports_and_smtp() -> None:
    cfg = config(email="      email: [ops@example.org]\n")
    assert check_report_schedules(cfg, ["daily"], has_smtp=True) == (
        ("reports", "schedules", 0, "report"), "no report 'sample'; the reports are daily")
    assert check_report_schedules(cfg, ["sample"], has_smtp=False) == (
        ("reports", "schedules", 0, "email"),
        "e-mail needs SMTP settings: set reports.smtp, or a receiver with email_configs")
    assert check_report_schedules(cfg, ["sample"], has_smtp=True) is None


def test_retention_forgets_old_runs(tmp_path: Path) -> None:
    h = harness(tmp_path)
    h.runner().run("sample", utc("2026-12-07T06:30:00"), trigger="api", triggered_by="alice")
    assert h.reports.delete_before(h.reports.now() - timedelta(days=1)) == 0
    assert h.reports.delete_before(h.reports.now() + timedelta(seconds=1)) == 1 and h.reports.runs() == []


def test_wired_reports_read_the_config_at_each_use(tmp_path: Path) -> None:
    from vigil.reports.wiring import wire_reports

    h = harness(tmp_path)
    current = {"config": config()}
    reports = wire_reports(h.store.engine, h.store, lambda: current["config"], lambda: h.definitions,
                           lambda progress, tz: type("Ctx", (), {"progress": staticmethod(progress)})(),
                           member_id="replica-a", member_timeout_s=5.0, is_primary=lambda: True,
                           external_url="", on_enqueue=lambda: None)
    assert reports.integrations() == {}  # no SMTP settings yet
    assert reports.service.catalogue()[0]["schedules"][0]["timezone"] == "Europe/Helsinki"
    current["config"] = load_config_text(
        "reports:\n  smtp: {from: r@example.org, smarthost: '127.0.0.1:25'}\n"
        "  schedules: [{report: sample, cron: '30 8 * * *'}]\n")
    assert list(reports.integrations()) == [("@reports", "email")]
    assert reports.service.catalogue()[0]["schedules"][0]["timezone"] == "UTC"
    run = reports.store.get(reports.runner.run("sample", utc("2026-12-07T06:30:00"), trigger="api", triggered_by="a"))
    assert run.timezone == "UTC" and run.status == "done"
