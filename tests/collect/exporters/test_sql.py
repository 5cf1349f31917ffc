"""Business metrics from the user's SQL queries, against the real PostgreSQL fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vigil.collect.exporters import CollectorError, SQLCollector
from vigil.config.model import SQLCollectorConfig

from .conftest import PostgresServer
from .pages import values

ENV = "VIGIL_TEST_SQL_PASSWORD"


@pytest.fixture(scope="module")
def shop(postgres_server: PostgresServer) -> Iterator[str]:
    """A database with orders in three states and two payment providers."""
    with postgres_server.connect(autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS shop WITH (FORCE)")
        conn.execute("CREATE DATABASE shop")
    with postgres_server.connect("shop", autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id serial, status text, provider text, "
                     "amount numeric(10,2), created timestamptz)")
        conn.execute("""INSERT INTO orders (status, provider, amount, created) VALUES
            ('paid', 'card', 10.50, '2026-11-01T00:00:00Z'),
            ('paid', 'card', 20.00, '2026-11-02T00:00:00Z'),
            ('paid', NULL, 5.25, '2026-11-03T00:00:00Z'),
            ('failed', 'card', 99.99, '2026-11-04T00:00:00Z'),
            ('pending', 'invoice', 1.00, '2026-11-05T00:00:00Z')""")
    yield postgres_server.dsn.rsplit("/", 1)[0] + "/shop"
    with postgres_server.connect(autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS shop WITH (FORCE)")


def collector(dsn: str, *queries: dict[str, object]) -> SQLCollector:
    return SQLCollector(SQLCollectorConfig(name="shop", dsn=dsn, password_env=ENV,
                                           queries=list(queries)))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch, postgres_server: PostgresServer) -> None:
    monkeypatch.setenv(ENV, postgres_server.password)


def test_rows_become_labelled_gauges(shop: str) -> None:
    v = values(collector(
        shop,
        {"metric": "shop_orders", "labels": ["status"],
         "query": "SELECT status, count(*) AS value FROM orders GROUP BY status"},
        {"metric": "shop_revenue", "labels": ["provider"], "value": "revenue",
         "query": "SELECT provider, sum(amount) AS revenue FROM orders "
                  "WHERE status = 'paid' GROUP BY provider"},
        {"metric": "shop_last_order_timestamp_seconds",
         "query": "SELECT max(created) AS value FROM orders"},
    ).collect())
    assert v['shop_orders{status="paid"}'] == 3
    assert v['shop_orders{status="failed"}'] == 1
    assert v['shop_orders{status="pending"}'] == 1
    assert v['shop_revenue{provider="card"}'] == 30.5
    assert v["shop_revenue"] == 5.25  # NULL label: an empty label is no label
    assert v["shop_last_order_timestamp_seconds"] == 1793836800  # 2026-11-05T00:00:00Z
    assert v['vigil_collector_up{collector="shop"}'] == 1
    assert 'vigil_sql_query_duration_seconds{metric="shop_orders"}' in v


def test_a_broken_query_does_not_hide_the_others(shop: str) -> None:
    v = values(collector(
        shop,
        {"metric": "bad_table", "query": "SELECT count(*) AS value FROM no_such_table"},
        {"metric": "bad_column", "query": "SELECT 1 AS n"},
        {"metric": "dup", "labels": ["status"],
         "query": "SELECT status, 1 AS value FROM orders"},
        {"metric": "good", "query": "SELECT 42 AS value"},
    ).collect())
    assert v["good"] == 42
    assert not any(k.startswith(("bad_", "dup")) for k in v)
    assert v['vigil_collector_up{collector="shop"}'] == 0
    error = next(k for k in v if k.startswith("vigil_collector_last_error_info"))
    assert "no_such_table" in error
    assert "no column 'value'" in error
    assert "same labels" in error


def test_queries_cannot_write(shop: str, postgres_server: PostgresServer) -> None:
    v = values(collector(shop, {
        "metric": "deleted", "query": "WITH d AS (DELETE FROM orders RETURNING 1) "
                                      "SELECT count(*) AS value FROM d"}).collect())
    assert "deleted" not in v
    assert "read-only" in next(k for k in v if k.startswith("vigil_collector_last_error_info"))
    with postgres_server.connect("shop") as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (5,)


def test_wrong_password(shop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "nope")
    with pytest.raises(CollectorError, match="sql shop: .*password authentication failed"):
        collector(shop, {"metric": "x", "query": "SELECT 1 AS value"}).collect()


def test_any_sqlalchemy_url_works_and_never_changes_data(tmp_path):
    import sqlite3

    path = tmp_path / "erp.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE milk (farm TEXT, litres REAL, day TEXT)")
        db.executemany("INSERT INTO milk VALUES (?, ?, ?)",
                       [("north", 1200.5, "2026-11-21"), ("south", 980.0, "2026-11-21")])
    page = SQLCollector(SQLCollectorConfig(name="erp", dsn=f"sqlite:///{path}", queries=[
        {"metric": "milk_litres", "query": "SELECT farm, litres FROM milk", "labels": ["farm"],
         "value": "litres"},
        {"metric": "oops", "query": "DELETE FROM milk", "value": "n"},
    ])).collect()
    got = values(page)
    assert got['milk_litres{farm="north"}'] == 1200.5 and got['milk_litres{farm="south"}'] == 980.0
    assert got['vigil_collector_up{collector="erp"}'] == 0  # the DELETE is reported ...
    assert "oops: the query returned no rows" in page
    with sqlite3.connect(path) as db:  # ... and rolled back
        assert db.execute("SELECT count(*) FROM milk").fetchone()[0] == 2


def test_unreachable_sqlalchemy_database_is_a_collector_error(tmp_path):
    missing = tmp_path / "no" / "such.db"
    with pytest.raises(CollectorError, match="sql erp: cannot connect"):
        SQLCollector(SQLCollectorConfig(name="erp", dsn=f"sqlite:///{missing}", queries=[
            {"metric": "m", "query": "SELECT 1 AS v", "value": "v"}])).collect()


def test_passwords_in_any_url_are_refused():
    with pytest.raises(ValueError, match="must not contain a password"):
        SQLCollectorConfig(name="erp", dsn="mysql+pymysql://erp:s3cret@db/erp",
                           queries=[{"metric": "m", "query": "SELECT 1", "value": "v"}])
