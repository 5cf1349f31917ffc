"""Helpers shared by the command modules."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from vigil.model.features import KNOWN_FEATURES, UnknownFeatureError, parse_features


def fail(exc: Exception | str) -> NoReturn:
    """Print ``error: <message>`` to stderr and exit 1."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


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
