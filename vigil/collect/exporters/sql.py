"""Business metrics from SQL queries the user writes (C8), against PostgreSQL or any database
SQLAlchemy reaches (``sqlite:///…``, ``mysql+pymysql://…`` with its driver installed).

Each configured query becomes gauge samples: one per result row, named ``metric``, with the
``labels`` columns as labels (NULL becomes the empty string) and the ``value`` column as the
value (numbers, booleans as 1/0, timestamps as unix seconds; a NULL value skips the row).
On PostgreSQL, queries run in read-only transactions with the collector's ``timeout`` as
statement timeout, so a mistyped ``DELETE`` cannot change data and a slow report cannot hang
the scrape. On other databases they run in one transaction that is always rolled back (no
portable statement timeout exists there; the scrape timeout still bounds the collector).

A failing query does not hide the others: the page then has ``vigil_collector_up`` 0 and the
errors in ``vigil_collector_last_error_info``. An unreachable server or a refused login
raises :class:`CollectorError`. ``vigil_sql_query_duration_seconds{metric}`` says how long
each query took.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy.pool import NullPool

from vigil.collect.exporters._expfmt import Page
from vigil.collect.exporters._pg import connect, describe_error
from vigil.collect.exporters._secret import read_password
from vigil.collect.local import CollectorError
from vigil.config.model import SQLCollectorConfig, SQLQueryConfig

__all__ = ["SQLCollector"]


class SQLCollector:
    """Runs one collector's queries on one connection per :meth:`collect` call."""

    def __init__(self, config: SQLCollectorConfig) -> None:
        self.config = config

    def collect(self) -> str:
        cfg = self.config
        page = Page()
        errors: list[str] = []
        with self._session() as run:
            for query in cfg.queries:
                start = time.perf_counter()
                try:
                    columns, rows = run(query.query)
                    _add_samples(page, query, columns, rows)
                except (psycopg.Error, sqlalchemy.exc.SQLAlchemyError, ValueError) as e:
                    errors.append(f"{query.metric}: {_describe(e)}")
                page.sample("vigil_sql_query_duration_seconds", time.perf_counter() - start,
                            {"metric": query.metric},
                            help_text="How long the query took, seconds")
        page.collector_health(cfg.name, errors)
        return page.text()

    @contextmanager
    def _session(self) -> Iterator[Callable[[str], tuple[list[str], Sequence[Any]]]]:
        """A function running one query, returning (column names, rows)."""
        cfg = self.config
        if is_libpq_dsn(cfg.dsn):
            with connect(f"sql {cfg.name}", cfg.dsn, cfg.password_env, cfg.password_file,
                         cfg.timeout, read_only=True) as conn:
                def run_pg(text: str) -> tuple[list[str], Sequence[Any]]:
                    cur = conn.execute(text)
                    if cur.description is None:
                        raise ValueError("the query returned no rows (not a SELECT?)")
                    return [d.name for d in cur.description], cur.fetchall()
                yield run_pg
            return
        url = sqlalchemy.make_url(cfg.dsn)
        password = read_password(f"sql {cfg.name}", cfg.password_env, cfg.password_file)
        if password is not None:
            url = url.set(password=password)
        engine = sqlalchemy.create_engine(url, poolclass=NullPool)
        try:
            conn = engine.connect()
        except sqlalchemy.exc.SQLAlchemyError as e:
            raise CollectorError(f"sql {cfg.name}: cannot connect: {_describe(e)}") from None
        try:
            with conn.begin() as tx:
                def run_any(text: str) -> tuple[list[str], Sequence[Any]]:
                    result = conn.execute(sqlalchemy.text(text))
                    if not result.returns_rows:
                        raise ValueError("the query returned no rows (not a SELECT?)")
                    return list(result.keys()), result.fetchall()
                try:
                    yield run_any
                finally:
                    tx.rollback()  # whatever a query did is undone
        finally:
            conn.close()
            engine.dispose()


def is_libpq_dsn(dsn: str) -> bool:
    """PostgreSQL connection strings psycopg takes: URIs or ``key=value`` pairs."""
    return dsn.startswith(("postgresql://", "postgres://")) or "://" not in dsn


def _describe(e: Exception) -> str:
    if isinstance(e, psycopg.Error):
        return describe_error(e)
    if isinstance(e, sqlalchemy.exc.DBAPIError) and e.orig is not None:
        return str(e.orig).strip().splitlines()[0]
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _add_samples(page: Page, query: SQLQueryConfig, columns: list[str], rows: Sequence[Any]) -> None:
    missing = [c for c in [query.value, *query.labels] if c not in columns]
    if missing:
        raise ValueError(f"result has no column {missing[0]!r} (columns: {', '.join(columns)})")
    value_at = columns.index(query.value)
    label_at = [(name, columns.index(name)) for name in query.labels]
    samples: dict[tuple[str, ...], tuple[dict[str, str], float]] = {}
    for row in rows:
        value = _number(row[value_at], query.value)
        if value is None:
            continue
        labels = {name: "" if row[i] is None else str(row[i]) for name, i in label_at}
        key = tuple(labels.values())
        if key in samples:  # all or nothing: half a result would mislead
            raise ValueError(f"two rows have the same labels {labels}")
        samples[key] = (labels, value)
    page.family(query.metric, "gauge", query.help or f"SQL query {query.metric}")
    for labels, value in samples.values():
        page.sample(query.metric, value, labels)


def _number(value: object, column: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float | decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day,
                           tzinfo=dt.timezone.utc).timestamp()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    try:
        return float(str(value))
    except ValueError:
        raise ValueError(f"column {column!r} is not numeric: {str(value)[:40]!r}") from None
