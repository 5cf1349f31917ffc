"""PostgreSQL server metrics (C4), named as postgres_exporter names them where it has the
metric, plus Vigil's own for the runbook's questions (idle-in-transaction sessions, longest
transaction, largest tables, cache hit ratio).

postgres_exporter names: ``pg_up``, ``pg_settings_max_connections``,
``pg_stat_activity_count{datname,state}``, ``pg_stat_activity_max_tx_duration{datname,state}``,
``pg_stat_database_<column>{datname}`` (numbackends, xact_commit, xact_rollback, blks_read,
blks_hit, tup_*, conflicts, temp_files, temp_bytes, deadlocks), ``pg_database_size_bytes``,
``pg_replication_lag_seconds``, ``pg_replication_is_replica``,
``pg_stat_replication_pg_wal_lsn_diff{application_name,client_addr,state}`` (bytes).
Vigil's: ``pg_idle_in_transaction_sessions{datname}`` (idle in a transaction for longer than
``idle_in_transaction_threshold``), ``pg_stat_replication_replay_lag_seconds``,
``pg_table_size_bytes{datname,schemaname,relname}`` (the ``largest_tables`` biggest tables,
indexes and TOAST included, of the database the DSN names), ``pg_cache_hit_ratio{datname}``
(0..1, absent before any block was read).

Each :meth:`PostgresCollector.collect` opens one connection and closes it. If the server
cannot be reached or refuses the login it raises :class:`CollectorError` (the scrape then
stores ``pg_up`` 0 and ``vigil_collector_up`` 0, see :mod:`._health`); if only some
queries fail (permissions, say) the rest is still reported, with
``vigil_collector_up{collector}`` = 0 and the error in ``vigil_collector_last_error_info``.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from vigil.collect.exporters._expfmt import Page
from vigil.collect.exporters._pg import connect, describe_error
from vigil.config.model import PostgresCollectorConfig

__all__ = ["PostgresCollector"]

_STATES = ("active", "idle", "idle in transaction", "idle in transaction (aborted)",
           "fastpath function call", "disabled")

_ACTIVITY = """
WITH states(state) AS (SELECT unnest(%(states)s::text[]))
SELECT d.datname, s.state, count(a.pid),
       coalesce(max(extract(epoch FROM clock_timestamp() - a.xact_start)), 0)
FROM pg_database d CROSS JOIN states s
LEFT JOIN pg_stat_activity a
  ON a.datname = d.datname AND a.state = s.state AND a.pid <> pg_backend_pid()
WHERE NOT d.datistemplate
GROUP BY 1, 2 ORDER BY 1, 2
"""

_IDLE_IN_TX = """
SELECT d.datname, count(a.pid)
FROM pg_database d
LEFT JOIN pg_stat_activity a
  ON a.datname = d.datname
 AND a.state IN ('idle in transaction', 'idle in transaction (aborted)')
 AND a.state_change < clock_timestamp() - make_interval(secs => %(threshold)s)
WHERE NOT d.datistemplate
GROUP BY 1 ORDER BY 1
"""

# (column, type, help) of pg_stat_database, as postgres_exporter exposes them.
_DB_STATS = (
    ("numbackends", "gauge", "Number of backends currently connected to this database"),
    ("xact_commit", "counter", "Number of transactions in this database that have been committed"),
    ("xact_rollback", "counter", "Number of transactions in this database that have been rolled back"),
    ("blks_read", "counter", "Number of disk blocks read in this database"),
    ("blks_hit", "counter", "Number of times disk blocks were found already in the buffer cache"),
    ("tup_returned", "counter", "Number of rows returned by queries in this database"),
    ("tup_fetched", "counter", "Number of rows fetched by queries in this database"),
    ("tup_inserted", "counter", "Number of rows inserted by queries in this database"),
    ("tup_updated", "counter", "Number of rows updated by queries in this database"),
    ("tup_deleted", "counter", "Number of rows deleted by queries in this database"),
    ("conflicts", "counter", "Number of queries canceled due to conflicts with recovery"),
    ("temp_files", "counter", "Number of temporary files created by queries in this database"),
    ("temp_bytes", "counter", "Total amount of data written to temporary files by queries"),
    ("deadlocks", "counter", "Number of deadlocks detected in this database"),
)

_REPLICA_LAG = """
SELECT pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(greatest(0, extract(epoch FROM now()
                                              - pg_last_xact_replay_timestamp())), 0)
       END
"""

_REPLICATION = """
SELECT application_name, coalesce(host(client_addr), ''), coalesce(state, ''),
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0),
       coalesce(extract(epoch FROM replay_lag), 0)
