"""Business metrics from SQL queries the user writes (C8), against PostgreSQL.

Each configured query becomes gauge samples: one per result row, named ``metric``, with the
``labels`` columns as labels (NULL becomes the empty string) and the ``value`` column as the
value (numbers, booleans as 1/0, timestamps as unix seconds; a NULL value skips the row).
Queries run in read-only transactions with the collector's ``timeout`` as statement timeout,
so a mistyped ``DELETE`` cannot change data and a slow report cannot hang the scrape.

A failing query does not hide the others: the page then has ``vigil_collector_up`` 0 and the
errors in ``vigil_collector_last_error_info``. An unreachable server or a refused login
raises :class:`CollectorError`. ``vigil_sql_query_duration_seconds{metric}`` says how long
each query took.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time

import psycopg

from vigil.collect.exporters._expfmt import Page
from vigil.collect.exporters._pg import connect, describe_error
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
        with connect(f"sql {cfg.name}", cfg.dsn, cfg.password_env, cfg.password_file,
                     cfg.timeout, read_only=True) as conn:
            for query in cfg.queries:
                start = time.perf_counter()
                try:
                    self._run(conn, query, page)
                except (psycopg.Error, ValueError) as e:
                    text = describe_error(e) if isinstance(e, psycopg.Error) else str(e)
                    errors.append(f"{query.metric}: {text}")
                page.sample("vigil_sql_query_duration_seconds", time.perf_counter() - start,
                            {"metric": query.metric},
                            help_text="How long the query took, seconds")
        page.collector_health(cfg.name, errors)
        return page.text()

    def _run(self, conn: psycopg.Connection, query: SQLQueryConfig, page: Page) -> None:
        cur = conn.execute(query.query)
        if cur.description is None:
            raise ValueError("the query returned no rows (not a SELECT?)")
        columns = [d.name for d in cur.description]
        missing = [c for c in [query.value, *query.labels] if c not in columns]
        if missing:
            raise ValueError(f"result has no column {missing[0]!r} (columns: "
                             f"{', '.join(columns)})")
        value_at = columns.index(query.value)
        label_at = [(name, columns.index(name)) for name in query.labels]
        rows = cur.fetchall()
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
