"""A real PostgreSQL for the store tests: the exporter tests' session server, shared."""

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
