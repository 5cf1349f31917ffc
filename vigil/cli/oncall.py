"""``vigil oncall``: who is on call (offline, from the configuration file) and overrides and
swaps on a running Vigil.

``vigil oncall who SCHEDULE [--at RFC3339] [--config F] [--json]`` computes the answer from
the ``schedules:`` section alone, without a running Vigil or its database, so it works in CI
and on a laptop; overrides and swaps made at run time live in the state database and are
not seen (ask the API, ``GET /api/vigil/v1/schedules/<name>/oncall``, for the live answer).
Exit status: 0 someone is on call, 1 nobody is (a gap: a finding, so it can gate CI),
2 bad usage (unknown schedule, bad time, invalid configuration).

``vigil oncall override`` and ``vigil oncall swap`` call the API of a running Vigil
(``--url``, else ``$VIGIL_URL``; ``--token``, else ``$VIGIL_TOKEN``). An API token is not a
person, so changing shifts with a token needs an admin token; a failed call exits 1.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Annotated, Any

import typer

from vigil.cli._common import time_option, usage_error, utc_text

oncall_cli = typer.Typer(help="On call: who is on call, overrides and swaps.", no_args_is_help=True)

ConfigOption = Annotated[str | None, typer.Option(
    "--config", "-c", help="Configuration file (YAML) holding the schedules: section.")]
UrlOption = Annotated[str | None, typer.Option(
    "--url", envvar="VIGIL_URL", help="Vigil's base URL. (default: $VIGIL_URL, else http://127.0.0.1:9494)")]
TokenOption = Annotated[str | None, typer.Option(
    "--token", envvar="VIGIL_TOKEN", help="API token (admin to change anyone's shifts). (default: $VIGIL_TOKEN)")]
_TIMEOUT_S = 10.0


def _iso(t: datetime | None) -> str | None:
    return utc_text(t) if t is not None else None


@oncall_cli.command("who")
def who(schedule: Annotated[str, typer.Argument(help="Schedule name (schedules: in the config).")],
        at: Annotated[str | None, typer.Option("--at", help="When (RFC 3339). Default: now.")] = None,
        config: ConfigOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Who is on call for SCHEDULE, and until when, from the configuration file alone
    (overrides made at run time are not seen). Exit 1 when nobody is on call."""
    from vigil.config.loader import load_config
    from vigil.errors import VigilError
    from vigil.oncall.schedule import on_call
    from vigil.oncall.schedule_config import schedules_by_name

    when = time_option(at, "--at")
    try:
        schedules = schedules_by_name(load_config(config).schedules)
    except (VigilError, OSError) as exc:
        usage_error(str(exc))
    if schedule not in schedules:
        known = ", ".join(schedules) or "none"
        usage_error(f"no schedule named {schedule!r} in {config or 'the default configuration'} (known: {known})")
    current = on_call(schedules[schedule], when)
    zone = schedules[schedule].time_zone
    if as_json:
        typer.echo(json.dumps({"schedule": schedule, "at": _iso(when), "user": current.user,
                               "until": _iso(current.until), "source": current.source.kind,
                               "name": current.source.name, "time_zone": zone}))
    else:
        until = f"until {_iso(current.until)}" if current.until else "with no change in the next year"
        if current.user:
            typer.echo(f"{current.user} is on call for {schedule} {until} ({current.source})")
        else:
            typer.echo(f"nobody is on call for {schedule} {until}")
    if current.user is None:
        raise typer.Exit(1)


def _post(url: str | None, token: str | None, path: str, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    base = (url or os.environ.get("VIGIL_URL") or "http://127.0.0.1:9494").rstrip("/")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = httpx.post(base + path, json=body, headers=headers, timeout=_TIMEOUT_S)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach Vigil at {base}: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if resp.status_code >= 400:
        message = data.get("error") if isinstance(data, dict) else None
        typer.echo(f"error: {resp.status_code}: {message or resp.text.strip()[:200]}", err=True)
        raise typer.Exit(1)
    return data.get("data", data)


@oncall_cli.command("override")
def override(schedule: Annotated[str, typer.Argument(help="Schedule name.")],
             user: Annotated[str, typer.Option("--user", help="Who covers the time.")],
             start: Annotated[str, typer.Option("--from", help="Start (RFC 3339).")],
             end: Annotated[str, typer.Option("--to", help="End (RFC 3339).")],
             note: Annotated[str, typer.Option("--note", help="Why.")] = "",
             url: UrlOption = None, token: TokenOption = None,
             as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Put USER on call for SCHEDULE from --from to --to, over every layer (a running Vigil)."""
    body = {"user": user, "from": utc_text(time_option(start, "--from")), "to": utc_text(time_option(end, "--to")), "note": note}
    row = _post(url, token, f"/api/vigil/v1/schedules/{schedule}/overrides", body)
    typer.echo(json.dumps(row) if as_json else
               f"override {row['id']}: {row['user']} on call for {schedule} from {row['from']} to {row['to']}")


@oncall_cli.command("swap")
def swap(schedule: Annotated[str, typer.Argument(help="Schedule name.")],
         user: Annotated[str, typer.Option("--user", help="The first user, on call from --from to --to.")],
         start: Annotated[str, typer.Option("--from", help="Start of the first user's shift (RFC 3339).")],
         end: Annotated[str, typer.Option("--to", help="End of the first user's shift (RFC 3339).")],
         other: Annotated[str, typer.Option("--with", help="The second user.")],
         other_start: Annotated[str, typer.Option("--with-from", help="Start of the second user's shift.")],
         other_end: Annotated[str, typer.Option("--with-to", help="End of the second user's shift.")],
         note: Annotated[str, typer.Option("--note", help="Why.")] = "",
         url: UrlOption = None, token: TokenOption = None) -> None:
    """Two users exchange shifts (each must be on call for the shift they give away)."""
    body = {"user": user, "from": utc_text(time_option(start, "--from")), "to": utc_text(time_option(end, "--to")),
            "with_user": other, "with_from": utc_text(time_option(other_start, "--with-from")),
            "with_to": utc_text(time_option(other_end, "--with-to")), "note": note}
    rows = _post(url, token, f"/api/vigil/v1/schedules/{schedule}/swaps", body)
    for row in rows:
        typer.echo(f"override {row['id']}: {row['user']} on call for {schedule} from {row['from']} to {row['to']}")


# simulate and lint live in their own module (issue 16, part 6).
from vigil.cli import oncall_tools  # noqa: E402

oncall_cli.command("simulate")(oncall_tools.simulate)
oncall_cli.command("lint")(oncall_tools.lint)
