"""The PostgreSQL collector against a real server, its streaming replica, a real deadlock
and a real idle-in-transaction session."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from vigil.collect.exporters import CollectorError, PostgresCollector
from vigil.config.model import PostgresCollectorConfig

from .conftest import PostgresServer, free_port
from .pages import values

ENV = "VIGIL_TEST_PGPASSWORD"



@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch, postgres_server: PostgresServer) -> None:
    monkeypatch.setenv(ENV, postgres_server.password)


def collector(server: PostgresServer, dbname: str = "postgres",
              **kw: object) -> PostgresCollector:
    dsn = server.dsn.rsplit("/", 1)[0] + f"/{dbname}"
    return PostgresCollector(PostgresCollectorConfig(name="main", dsn=dsn, password_env=ENV,
                                                     **kw))


@pytest.fixture
def database(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of the test's own, so sessions of other tests do not count."""
    name = "t_" + request.node.name.removeprefix("test_")[:40].lower()
    with postgres_server.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with postgres_server.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for(check: Callable[[], dict[str, float] | None], timeout_s: float = 15) -> dict[str, float]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_server_metrics(postgres_server: PostgresServer) -> None:
    v = values(collector(postgres_server).collect())
    assert v["pg_up"] == 1
    with postgres_server.connect() as conn:
        row = conn.execute("SHOW max_connections").fetchone()
        assert row is not None
        assert v["pg_settings_max_connections"] == float(row[0])
    assert v['pg_database_size_bytes{datname="postgres"}'] > 1_000_000
    assert 'pg_stat_activity_count{datname="postgres",state="active"}' in v
    assert v['pg_stat_database_xact_commit{datname="postgres"}'] > 0
    assert 0 < v['pg_cache_hit_ratio{datname="postgres"}'] <= 1
    assert v["pg_replication_is_replica"] == 0
    assert v["pg_replication_lag_seconds"] == 0
    assert v['vigil_collector_up{collector="main"}'] == 1


def test_connections_by_state_and_idle_in_transaction(postgres_server: PostgresServer,
                                                      database: str) -> None:
    key = f'{{datname="{database}"}}'
    long_threshold = collector(postgres_server, idle_in_transaction_threshold=300)
    short_threshold = collector(postgres_server, idle_in_transaction_threshold=0.5)
    with postgres_server.connect(database) as idle_tx, postgres_server.connect(database,
                                                                               autocommit=True):
        idle_tx.execute("SELECT 1")  # opens a transaction and leaves it idle
        v = values(long_threshold.collect())
        assert v[f'pg_stat_activity_count{{datname="{database}",state="idle in transaction"}}'] == 1
        assert v[f'pg_stat_activity_count{{datname="{database}",state="idle"}}'] == 1
        assert v[f'pg_stat_activity_max_tx_duration{{datname="{database}",'
                 'state="idle in transaction"}'] > 0
        assert v[f"pg_idle_in_transaction_sessions{key}"] == 0
        v = wait_for(lambda: (lambda v: v if v[f"pg_idle_in_transaction_sessions{key}"] == 1
                              else None)(values(short_threshold.collect())))
        idle_tx.rollback()
    v = values(short_threshold.collect())
    assert v[f"pg_idle_in_transaction_sessions{key}"] == 0
    assert v[f'pg_stat_activity_count{{datname="{database}",state="idle in transaction"}}'] == 0


def test_deadlock_is_counted(postgres_server: PostgresServer, database: str) -> None:
    key = f'pg_stat_database_deadlocks{{datname="{database}"}}'
    c = collector(postgres_server)
    before = values(c.collect())[key]
    with postgres_server.connect(database, autocommit=True) as setup:
        setup.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int)")
        setup.execute("INSERT INTO accounts VALUES (1, 100), (2, 100)")
    a, b = postgres_server.connect(database), postgres_server.connect(database)
    errors: list[BaseException] = []

    def second_lock(conn: psycopg.Connection, row: int) -> None:
        try:
            conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = %s", (row,))
        except psycopg.errors.DeadlockDetected as e:
            errors.append(e)
        finally:
            conn.rollback()

    try:
        a.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 1")
        b.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 2")
        waiter = threading.Thread(target=second_lock, args=(a, 2))
        waiter.start()
        time.sleep(0.2)  # let a block on row 2 first; the deadlock happens either way
        second_lock(b, 1)
        waiter.join(timeout=20)
    finally:
        a.close()
        b.close()
    assert len(errors) == 1
    wait_for(lambda: (lambda v: v if v[key] >= before + 1 else None)(values(c.collect())))


def test_largest_tables(postgres_server: PostgresServer, database: str) -> None:
    with postgres_server.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad "
                     "FROM generate_series(1, 5000) g")
        conn.execute("CREATE TABLE small (id int)")
    v = values(collector(postgres_server, database, largest_tables=1).collect())
    tables = {k: val for k, val in v.items() if k.startswith("pg_table_size_bytes")}
    assert list(tables) == [
        f'pg_table_size_bytes{{datname="{database}",relname="big",schemaname="public"}}']
    assert next(iter(tables.values())) > 1_000_000


def test_replica_reports_lag_and_primary_its_replicas(
        postgres_server: PostgresServer, postgres_replica: PostgresServer) -> None:
    v = values(collector(postgres_replica).collect())
    assert v["pg_replication_is_replica"] == 1
    assert v["pg_replication_lag_seconds"] >= 0
    assert v['vigil_collector_up{collector="main"}'] == 1

    def streaming() -> dict[str, float] | None:
        v = values(collector(postgres_server).collect())
        return v if any(k.startswith("pg_stat_replication_pg_wal_lsn_diff") and
                        'state="streaming"' in k for k in v) else None

    v = wait_for(streaming)
    assert all(val >= 0 for k, val in v.items() if k.startswith("pg_stat_replication_"))


def test_wrong_password_is_a_clear_error(postgres_server: PostgresServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "not-the-password")
    with pytest.raises(CollectorError, match="password authentication failed") as info:
        collector(postgres_server).collect()
    assert f"127.0.0.1:{postgres_server.port}" in str(info.value)
    assert "not-the-password" not in str(info.value)


def test_server_down_and_missing_password_are_clear_errors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    config = PostgresCollectorConfig(name="main", dsn=f"postgresql://vigil@127.0.0.1:{port}/x",
                                     password_env=ENV, timeout=2)
    with pytest.raises(CollectorError,
                       match=f"connection to 127.0.0.1:{port} failed: Connection refused"):
        PostgresCollector(config).collect()
    monkeypatch.delenv(ENV)
    with pytest.raises(CollectorError, match=f"environment variable {ENV} is not set"):
        PostgresCollector(config).collect()


def test_config_refuses_passwords_in_the_dsn() -> None:
    with pytest.raises(ValueError, match="must not contain a password"):
        PostgresCollectorConfig(name="m", dsn="postgresql://vigil:pw@127.0.0.1/db")
    with pytest.raises(ValueError, match="must not contain a password"):
        PostgresCollectorConfig(name="m", dsn="host=127.0.0.1 password=pw")
