"""``vigil incidents``: declare and run incidents on a running Vigil, through its API
(:mod:`vigil.web.incidents_api`).

    vigil incidents declare --sev N --title T [--alert MATCHER]... [--summary S] [--commander U] [--component C]...
    vigil incidents list [--all]
    vigil incidents show ID
    vigil incidents status ID STATUS [--note TEXT]
    vigil incidents reopen ID [--note TEXT]
    vigil incidents severity ID N [--note TEXT]
    vigil incidents role ID ROLE USER [--remove]        ROLE: commander communications scribe responders
    vigil incidents note ID TEXT
    vigil incidents timeline ID [--format json|csv|markdown]
    vigil incidents ack ID [--note TEXT]
    vigil incidents edit ID [--title T] [--summary S] [--impact I]
    vigil incidents components ID [COMPONENT...]
    vigil incidents attach ID GROUP_KEY...
    vigil incidents detach ID GROUP_KEY

ID is the incident's ref (``INC-20261207-001``) or id. ``--url`` (else ``$VIGIL_URL``) and
``--token`` (else ``$VIGIL_TOKEN``; a responder's for changes); ``--json`` prints the API's
answer. Exit 1 when Vigil refuses (the reason is printed, e.g. the status moves allowed) or
cannot be asked, 2 on bad usage. Other modules add their subcommands to :data:`incidents_app`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vigil.cli._common import api_call, echo_json, usage_error
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["JsonOption", "incidents_app"]

incidents_app = typer.Typer(help="Incidents: declare, follow and resolve them (SEV-1..4).", no_args_is_help=True)

STATUSES = ("investigating", "identified", "monitoring", "resolved")
ROLES = ("commander", "communications", "scribe", "responders")
FORMATS = ("json", "csv", "markdown")
# --json of every `vigil incidents` subcommand (those of the other modules too).
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="The incident's ref (INC-YYYYMMDD-NNN) or id.")]
NoteOption = Annotated[str, typer.Option("--note", help="A note kept in the timeline with the change.")]


def _call(method: str, path: str, url: str | None, token: str | None, body: dict[str, Any] | None = None,
          params: dict[str, str] | None = None, *, raw: bool = False) -> Any:
    """The API's ``data`` (the text with ``raw``); exits 1 with the API's error."""
    resp = api_call(method, f"/api/vigil/v1/incidents{path}", url, token, body, params, accept=(200, 201),
                    name_path=False)
    return resp.text if raw else resp.json()["data"]


def _line(inc: dict[str, Any]) -> str:
    who = f" commander {inc['commander']}" if inc.get("commander") else ""
    return f"{inc['ref']}  {inc['severityName']}  {inc['status']:<13} {inc['title']}{who}"


def _show(inc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(inc)
        return
    typer.echo(_line(inc))
    roles = inc["roles"]
    typer.echo(f"  declared {inc['declaredAt']} by {inc['declaredBy']} ({inc['source']}); "
               f"detected {inc['detectedAt']}")
    if inc.get("channel"):
        typer.echo(f"  channel {inc['channel']}")
    typer.echo(f"  roles: commander={roles.get('commander') or '-'} communications={roles.get('communications') or '-'} "
               f"scribe={roles.get('scribe') or '-'} responders={','.join(roles.get('responders') or []) or '-'}")
    if inc.get("components"):
        typer.echo(f"  components: {', '.join(inc['components'])}")
    for name in ("summary", "impact"):
        if inc.get(name):
            typer.echo(f"  {name}: {inc[name]}")
    if inc.get("nextUpdateAt"):
        typer.echo(f"  next update due {inc['nextUpdateAt']}")
    if "allowedStatuses" in inc:
        moves = ", ".join(inc["allowedStatuses"]) or ("none (reopen it)" if inc.get("canReopen") else "none")
        typer.echo(f"  status can move to: {moves}")
    for group in inc.get("groups", []):
        if group.get("detachedAt") is None:
            labels = ", ".join(f'{k}="{v}"' for k, v in sorted(group["groupLabels"].items()))
            typer.echo(f"  alert group {{{labels}}}: {len(group['alerts'])} firing")
    if inc.get("timeline"):
        typer.echo("  timeline:")
        for ev in inc["timeline"]:
            typer.echo(f"    {ev['at']}  {ev['actor'] or 'vigil':<12} {ev['text']}")


def _changed(inc: dict[str, Any], as_json: bool, said: str | None = None) -> None:
    """A change's answer: the incident as JSON with ``--json``, else ``said`` (by default the
    incident's line)."""
    if as_json:
        _show(inc, True)
    else:
        typer.echo(_line(inc) if said is None else said)


