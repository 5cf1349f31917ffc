"""``vigil incidents postmortem | action-items | candidates``: the post-mortem, action items
and incident candidates of a running Vigil, through its API
(:mod:`vigil.web.incident_review_api`).

    vigil incidents postmortem INC-20261207-001 [-o FILE]
    vigil incidents action-items list [--incident ID] [--state open|closed|all]
    vigil incidents action-items add ID "Canary checkout deploys" [--owner U] [--due 2026-12-21] [--link URL]
    vigil incidents action-items close|reopen ITEM
    vigil incidents candidates list [--state proposed|accepted|dismissed|expired|all]
    vigil incidents candidates accept CANDIDATE [--sev N] [--title T] [--commander U]
    vigil incidents candidates dismiss CANDIDATE --reason TEXT

``--url`` (else ``$VIGIL_URL``) and ``--token`` (else ``$VIGIL_TOKEN``; a responder's for
changes). ``--json`` prints the API's answer. Exit 1 when Vigil refuses or cannot be asked
(the error names why), 2 on bad usage.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from vigil.cli._common import api_call, echo_json
from vigil.cli.incidents import JsonOption, incidents_app
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["action_items_cli", "candidates_cli", "postmortem"]

action_items_cli = typer.Typer(help="Action items of incidents, tracked until closed.", no_args_is_help=True)
candidates_cli = typer.Typer(help="Incident candidates: related alert groups proposed as one incident.",
                             no_args_is_help=True)

def _call(method: str, path: str, url: str | None, token: str | None, body: dict[str, Any] | None = None,
          params: dict[str, str] | None = None) -> Any:
    """The API's answer to one request (the ``data``, or the text of a non-JSON answer);
    exits 1 with the API's error when it refuses."""
    resp = api_call(method, path, url, token, body, params)
    if not resp.headers.get("content-type", "").startswith("application/json"):
        return resp.text
    return resp.json()["data"]


def postmortem(
    incident: Annotated[str, typer.Argument(metavar="ID", help="The incident's ref or id.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the Markdown to FILE.")] = None,
    url: UrlOption = None, token: TokenOption = None,
) -> None:
    """The incident's post-mortem as Markdown (summary, impact, timeline, figures,
    contributing alerts with their queries, action items)."""
    text = _call("GET", f"/api/vigil/v1/incidents/{incident}/postmortem", url, token)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


def _item_line(item: dict[str, Any]) -> str:
    extra = [f"owner {item['owner']}" if item["owner"] else "", f"due {item['dueDate']}" if item["dueDate"] else "",
             item["link"]]
    rest = "; ".join(e for e in extra if e)
    return f"#{item['id']} {item['state']:<6} {item['incidentRef']} {item['title']}" + (f" ({rest})" if rest else "")


