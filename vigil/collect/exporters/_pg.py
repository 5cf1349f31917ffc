"""Connecting to PostgreSQL for the postgres and sql collectors, with readable errors."""

from __future__ import annotations

import math

import psycopg
from psycopg.conninfo import conninfo_to_dict

from vigil.collect.exporters._expfmt import CollectorError
from vigil.collect.exporters._secret import read_password

__all__ = ["connect", "describe_error", "server_address"]


def server_address(dsn: str) -> str:
    """``host:port`` of a DSN as libpq would use it (defaults: local socket, 5432)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "?"
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"


def describe_error(e: psycopg.Error) -> str:
    """The useful part of a libpq error: its last ``failed:`` clause, first line only.

    libpq says 'connection to server at "127.0.0.1", port 5432 failed: Connection refused
    \\n\\tIs the server running...'; we keep 'Connection refused'.
    """
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    head, sep, tail = text.rpartition("failed: ")
    return tail.strip() if sep and tail.strip() else text


def connect(what: str, dsn: str, password_env: str | None, password_file: str | None,
            timeout_s: float, *, read_only: bool = False) -> psycopg.Connection:
    """An autocommit connection whose statements time out after ``timeout_s`` seconds;
    with ``read_only`` every statement runs in a read-only transaction.

    Raises :class:`CollectorError` saying e.g. ``postgres main: connection to
    127.0.0.1:5432 failed: Connection refused``; the password never appears.
    """
    password = read_password(what, password_env, password_file)
    kwargs: dict[str, object] = {}
    if password is not None:
        kwargs["password"] = password
    options = f"-c statement_timeout={int(timeout_s * 1000)}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    try:
        return psycopg.connect(
            dsn, autocommit=True, connect_timeout=max(1, math.ceil(timeout_s)),
            application_name="vigil", options=options, **kwargs)
    except psycopg.Error as e:
        raise CollectorError(f"{what}: connection to {server_address(dsn)} failed: "
                             f"{describe_error(e)}") from None