def _noted_change(incident: str, action: str, note: str, url: str | None, token: str | None,
                  as_json: bool) -> None:
    """A change that takes only a note (``POST /<incident>/<action>``), and its answer."""
    _changed(_call("POST", f"/{incident}/{action}", url, token, {"note": note}), as_json)


@incidents_app.command()
def declare(
    sev: Annotated[int, typer.Option("--sev", min=1, max=4, help="Severity: 1 (complete outage) .. 4 (cosmetic).")],
    title: Annotated[str, typer.Option("--title", help="What is wrong, in a few words.")],
    alert: Annotated[list[str] | None, typer.Option(
        "--alert", metavar="MATCHER",
        help='Attach the firing alert groups matching (repeatable, all must hold), e.g. service="milk"; '
             "groups matching later are attached while the incident is open.")] = None,
    summary: Annotated[str, typer.Option("--summary", help="The current state, for the timeline.")] = "",
    commander: Annotated[str | None, typer.Option("--commander", help="The incident commander (a user).")] = None,
    component: Annotated[list[str] | None, typer.Option(
        "--component", help="An impacted status-page component (repeatable).")] = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Declare an incident; pages the severity's response team."""
    from vigil.model.matchers import parse_matchers

    if not title.strip():
        usage_error("--title must not be empty")
    for text in alert or []:
        try:
            if not parse_matchers(text):
                raise ValueError("empty matcher")
        except ValueError as exc:
            usage_error(f"--alert {text!r}: {exc}")
    inc = _call("POST", "", url, token, {"title": title, "severity": sev, "alert_matchers": alert or [],
                                         "summary": summary, "commander": commander,
                                         "components": component or []})
    if as_json:
        _show(inc, True)
        return
    typer.echo(f"declared {_line(inc)}")
    for group in inc["groups"]:
        typer.echo(f"  attached {group['groupKey']}")


@incidents_app.command("list")
def list_incidents(
    every: Annotated[bool, typer.Option("--all", help="Resolved incidents too.")] = False,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Open incidents (all with --all), newest first."""
    found = _call("GET", "", url, token, params={"state": "all" if every else "open"})
    if as_json:
        echo_json(found)
        return
    for inc in found:
        typer.echo(_line(inc))
    if not found:
        typer.echo("no incidents" if every else "no open incidents", err=True)


@incidents_app.command()
def show(incident: IdArg, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """One incident with its roles, alert groups and timeline."""
    _show(_call("GET", f"/{incident}", url, token), as_json)


@incidents_app.command()
def status(
    incident: IdArg,
    new_status: Annotated[str, typer.Argument(metavar="STATUS", help=f"One of {', '.join(STATUSES)}.")],
    note: NoteOption = "", url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Move the incident to STATUS (refused moves name the allowed ones)."""
    if new_status not in STATUSES:
        usage_error(f"STATUS must be one of {', '.join(STATUSES)}, not {new_status!r}")
    inc = _call("POST", f"/{incident}/status", url, token, {"status": new_status, "note": note})
    _changed(inc, as_json)


@incidents_app.command()
def reopen(incident: IdArg, note: NoteOption = "", url: UrlOption = None, token: TokenOption = None,
           as_json: JsonOption = False) -> None:
    """Take a resolved incident back to investigating."""
    _noted_change(incident, "reopen", note, url, token, as_json)


@incidents_app.command()
def severity(
    incident: IdArg, level: Annotated[int, typer.Argument(metavar="N", min=1, max=4, help="1..4")],
    note: NoteOption = "", url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Change the severity (a worse one pages its response team)."""
    inc = _call("POST", f"/{incident}/severity", url, token, {"severity": level, "note": note})
    _changed(inc, as_json)


@incidents_app.command()
def role(
    incident: IdArg,
    name: Annotated[str, typer.Argument(metavar="ROLE", help=f"One of {', '.join(ROLES)}.")],
    user: Annotated[str, typer.Argument(metavar="USER", help='The user; "-" clears the role.')],
    remove: Annotated[bool, typer.Option("--remove", help="Remove USER from the responders.")] = False,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Give ROLE to USER (responders: add, or remove with --remove)."""
    if name not in ROLES:
        usage_error(f"ROLE must be one of {', '.join(ROLES)}, not {name!r}")
    if remove and name != "responders":
        usage_error("--remove is for responders; clear another role with USER -")
    inc = _call("POST", f"/{incident}/roles", url, token,
                {"role": name, "user": None if user == "-" else user, "remove": remove})
    _changed(inc, as_json)


@incidents_app.command()
def note(incident: IdArg, text: Annotated[str, typer.Argument(metavar="TEXT")], url: UrlOption = None,
         token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Add a note to the timeline."""
    if not text.strip():
        usage_error("TEXT must not be empty")
    inc = _call("POST", f"/{incident}/notes", url, token, {"text": text})
    _changed(inc, as_json, f"noted on {inc['ref']}")


@incidents_app.command()
def timeline(
    incident: IdArg,
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")] = "markdown",
    url: UrlOption = None, token: TokenOption = None,
) -> None:
    """Print the timeline (Markdown by default; json or csv)."""
    if fmt not in FORMATS:
        usage_error(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    typer.echo(_call("GET", f"/{incident}/timeline", url, token, params={"format": fmt}, raw=True), nl=False)


@incidents_app.command()
def ack(incident: IdArg, note: NoteOption = "", url: UrlOption = None, token: TokenOption = None,
        as_json: JsonOption = False) -> None:
    """Acknowledge the incident (someone took it)."""
    _noted_change(incident, "acknowledge", note, url, token, as_json)


@incidents_app.command()
def edit(
    incident: IdArg,
    title: Annotated[str | None, typer.Option("--title", help="A new title.")] = None,
    summary: Annotated[str | None, typer.Option("--summary", help="The current state.")] = None,
    impact: Annotated[str | None, typer.Option("--impact", help="Who is affected, and how.")] = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Change the title, summary or impact."""
    if title is None and summary is None and impact is None:
        usage_error("give at least one of --title, --summary, --impact")
    body = {k: v for k, v in (("title", title), ("summary", summary), ("impact", impact)) if v is not None}
    inc = _call("POST", f"/{incident}/edit", url, token, body)
    _changed(inc, as_json)


@incidents_app.command()
def components(
    incident: IdArg,
    names: Annotated[list[str] | None, typer.Argument(metavar="COMPONENT...",
                                                      help="The impacted components (none: clear).")] = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Set the impacted status-page components."""
    inc = _call("POST", f"/{incident}/components", url, token, {"components": names or []})
    _changed(inc, as_json, f"{inc['ref']} components: {', '.join(inc['components']) or '-'}")


@incidents_app.command()
def attach(
    incident: IdArg,
    group_keys: Annotated[list[str], typer.Argument(metavar="GROUP_KEY...", help="Keys of firing alert groups.")],
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Attach firing alert groups."""
    inc = _call("POST", f"/{incident}/attach", url, token, {"group_keys": group_keys})
    _changed(inc, as_json, f"attached to {inc['ref']}: {', '.join(group_keys)}")


@incidents_app.command()
def detach(
    incident: IdArg, group_key: Annotated[str, typer.Argument(metavar="GROUP_KEY")],
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Detach an alert group (matchers will not attach it again)."""
    inc = _call("POST", f"/{incident}/detach", url, token, {"group_key": group_key})
    _changed(inc, as_json, f"detached from {inc['ref']}: {group_key}")
