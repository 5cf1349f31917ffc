"""``vigil incidents checklist | task | update``: an incident's response checklist and its
communications, through a running Vigil's API (:mod:`vigil.web.incident_response_api`).

    vigil incidents checklist INC-20261207-001
    vigil incidents task INC-20261207-001 dns --done [--note TEXT]
    vigil incidents task INC-20261207-001 dns --reopen [--note TEXT]
    vigil incidents update INC-20261207-001 --kind internal|external [--preview]
        [--current-status TEXT] [--symptoms TEXT]

``checklist`` prints each phase (``T+0:05 Initial Assessment, due ...``) and its tasks as
``[x]`` done, ``[!]`` overdue or ``[ ]``, with their keys; it exits 1 when a task is overdue.
``update --preview`` prints what would be sent; without it the update is sent through the
severity's receivers (an external one also goes on the status page).

``--url`` (else ``$VIGIL_URL``) and ``--token`` (else ``$VIGIL_TOKEN``; a responder's for
changes). ``--json`` prints the API's answer. Exit 1 when Vigil refuses or cannot be asked
(the error names why), 2 on bad usage.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vigil.cli._common import api_call, echo_json, usage_error
from vigil.cli.incidents import JsonOption, incidents_app
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["checklist", "task", "update"]

IncidentArg = Annotated[str, typer.Argument(metavar="ID", help="The incident's ref (INC-20261207-001) or id.")]
NoteOption = Annotated[str, typer.Option("--note", help="A note kept with the task and in the timeline.")]


def _call(method: str, path: str, url: str | None, token: str | None, body: dict[str, Any] | None = None,
          params: dict[str, str] | None = None) -> Any:
    """The API's ``data``; exits 1 with the API's error when it refuses."""
    return api_call(method, path, url, token, body, params).json()["data"]


def _path(incident: str, rest: str) -> str:
    from urllib.parse import quote

    return f"/api/vigil/v1/incidents/{quote(incident, safe='')}/{rest}"


def _mark(t: dict[str, Any]) -> str:
    return "[x]" if t["done"] else "[!]" if t["overdue"] else "[ ]"


@incidents_app.command()
def checklist(incident: IncidentArg, url: UrlOption = None, token: TokenOption = None,
              as_json: JsonOption = False) -> None:
    """Print the incident's response checklist; exit 1 when a task is overdue."""
    data = _call("GET", _path(incident, "checklist"), url, token)
    if as_json:
        echo_json(data)
    else:
        typer.echo(f"{data['ref']} {data['severity']} {data['status']}, declared {data['declaredAt']}")
        for phase in data["phases"]:
            typer.echo(f"{phase['label']} {phase['title']} (due {phase['dueAt']})")
            for t in phase["tasks"]:
                who = f" — {t['doneBy']}" if t["done"] else ""
                note = f": {t['note']}" if t["note"] else ""
                typer.echo(f"  {_mark(t)} {t['key']}  {t['title']}{who}{note}")
    if any(t["overdue"] for p in data["phases"] for t in p["tasks"]):
        raise typer.Exit(1)


@incidents_app.command()
def task(incident: IncidentArg,
         key: Annotated[str, typer.Argument(metavar="TASK", help="The task's key, as `checklist` prints it.")],
         done: Annotated[bool, typer.Option("--done", help="Mark the task done.")] = False,
         reopen: Annotated[bool, typer.Option("--reopen", help="Mark a done task not done again.")] = False,
         note: NoteOption = "", url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Mark a checklist task done (--done) or reopen it (--reopen)."""
    if done == reopen:
        usage_error("give exactly one of --done and --reopen")
    data = _call("POST", _path(incident, f"checklist/{key}/{'done' if done else 'reopen'}"), url, token,
                 {"note": note})
    if as_json:
        echo_json(data)
    else:
        typer.echo(f"{_mark(data)} {data['key']}  {data['title']}" + (f" — {data['doneBy']}" if data["done"] else ""))


@incidents_app.command()
def update(incident: IncidentArg,
           kind: Annotated[str, typer.Option("--kind", help="internal (the notification) or external "
                                                             "(the status page update).")] = "internal",
           preview: Annotated[bool, typer.Option("--preview", help="Print what would be sent; send nothing.")] = False,
           current_status: Annotated[str, typer.Option("--current-status", help="The text of .CurrentStatus.")] = "",
           symptoms: Annotated[str, typer.Option("--symptoms", help="The text of .Symptoms.")] = "",
           url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Send (or --preview) the incident's internal notification or external update."""
    if kind not in ("internal", "external"):
        usage_error(f"--kind must be internal or external, not {kind!r}")
    if preview:
        params = {"kind": kind, "current_status": current_status, "symptoms": symptoms}
        data = _call("GET", _path(incident, "communications/preview"), url, token, params=params)
    else:
        data = _call("POST", _path(incident, "communications"), url, token,
                     {"kind": kind, "current_status": current_status, "symptoms": symptoms})
    if as_json:
        echo_json(data)
        return
    receivers = ", ".join(data["receivers"]) or "no receivers (none configured for this severity)"
    typer.echo(f"{'Would send' if preview else 'Sent'} to {receivers}")
    typer.echo(f"Subject: {data['subject']}\n")
    typer.echo(data["body"].rstrip("\n"))
