"""Fixtures for the store tests: a real PostgreSQL (the exporter tests' session server, shared)
and ``store``, a fresh Store on each dialect in turn (SQLite, then PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from vigil.state import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> Iterator[Store]:
    """A Store with the current schema on SQLite in tmp_path, or in a new PostgreSQL database
    named after tmp_path (dropped first, should a previous run have left it)."""
    if request.param == "sqlite":
        s = Store.open_in(str(tmp_path))
    else:
        server = request.getfixturevalue("postgres_server")
        dbname = f"vigil_state_{tmp_path.name.lower().replace('-', '_')}"[:60]
        with server.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
            conn.execute(f'CREATE DATABASE "{dbname}"')
        s = Store.open(f"postgresql+psycopg://{server.user}:{server.password}"
                       f"@127.0.0.1:{server.port}/{dbname}")
    yield s
    s.close()


def _fresh_pg_url(server, tmp_path) -> str:
    dbname = f"vigil_state_{tmp_path.name.lower().replace('-', '_')}"[:60]
    with server.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return f"postgresql+psycopg://{server.user}:{server.password}@127.0.0.1:{server.port}/{dbname}"


@pytest.fixture
def pg_url(request, tmp_path) -> str:
    """The URL of a new, empty PostgreSQL database for this test."""
    return _fresh_pg_url(request.getfixturevalue("postgres_server"), tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request, tmp_path) -> Iterator[tuple[Store, Store]]:
    """Two Store objects (two replicas' engines) on one database: a SQLite file, or a new
    PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = _fresh_pg_url(request.getfixturevalue("postgres_server"), tmp_path)
    first = Store.open(url)
    second = Store.open(url)
    yield first, second
    first.close()
    second.close()