@action_items_cli.command("list")
def list_items(
    incident: Annotated[str | None, typer.Option("--incident", help="Only this incident's (ref or id).")] = None,
    state: Annotated[str, typer.Option("--state", help="open | closed | all.")] = "open",
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """List action items (open ones of every incident by default)."""
    if state not in ("open", "closed", "all"):
        raise typer.BadParameter(f"{state!r} is not one of open, closed, all", param_hint="--state")
    params = {} if state == "all" else {"state": state}
    if incident:
        items = [i for i in _call("GET", f"/api/vigil/v1/incidents/{incident}/action-items", url, token)
                 if state == "all" or i["state"] == state]
    else:
        items = _call("GET", "/api/vigil/v1/action-items", url, token, params=params)
    if as_json:
        echo_json(items)
        return
    for item in items:
        typer.echo(_item_line(item))


def _check_date(value: str | None) -> str | None:
    if value is not None:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a date such as 2026-12-31") from None
    return value


@action_items_cli.command("add")
def add_item(
    incident: Annotated[str, typer.Argument(metavar="ID", help="The incident's ref or id.")],
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    owner: Annotated[str | None, typer.Option("--owner", help="Who does it.")] = None,
    due: Annotated[str | None, typer.Option("--due", callback=_check_date, help="Due date, YYYY-MM-DD.")] = None,
    link: Annotated[str, typer.Option("--link", help="A ticket or pull request.")] = "",
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Add an action item to an incident (open or resolved)."""
    item = _call("POST", f"/api/vigil/v1/incidents/{incident}/action-items", url, token,
                 {"title": title, "owner": owner, "due_date": due, "link": link})
    typer.echo(json.dumps(item, indent=2, sort_keys=True) if as_json else f"added {_item_line(item)}")


def _set_state(item: int, action: str, url: str | None, token: str | None, as_json: bool) -> None:
    done = _call("POST", f"/api/vigil/v1/action-items/{item}/{action}", url, token, {})
    typer.echo(json.dumps(done, indent=2, sort_keys=True) if as_json else _item_line(done))


@action_items_cli.command("close")
def close_item(item: Annotated[int, typer.Argument(metavar="ITEM", help="The action item's number.")],
               url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Close an action item."""
    _set_state(item, "close", url, token, as_json)


@action_items_cli.command("reopen")
def reopen_item(item: Annotated[int, typer.Argument(metavar="ITEM", help="The action item's number.")],
                url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Reopen a closed action item."""
    _set_state(item, "reopen", url, token, as_json)


@candidates_cli.command("list")
def list_candidates(
    state: Annotated[str, typer.Option("--state", help="proposed | accepted | dismissed | expired | all.")] = "proposed",
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """List incident candidates (the proposed ones by default)."""
    if state not in ("proposed", "accepted", "dismissed", "expired", "all"):
        raise typer.BadParameter(f"{state!r} is not one of proposed, accepted, dismissed, expired, all",
                                 param_hint="--state")
    found = _call("GET", "/api/vigil/v1/incident-candidates", url, token, params={"state": state})
    if as_json:
        echo_json(found)
        return
    for cand in found:
        typer.echo(f"{cand['id']} {cand['state']} SEV-{cand['severity']} {len(cand['groups'])} groups "
                   f"since {cand['windowStart']}: {cand['title']}")


@candidates_cli.command("accept")
def accept(
    candidate: Annotated[str, typer.Argument(metavar="CANDIDATE", help="The candidate's id.")],
    sev: Annotated[int | None, typer.Option("--sev", min=1, max=4, help="Severity (default: the suggested one).")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title (default: the suggested one).")] = None,
    commander: Annotated[str | None, typer.Option("--commander", help="The incident commander.")] = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Declare the incident of a candidate, its groups attached (again: the same incident)."""
    body = {k: v for k, v in {"severity": sev, "title": title, "commander": commander}.items() if v is not None}
    data = _call("POST", f"/api/vigil/v1/incident-candidates/{candidate}/accept", url, token, body)
    if as_json:
        echo_json(data)
        return
    inc = data["incident"]
    typer.echo(f"{inc['ref']} SEV-{inc['severity']} {inc['status']}: {inc['title']}")


@candidates_cli.command("dismiss")
def dismiss(
    candidate: Annotated[str, typer.Argument(metavar="CANDIDATE", help="The candidate's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is not an incident (required).")] = "",
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Dismiss a candidate: its groups are not proposed again for this firing."""
    if not reason.strip():
        raise typer.BadParameter("say why with --reason", param_hint="--reason")
    data = _call("POST", f"/api/vigil/v1/incident-candidates/{candidate}/dismiss", url, token, {"reason": reason})
    typer.echo(json.dumps(data, indent=2, sort_keys=True) if as_json else f"dismissed {data['id']}: {data['reason']}")


incidents_app.command("postmortem")(postmortem)
incidents_app.add_typer(action_items_cli, name="action-items")
incidents_app.add_typer(candidates_cli, name="candidates")
