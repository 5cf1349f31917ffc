"""``vigil alerts ack|unack|resolve MATCHER...``: act on the alert episodes whose group
labels match, through a running Vigil's API (``POST /api/vigil/v1/episode-actions/...``).

``--url`` (else ``$VIGIL_URL``, else the default listen address) and ``--token`` (else
``$VIGIL_TOKEN``; a responder's token once Vigil has users). Prints one line per episode
acted on and per episode skipped (e.g. already acknowledged), or the API's JSON with
``--json``. Exit 1 when no episode matched or Vigil cannot be asked; exit 2 on bad usage
(no matcher, a matcher that does not parse, an unknown classification).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from vigil.cli._common import fail
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["ack", "resolve", "unack"]

_CLASSIFICATIONS = ("actionable", "false_positive", "duplicate", "no_action_needed")
_DONE = {"ack": "acknowledged", "unack": "unacknowledged", "resolve": "resolved"}

MatchersArg = Annotated[list[str] | None, typer.Argument(
    metavar="MATCHER...", help='Matchers on the group labels, e.g. alertname=DiskFull team=~"db|web".')]
NoteOption = Annotated[str, typer.Option("--note", help="A note kept in the episode's log.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]


def _checked_matchers(matchers: list[str] | None) -> list[str]:
    from vigil.model.matchers import parse_matchers

    if not matchers:
        raise typer.BadParameter("at least one matcher is needed, e.g. alertname=DiskFull",
                                 param_hint="MATCHER")
    for text in matchers:
        try:
            parse_matchers(text)
        except ValueError as exc:
            raise typer.BadParameter(f"{text!r}: {exc}", param_hint="MATCHER") from None
    return matchers


def _act(action: str, matchers: list[str] | None, body: dict[str, Any], url: str | None,
         token: str | None, as_json: bool) -> None:
    import httpx

    from vigil.config import DEFAULT_LISTEN

    body = {**body, "matchers": _checked_matchers(matchers), "via": "cli"}
    base = (url or f"http://{DEFAULT_LISTEN}").rstrip("/")
    endpoint = f"{base}/api/vigil/v1/episode-actions/{action}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = httpx.post(endpoint, json=body, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        fail(f"cannot reach Vigil at {base}: {exc}")
    if resp.status_code != 200:
        try:
            message = resp.json()["error"]
        except (ValueError, KeyError):
            message = resp.text.strip()[:300]
        fail(f"{endpoint} answered {resp.status_code}: {message}")
    data = resp.json()["data"]
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        for ep in data["episodes"]:
            labels = ", ".join(f'{k}="{v}"' for k, v in sorted(ep["groupLabels"].items()))
            typer.echo(f"{_DONE[action]} {ep['id']} {ep['priority']} {{{labels}}}")
        for skipped in data["skipped"]:
            typer.echo(f"skipped {skipped['id']}: {skipped['reason']}")
        if not data["matched"]:
            typer.echo("no unresolved alert episode matched", err=True)
    if not data["matched"]:
        raise typer.Exit(1)


def ack(matchers: MatchersArg = None, note: NoteOption = "", url: UrlOption = None,
        token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Acknowledge the open alert episodes whose group labels match."""
    _act("ack", matchers, {"note": note}, url, token, as_json)


def unack(matchers: MatchersArg = None, note: NoteOption = "", url: UrlOption = None,
          token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Take back the acknowledgement of the matching episodes (they wait for one again)."""
    _act("unack", matchers, {"note": note}, url, token, as_json)


def _check_classification(value: str | None) -> str | None:
    if value is not None and value not in _CLASSIFICATIONS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(_CLASSIFICATIONS)}")
    return value


def resolve(
    matchers: MatchersArg = None,
    classification: Annotated[str | None, typer.Option(
        "--classification", callback=_check_classification,
        help=f"Required: {' | '.join(_CLASSIFICATIONS)}.")] = None,
    procedure: Annotated[str, typer.Option(
        "--procedure", help="The runbook procedure used (free text or a runbook id).")] = "",
    note: NoteOption = "", url: UrlOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve the matching episodes, with how they are classified."""
    if classification is None:
        raise typer.BadParameter("resolving needs --classification "
                                 f"({' | '.join(_CLASSIFICATIONS)})", param_hint="--classification")
    _act("resolve", matchers,
         {"note": note, "classification": classification, "procedure": procedure}, url, token, as_json)
