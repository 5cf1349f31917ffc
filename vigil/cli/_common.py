"""Helpers shared by the command modules."""

from __future__ import annotations

from typing import NoReturn

import typer


def fail(exc: Exception | str) -> NoReturn:
    """Print ``error: <message>`` to stderr and exit 1."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)
