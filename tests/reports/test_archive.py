"""Running a report into the archive: the run is recorded before it is built, its progress
(sections done of total) is readable while it runs, and the HTML, JSON and PDF are kept;
a failing report or a missing Chromium is recorded, never hidden."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.reports.sample import SampleDefinition, sample_report
from tests.reports.support import harness
from vigil.state.report_store import ReportStoreError

AT = datetime.fromisoformat("2026-12-07T07:00:00+00:00")


def test_a_run_is_archived_in_every_format(tmp_path: Path) -> None:
    h = harness(tmp_path)
    seen: list[tuple[int, int, str, str]] = []
    runner = h.runner()

    class Watching(SampleDefinition):
        def build(self, ctx, at):  # reads the archive while the report is being built
            for title in ("Summary", "Trends", "Details"):
                ctx.progress(title)
                run = h.reports.runs()[0]
                seen.append((run.sections_done, run.sections_total, run.progress, run.status))
            return sample_report(at)

    h.definitions["sample"] = Watching()
    run_id = runner.run("sample", AT, trigger="api", triggered_by="alice")
    assert seen == [(1, 3, "Summary", "running"), (2, 3, "Trends", "running"), (3, 3, "Details", "running")]
    run = h.reports.get(run_id)
    assert (run.status, run.trigger, run.triggered_by, run.timezone) == ("done", "api", "alice", "Europe/Helsinki")
    assert run.title == "Sample health report" and run.at == AT
    assert run.period_start == datetime.fromisoformat("2026-12-06T07:00:00+00:00") and run.period_end == AT
    assert run.formats == ("html", "json", "pdf") and run.pdf_error == "" and run.finished_at is not None
    assert run.problems == ('query up{job="db"} failed: no such job',)
    assert b"<h1>Sample health report</h1>" in h.reports.content(run_id, "html")
    assert json.loads(h.reports.content(run_id, "json"))["name"] == "sample"
    assert h.reports.content(run_id, "pdf").startswith(b"%PDF-")
    assert [r.id for r in h.reports.runs(name="sample")] == [run_id] and h.reports.runs(name="daily") == []
    assert h.enqueued == []  # no e-mail asked for


def test_failures_are_recorded(tmp_path: Path) -> None:
    h = harness(tmp_path)

    class Broken(SampleDefinition):
        def build(self, ctx, at):
            ctx.progress("Summary")
            raise ZeroDivisionError("division by zero")

    h.definitions["broken"] = Broken()
    failed = h.reports.get(h.runner().run("broken", AT, trigger="cli", triggered_by="bob"))
    assert failed.status == "failed" and failed.error == "ZeroDivisionError: division by zero"
    assert failed.sections_done == 1 and failed.formats == ()
    with pytest.raises(ReportStoreError, match="has no HTML \\(the run is failed\\)"):
        h.reports.content(failed.id, "html")
    with pytest.raises(ReportStoreError, match="no report run 'nope'"):
        h.reports.get("nope")
    with pytest.raises(Exception, match="no report 'weekly'; the reports are broken, sample"):
        h.runner().run("weekly", AT, trigger="cli", triggered_by="bob")


def test_without_chromium_html_and_json_are_kept_and_the_pdf_says_why(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("vigil.reports.render.CHROMIUM", str(tmp_path / "no-chromium"))
    h = harness(tmp_path)
    run = h.reports.get(h.runner().run("sample", AT, trigger="api", triggered_by="alice"))
    assert run.status == "done" and run.formats == ("html", "json")
    assert "Chromium not found" in run.pdf_error
    with pytest.raises(ReportStoreError, match="has no PDF: cannot print the PDF: Chromium not found"):
        h.reports.content(run.id, "pdf")


def test_runs_of_a_replica_that_died_are_marked_failed(tmp_path: Path) -> None:
    h = harness(tmp_path)
    run_id = h.runner("gone").start("sample", AT, trigger="api", triggered_by="alice")
    assert h.reports.get(run_id).status == "running"
    assert h.reports.fail_abandoned(member_timeout_s=5.0) == 1  # "gone" has no heartbeat
    assert h.reports.get(run_id).status == "failed"
    assert "stopped before it was done" in h.reports.get(run_id).error


def test_an_occurrence_keeps_one_row_and_is_archived_once(tmp_path: Path) -> None:
    h = harness(tmp_path)
    runner = h.runner()
    key = "report-schedule:sample|30 8 * * *|UTC@2026-12-07T08:30:00+00:00"
    first = runner.start("sample", AT, trigger="schedule", triggered_by="schedule", occurrence_key=key)
    h.reports.fail(first, "the database went away")
    # A retry starts again in the same row...
    again = runner.start("sample", AT, trigger="schedule", triggered_by="schedule", occurrence_key=key)
    assert again == first and h.reports.get(first).status == "running" and h.reports.get(first).error == ""
    runner.execute(again)
    assert h.reports.by_occurrence(key).status == "done"
    # ...and once archived the occurrence is refused.
    with pytest.raises(ReportStoreError, match="is archived already") as refused:
        runner.start("sample", AT, trigger="schedule", triggered_by="schedule", occurrence_key=key)
    assert refused.value.kind == "conflict" and len(h.reports.runs()) == 1
