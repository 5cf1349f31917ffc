"""``vigil silence``: add, query, update and expire silences on a running Vigil (A2).

A thin client of the Alertmanager API v2 that Vigil serves (``/api/v2/silences``,
``/api/v2/silence/{id}``), in the manner of ``amtool silence``. Matchers are given in
Alertmanager syntax (``alertname=HighCPU``, ``instance=~"web-.*"``, ``env!=prod``; one
argument may also hold a comma-separated list in braces). Times are RFC 3339; durations
are Prometheus durations (``2h``, ``1h30m``).

The server is ``--url``, else ``$VIGIL_URL``, else ``http://`` + Vigil's default listen
address. When Vigil has users, ``--token`` (else ``$VIGIL_TOKEN``) gives an API token
(``vigil tokens create``; silencing needs the responder role), sent as
``Authorization: Bearer``. Every failure prints ``error: <message>`` and exits 1: an unreachable server
says so with its URL, an API error (400/404) gives the server's own message.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import typer

from vigil.cli._common import fail

# amtool sends times as go-openapi strfmt.DateTime (milliseconds) and reads them with
# time.Parse(time.RFC3339, ...).
from vigil.gocompat.times import format_rfc3339_millis
from vigil.gocompat.times import parse_rfc3339 as go_parse_rfc3339

silence_cli = typer.Typer(help="Silences on a running Vigil (add, query, update, expire).",
                          no_args_is_help=True)

UrlOption = Annotated[str | None, typer.Option(
    "--url", envvar="VIGIL_URL",
    help="Vigil's base URL. (default: $VIGIL_URL, else http://127.0.0.1:9494)")]
TokenOption = Annotated[str | None, typer.Option(
    "--token", envvar="VIGIL_TOKEN",
    help="API token sent as a bearer token, needed once Vigil has users. (default: $VIGIL_TOKEN)")]
DurationOption = Annotated[str | None, typer.Option(
    "--duration", "-d", help="How long the silence lasts (Prometheus duration, e.g. 2h).")]
EndOption = Annotated[str | None, typer.Option("--end", help="End time (RFC 3339).")]

_TIMEOUT_S = 10.0


class SilenceClientError(Exception):
    """A request that failed; the message is what the user sees."""


class Client:
    """Calls Vigil's API v2. ``base_url`` without a trailing slash; times out after 10 s."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token if token is not None else os.environ.get("VIGIL_TOKEN") or None

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            resp = httpx.request(method, self.base_url + path, timeout=_TIMEOUT_S,
                                 headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise SilenceClientError(f"cannot reach Vigil at {self.base_url}: {exc}") from None
        if resp.status_code >= 400:
            raise SilenceClientError(_api_message(resp.status_code, resp.text))
        return resp.json() if resp.content else None

    def list(self, filters: list[str]) -> list[dict[str, Any]]:
        return self._request("GET", "/api/v2/silences", params=[("filter", f) for f in filters])

    def get(self, silence_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v2/silence/{silence_id}")

    def post(self, body: dict[str, Any]) -> str:
        """Create (no ``id``) or update a silence; the server's resulting id."""
        return self._request("POST", "/api/v2/silences", json=body)["silenceID"]

    def expire(self, silence_id: str) -> None:
        self._request("DELETE", f"/api/v2/silence/{silence_id}")


def _api_message(status: int, text: str) -> str:
    # The API answers errors with a bare JSON string; anything else is shown as sent.
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        body = body["error"]  # Vigil's access errors (401/403) use Prometheus's envelope
    message = body if isinstance(body, str) else text
    return message.strip() or f"HTTP {status}"


def parse_matcher_args(args: list[str]) -> list[dict[str, Any]]:
    """Matcher arguments as API v2 matcher objects (``name, value, isRegex, isEqual``).

    Raises ValueError naming the bad argument.
    """
    from vigil.model.matchers import MatchType, parse_matchers

    out: list[dict[str, Any]] = []
    for arg in args:
        try:
            matchers = parse_matchers(arg)
        except ValueError as exc:
            # parse_matchers names the offending text already, except for a part of a list.
            message = str(exc)
            if arg.strip() not in message:
                message = f"bad matcher {arg!r}: {message}"
            raise ValueError(message) from None
        if not matchers:
            raise ValueError(f"bad matcher {arg!r}: empty")
        out.extend({"name": m.name, "value": m.value,
                    "isRegex": m.type in (MatchType.REGEX, MatchType.NOT_REGEX),
                    "isEqual": m.type in (MatchType.EQUAL, MatchType.REGEX)} for m in matchers)
    return out


def matcher_text(m: dict[str, Any]) -> str:
    """An API v2 matcher object in Alertmanager syntax, e.g. ``instance=~"web-.*"``."""
    op = ("=~" if m.get("isEqual", True) else "!~") if m.get("isRegex") else \
         ("=" if m.get("isEqual", True) else "!=")
    value = str(m.get("value", "")).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{m.get("name")}{op}"{value}"'


def parse_rfc3339(text: str, option: str) -> datetime:
    """An RFC 3339 time with a zone (``Z`` or ``+hh:mm``), as UTC: amtool's
    ``time.Parse(time.RFC3339, ...)``."""
    try:
        return go_parse_rfc3339(text.strip())
    except ValueError:
        pass
    try:
        zoneless = datetime.fromisoformat(text.strip()).tzinfo is None
    except ValueError:
        zoneless = False
    if zoneless:
        raise ValueError(f"{option}: {text!r} has no time zone (add Z or +hh:mm)")
    raise ValueError(f"{option}: {text!r} is not an RFC 3339 time")


def parse_duration(text: str) -> timedelta:
    """A positive Prometheus duration."""
    from vigil.gocompat.durations import parse_duration_ms

    try:
        ms = parse_duration_ms(text)
    except ValueError as exc:
        raise ValueError(f"--duration: {exc}") from None
    if ms <= 0:
        raise ValueError(f"--duration: {text!r} must be greater than 0")
    return timedelta(milliseconds=ms)


def _client(url: str | None, token: str | None) -> Client:
    if url is None:
        from vigil.config import DEFAULT_LISTEN

        url = f"http://{DEFAULT_LISTEN}"
    return Client(url, token)


@silence_cli.command("add")
def add(
    matchers: Annotated[list[str], typer.Argument(help='Matchers: name=value, name=~"regex", name!=value ...')],
    comment: Annotated[str, typer.Option("--comment", "-c", help="Why the silence exists.")],
    author: Annotated[str | None, typer.Option(
        "--author", "-a", help="Who creates it. (default: $USER, else vigil)")] = None,
    duration: DurationOption = None,
    end: EndOption = None,
    start: Annotated[str | None, typer.Option("--start", help="Start time (RFC 3339). (default: now)")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Add a silence and print its id. Without --duration or --end it lasts 1h."""
    try:
        body_matchers = parse_matcher_args(matchers)
        if duration is not None and end is not None:
            raise ValueError("give --duration or --end, not both")
        starts = parse_rfc3339(start, "--start") if start else datetime.now(timezone.utc)
        if end is not None:
            ends = parse_rfc3339(end, "--end")
        else:
            ends = starts + parse_duration(duration or "1h")
        if ends < starts:
            raise ValueError("the end time must not be before the start time")
        body = {"matchers": body_matchers, "startsAt": format_rfc3339_millis(starts), "endsAt": format_rfc3339_millis(ends),
                "createdBy": author or os.environ.get("USER") or "vigil", "comment": comment}
        typer.echo(_client(url, token).post(body))
    except (ValueError, SilenceClientError) as exc:
        fail(exc)


@silence_cli.command("query")
def query(
    matchers: Annotated[list[str] | None, typer.Argument(help="Only silences with these matchers.")] = None,
    expired: Annotated[bool, typer.Option("--expired", help="Include expired silences.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List active and pending silences (with --expired, expired ones too)."""
    try:
        parse_matcher_args(matchers or [])  # a clear message before the server's
        silences = _client(url, token).list(matchers or [])
    except (ValueError, SilenceClientError) as exc:
        fail(exc)
    if not expired:
        silences = [s for s in silences if s.get("status", {}).get("state") != "expired"]
    if as_json:
        typer.echo(json.dumps(silences, indent=2))
        return
    _print_table(silences)


def _print_table(silences: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped output: don't squeeze ids and matchers into 80 columns.
        console = Console(width=240)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("ID", "Matchers", "Starts At", "Ends At", "Created By", "Comment", "State"):
        table.add_column(name, no_wrap=name in ("ID", "Starts At", "Ends At", "State"))
    for s in silences:
        table.add_row(s.get("id", ""), " ".join(matcher_text(m) for m in s.get("matchers", [])),
                      s.get("startsAt", ""), s.get("endsAt", ""), s.get("createdBy", ""),
                      s.get("comment", ""), s.get("status", {}).get("state", ""))
    console.print(table, soft_wrap=False)


@silence_cli.command("expire")
def expire(
    ids: Annotated[list[str], typer.Argument(help="Ids of the silences to expire.")],
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Expire silences now. Tries every id; exits 1 if any failed."""
    client = _client(url, token)
    failed = False
    for silence_id in ids:
        try:
            client.expire(silence_id)
        except SilenceClientError as exc:
            typer.echo(f"error: {exc}", err=True)
            failed = True
    if failed:
        raise typer.Exit(1)


@silence_cli.command("update")
def update(
    silence_id: Annotated[str, typer.Argument(help="Id of the silence to change.")],
    duration: Annotated[str | None, typer.Option(
        "--duration", "-d", help="New length, counted from now (or from the start if pending).")] = None,
    end: EndOption = None,
    comment: Annotated[str | None, typer.Option("--comment", "-c", help="New comment.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Change a silence's end or comment and print the resulting id.

    The server updates in place when it can (same matchers, unchanged start of an active
    silence); otherwise it expires the old silence and the printed id is a new one.
    """
    try:
        if duration is not None and end is not None:
            raise ValueError("give --duration or --end, not both")
        if duration is None and end is None and comment is None:
            raise ValueError("nothing to change: give --duration, --end or --comment")
        client = _client(url, token)
        silence = client.get(silence_id)
        body = {k: silence[k] for k in ("id", "matchers", "startsAt", "endsAt", "createdBy", "comment")}
        if end is not None:
            body["endsAt"] = format_rfc3339_millis(parse_rfc3339(end, "--end"))
        elif duration is not None:
            starts = parse_rfc3339(silence["startsAt"], "startsAt")
            body["endsAt"] = format_rfc3339_millis(max(starts, datetime.now(timezone.utc)) + parse_duration(duration))
        if comment is not None:
            body["comment"] = comment
        typer.echo(client.post(body))
    except (ValueError, SilenceClientError) as exc:
        fail(exc)