FROM pg_stat_replication
"""

_TABLES = """
SELECT current_database(), schemaname, relname, pg_total_relation_size(relid)
FROM pg_statio_user_tables ORDER BY 4 DESC, 2, 3 LIMIT %(limit)s
"""


class PostgresCollector:
    """Collects one PostgreSQL server. Safe to call from one thread at a time."""

    def __init__(self, config: PostgresCollectorConfig) -> None:
        self.config = config

    def collect(self) -> str:
        """The exposition page; raises :class:`CollectorError` if the server is unreachable."""
        cfg = self.config
        with connect(f"postgres {cfg.name}", cfg.dsn, cfg.password_env, cfg.password_file,
                     cfg.timeout) as conn:
            page = Page()
            page.sample("pg_up", 1, help_text="Whether the last scrape could connect to the server")
            errors: list[str] = []
            sections: list[Callable[[psycopg.Connection, Page], None]] = [
                _settings, self._activity, _database_stats, _replication, self._tables]
            for section in sections:
                try:
                    section(conn, page)
                except psycopg.Error as e:
                    errors.append(f"{section.__name__.strip('_')}: {describe_error(e)}")
        page.collector_health(cfg.name, errors)
        return page.text()

    def _activity(self, conn: psycopg.Connection, page: Page) -> None:
        page.family("pg_stat_activity_count", "gauge", "number of connections in this state")
        page.family("pg_stat_activity_max_tx_duration", "gauge",
                    "max duration in seconds any active transaction has been running")
        for datname, state, count, max_tx in conn.execute(_ACTIVITY, {"states": list(_STATES)}):
            labels = {"datname": datname, "state": state}
            page.sample("pg_stat_activity_count", count, labels)
            page.sample("pg_stat_activity_max_tx_duration", float(max_tx), labels)
        threshold = self.config.idle_in_transaction_threshold
        for datname, count in conn.execute(_IDLE_IN_TX, {"threshold": threshold}):
            page.sample("pg_idle_in_transaction_sessions", count, {"datname": datname},
                        help_text=f"Sessions idle in a transaction for more than {threshold:g}s")

    def _tables(self, conn: psycopg.Connection, page: Page) -> None:
        if self.config.largest_tables == 0:
            return
        for datname, schema, rel, size in conn.execute(
                _TABLES, {"limit": self.config.largest_tables}):
            page.sample("pg_table_size_bytes", size,
                        {"datname": datname, "schemaname": schema, "relname": rel},
                        help_text="Disk space used by the table, its indexes and TOAST, bytes")


def _settings(conn: psycopg.Connection, page: Page) -> None:
    row = conn.execute("SELECT setting::float FROM pg_settings "
                       "WHERE name = 'max_connections'").fetchone()
    if row is not None:
        page.sample("pg_settings_max_connections", row[0],
                    help_text="Sets the maximum number of concurrent connections.")


def _database_stats(conn: psycopg.Connection, page: Page) -> None:
    columns = ", ".join(c for c, _, _ in _DB_STATS)
    for row in conn.execute(f"SELECT datname, {columns} FROM pg_stat_database "
                            "WHERE datname IS NOT NULL ORDER BY datname"):
        labels = {"datname": row[0]}
        stats = dict(zip((c for c, _, _ in _DB_STATS), row[1:], strict=True))
        for column, kind, help_text in _DB_STATS:
            page.sample(f"pg_stat_database_{column}", float(stats[column] or 0), labels,
                        kind=kind, help_text=help_text)
        reads = (stats["blks_hit"] or 0) + (stats["blks_read"] or 0)
        if reads:
            page.sample("pg_cache_hit_ratio", stats["blks_hit"] / reads, labels,
                        help_text="Share of block reads served from shared buffers (0..1)")
    for datname, size in conn.execute(
            "SELECT datname, pg_database_size(datname) FROM pg_database "
            "WHERE datallowconn AND has_database_privilege(datname, 'CONNECT') ORDER BY 1"):
        page.sample("pg_database_size_bytes", size, {"datname": datname},
                    help_text="Disk space used by the database")


def _replication(conn: psycopg.Connection, page: Page) -> None:
    row = conn.execute(_REPLICA_LAG).fetchone()
    assert row is not None
    in_recovery, lag = row
    page.sample("pg_replication_is_replica", 1 if in_recovery else 0,
                help_text="Indicates if the server is a replica")
    page.sample("pg_replication_lag_seconds", float(lag),
                help_text="Replication lag behind master in seconds (0 on a primary)")
    if in_recovery:
        return
    for app, addr, state, diff, replay_lag in conn.execute(_REPLICATION):
        labels = {"application_name": app, "client_addr": addr, "state": state}
        page.sample("pg_stat_replication_pg_wal_lsn_diff", float(diff), labels,
                    help_text="Lag in bytes between master and slave")
        page.sample("pg_stat_replication_replay_lag_seconds", float(replay_lag), labels,
                    help_text="Time since the standby last replayed WAL the primary flushed")
