"""Fixtures for the cluster tests: ``store`` (a fresh state store on SQLite, then on the
session's PostgreSQL, as in tests/state) and the session PostgreSQL itself."""

from __future__ import annotations

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import store  # noqa: F401
