"""``vigil status-page show|override``: the public status page of a running Vigil.

``show`` reads ``GET /status/api.json`` (public, no token needed) and prints one line per
component (status, and why: an incident, an override, maintenance) and the current incidents
with their newest public update; ``--json`` prints the JSON. Exit 1 when any component is not
Operational (Under maintenance included) or Vigil cannot be asked: for scripts and checks.

``override COMPONENT STATUS [--message M] [--until T]`` sets a manual status (a responder's
token once Vigil has users); ``override COMPONENT --clear`` removes it. ``--until`` is an
RFC 3339 time or a duration from now (``2h``). ``--url`` (else ``$VIGIL_URL``, else the
default listen address), ``--token`` (else ``$VIGIL_TOKEN``). Exit 2 on bad usage.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vigil.cli._common import api_base, api_refusal, echo_json, fail, usage_error, utc_text
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["status_page_cli"]

status_page_cli = typer.Typer(help="The public status page: components, incidents, overrides.",
                              no_args_is_help=True)

_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")


def _answer(resp: Any, endpoint: str) -> dict[str, Any]:
    if resp.status_code != 200:
        fail(f"{endpoint} answered {resp.status_code}: {api_refusal(resp)}")
    try:
        return resp.json()
    except ValueError:
        fail(f"{endpoint} did not answer with JSON")


@status_page_cli.command("show")
def show(
    url: UrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page's JSON (/status/api.json).")] = False,
) -> None:
    """Show each component's status and the current incidents."""
    import httpx

    endpoint = f"{api_base(url)}/status/api.json"
    try:
        resp = httpx.get(endpoint, timeout=10.0)
    except httpx.HTTPError as exc:
        fail(f"cannot reach Vigil at {api_base(url)}: {exc}")
    page = _answer(resp, endpoint)
    if as_json:
        echo_json(page)
    else:
        typer.echo(f"{page['page']['title']}: {page['page']['description']}")
        width = max((len(c["name"]) for c in page["components"]), default=0)
        for c in page["components"]:
            why = {"incident": "an open incident", "override": "set by hand",
                   "maintenance": "maintenance"}.get(c["source"], "")
            extra = "; ".join(x for x in (why, c["message"]) if x)
            typer.echo(f"{c['name']:<{width}}  {c['statusLabel']}" + (f"  ({extra})" if extra else ""))
        for inc in page["incidents"]:
            newest = inc["updates"][0]
            typer.echo(f"incident: {inc['title']} [{inc['impactLabel']}] {newest['statusLabel']} "
                       f"{newest['at']}: {newest['message']}")
    if any(c["status"] != "operational" for c in page["components"]):
        raise typer.Exit(1)


def _until(text: str | None) -> str | None:
    if text is None:
        return None
    from datetime import UTC, datetime, timedelta

    from vigil.gocompat.durations import parse_duration_ms
    from vigil.gocompat.times import parse_rfc3339

    try:
        return utc_text(datetime.now(UTC) + timedelta(milliseconds=parse_duration_ms(text)))
    except ValueError:
        pass
    try:
        return utc_text(parse_rfc3339(text))
    except ValueError:
        usage_error(f"--until: {text!r} is neither an RFC 3339 time nor a duration such as 2h")


@status_page_cli.command("override")
def override(
    component: Annotated[str, typer.Argument(help="The component's name.")],
    status: Annotated[str | None, typer.Argument(help=f"One of: {', '.join(_STATUSES)}.")] = None,
    message: Annotated[str, typer.Option("--message", help="Public text shown with the status.")] = "",
    until: Annotated[str | None, typer.Option(
        "--until", help="When the override ends: an RFC 3339 time or a duration from now (2h).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the component's override.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Set a component's status by hand (it replaces what queries and incidents say), or clear it."""
    import httpx

    if clear == (status is not None):
        usage_error("give a STATUS, or --clear")
    if status is not None and status not in _STATUSES:
        usage_error(f"unknown status {status!r}; known: {', '.join(_STATUSES)}")
    if clear and (message or until):
        usage_error("--clear takes no --message or --until")
    endpoint = f"{api_base(url)}/api/vigil/v1/status-page/components/{component}/override"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        if clear:
            resp = httpx.delete(endpoint, headers=headers, timeout=10.0)
        else:
            body = {"status": status, "message": message, "until": _until(until), "via": "cli"}
            resp = httpx.post(endpoint, json=body, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        fail(f"cannot reach Vigil at {api_base(url)}: {exc}")
    data = _answer(resp, endpoint)["data"]
    if clear:
        typer.echo(f"cleared the override of {component} ({data['statusLabel']})")
    else:
        ends = f" until {data['until']}" if data["until"] else " until cleared"
        typer.echo(f"{component}: {data['statusLabel']}{ends}")
