"""Helpers shared by the command modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from vigil.model.features import KNOWN_FEATURES, UnknownFeatureError, parse_features

if TYPE_CHECKING:
    import httpx


def fail(exc: Exception | str) -> NoReturn:
    """Print ``error: <message>`` to stderr and exit 1."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def usage_error(message: str) -> NoReturn:
    """Print ``error: <message>`` to stderr and exit 2 (a wrong option or argument)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def time_option(text: str | None, option: str) -> datetime:
    """An RFC 3339 time given to ``option`` (such as ``--at``); now when not given."""
    from vigil.gocompat.times import parse_rfc3339  # imported when used: the CLI starts fast

    if text is None:
        return datetime.now(UTC)
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        usage_error(f"{option}: {exc}")


def utc_text(at: datetime) -> str:
    """``at`` in RFC 3339 as UTC with a ``Z``: ``2026-05-04T09:00:00Z``."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def api_base(url: str | None) -> str:
    """The running Vigil to ask: ``--url``, else the default listen address."""
    from vigil.config import DEFAULT_LISTEN

    return (url or f"http://{DEFAULT_LISTEN}").rstrip("/")


def api_refusal(resp: httpx.Response) -> str:
    """Why an API refused: its ``error``, else the start of the answer's text."""
    try:
        return resp.json()["error"]
    except (ValueError, KeyError, TypeError):
        return resp.text.strip()[:300]


def api_call(method: str, path: str, url: str | None, token: str | None, body: dict[str, Any] | None = None,
             params: dict[str, str] | None = None, *, accept: tuple[int, ...] = (200,),
             name_path: bool = True) -> httpx.Response:
    """One request to a running Vigil's API, ``token`` as the bearer and a ``body`` sent with
    ``"via": "cli"``. Exits 1 when Vigil cannot be reached or answers other than ``accept``:
    ``error: <path> answered <status>: <why>`` (without ``<path> answered`` unless ``name_path``)."""
    import httpx

    base = api_base(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = httpx.request(method, f"{base}{path}", json=None if body is None else {**body, "via": "cli"},
                             params=params, headers=headers, timeout=30.0)
    except httpx.HTTPError as exc:
        fail(f"cannot reach Vigil at {base}: {exc}")
    if resp.status_code not in accept:
        fail(f"{path} answered {resp.status_code}: {api_refusal(resp)}" if name_path
             else f"{resp.status_code}: {api_refusal(resp)}")
    return resp


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON, keys sorted (what ``--json`` prints)."""
    import json

    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def _check_features(names: list[str] | None) -> list[str] | None:
    """An unknown name is a usage error (exit 2) that lists the known ones."""
    try:
        parse_features(names or [])
    except UnknownFeatureError as exc:
        raise typer.BadParameter(str(exc)) from None
    return names


# ``--enable-feature``, as Prometheus and promtool spell it: repeatable and comma-separated.
FeaturesOption = Annotated[list[str] | None, typer.Option(
    "--enable-feature", metavar="NAME[,NAME...]", callback=_check_features,
    help=f"Enable Prometheus features (repeatable, comma-separated): {', '.join(KNOWN_FEATURES)}.")]
