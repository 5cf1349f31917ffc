"""Helpers shared by the command modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer

from vigil.model.features import KNOWN_FEATURES, UnknownFeatureError, parse_features


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
