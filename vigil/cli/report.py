"""``vigil report NAME``: run a report on a running Vigil, through its API
(:mod:`vigil.web.reports_api`), with a progress bar (sections done of total), and write it.

    vigil report daily [--at 2026-12-07T06:30:00Z] [--timezone Europe/Helsinki]
                       [--format html|pdf|json] [-o FILE] [--url URL] [--token TOKEN]
    vigil report --list

``--at`` (default now) ends the report's period. Without ``-o`` the HTML or JSON is written
to standard output (a PDF only when that is not a terminal). The run is kept in Vigil's
archive (``/reports``). The progress bar goes to standard error. ``--url`` (else
``$VIGIL_URL``) and ``--token`` (else ``$VIGIL_TOKEN``; an editor's). Exit 1 when the report
fails or Vigil refuses (the reason is printed), 2 on bad usage.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from vigil.cli._common import api_call, fail, time_option, usage_error, utc_text
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["report"]

FORMATS = ("html", "pdf", "json")
BASE = "/api/vigil/v1/reports"


def _data(method: str, path: str, url: str | None, token: str | None, params: dict[str, str] | None = None,
          body: dict[str, Any] | None = None) -> Any:
    return api_call(method, path, url, token, body, params, accept=(200, 202), name_path=False).json()["data"]


def _follow(run: dict[str, Any], url: str | None, token: str | None, poll_s: float) -> dict[str, Any]:
    """Poll the run until it is no longer running, drawing its progress on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("sections"),
               TimeElapsedColumn(), TextColumn("[dim]{task.fields[section]}"))
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(run["name"], total=run["sectionsTotal"], completed=run["sectionsDone"], section="")
        while run["status"] == "running":
            time.sleep(poll_s)
            run = _data("GET", f"{BASE}/runs/{run['id']}", url, token)
            bar.update(task, completed=run["sectionsDone"], section=run["progress"])
        if run["status"] == "done":
            bar.update(task, completed=run["sectionsTotal"], section="done")
    return run


def report(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="The report (vigil report --list shows them).")] = None,
    at: Annotated[str | None, typer.Option("--at", help="The end of the report's period (RFC 3339); default now.")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="Time zone of the report (default: reports.timezone).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="html, pdf or json.")] = "html",
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (default: standard output).")] = None,
    list_reports: Annotated[bool, typer.Option("--list", help="List the reports and their schedules.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between progress reads.", min=0.05)] = 0.5,
) -> None:
    """Run a report on a running Vigil and write it (HTML, PDF or JSON)."""
    if list_reports:
        for r in _data("GET", BASE, url, token):
            schedules = "; ".join(f"{s['cron']} {s['timezone']}" for s in r["schedules"]) or "on demand"
            typer.echo(f"{r['name']:<20} {r['title']}  ({r['sections']} sections; {schedules})")
        return
    if name is None:
        usage_error("give the report's NAME (vigil report --list shows them)")
    if fmt not in FORMATS:
        usage_error(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "pdf" and output is None and sys.stdout.isatty():
        usage_error("a PDF is not written to a terminal: give -o FILE (or redirect the output)")
    params = {"at": utc_text(time_option(at, "--at"))}
    if timezone:
        params["timezone"] = timezone
    run = _data("POST", f"{BASE}/{name}/runs", url, token, params=params, body={})
    run = _follow(run, url, token, poll)
    if run["status"] != "done":
        fail(f"report {name} failed: {run['error']} (run {run['id']})")
    if fmt not in run["formats"]:
        fail(f"report {name} has no {fmt.upper()}: {run['pdfError'] or 'not archived'} (run {run['id']}; "
             f"the other formats are {', '.join(run['formats'])})")
    content = api_call("GET", f"{BASE}/runs/{run['id']}/{fmt}", url, token, name_path=False).content
    for problem in run["problems"]:
        typer.echo(f"warning: {problem}", err=True)
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        with open(output, "wb") as f:
            f.write(content)
        typer.echo(f"wrote {output} ({len(content):,} bytes; run {run['id']})", err=True)
