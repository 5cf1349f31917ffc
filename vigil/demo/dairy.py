"""A simulated dairy ERP in SQLite, read by Vigil's real SQL collector: the business figures of
the Smart Dairy runbook (milk collected from farms, sales orders, payments).

The tables borrow the names of the runbook's business review queries (Odoo's ``sale_order``
and ``payment_transaction``) beside ``farm`` and ``milk_collection``. Building
:class:`DairyERP` does no I/O; the first :meth:`DairyERP.collect` creates the database under
the demo's work directory with the last 24 hours of history, and each call then adds the
deliveries, orders and payments of the time since the previous one and runs
:data:`BUSINESS_QUERIES` through :class:`~vigil.collect.exporters.SQLCollector` — the same path
a real ERP takes (``collectors.sql`` with ``dsn: sqlite:///…`` or a PostgreSQL DSN).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable

from vigil.collect.exporters.sql import SQLCollector
from vigil.config.model import SQLCollectorConfig, SQLQueryConfig

__all__ = ["BUSINESS_QUERIES", "DairyERP"]

REGIONS = ("north", "south", "east", "west")
FARMS = 24
DAY_S = 86400.0
KEEP_S = 2 * DAY_S
COLLECTION_EVERY_S = 30.0  # the tanker picks up milk at one farm every half minute
ORDERS_PER_S = 0.05  # three a minute
MAX_STEP_S = 3600.0

_WINDOW_24H = "CAST(strftime('%s', 'now') AS REAL) - 86400"
_WINDOW_1H = "CAST(strftime('%s', 'now') AS REAL) - 3600"

BUSINESS_QUERIES = (
    SQLQueryConfig(
        metric="dairy_milk_collected_litres_24h", labels=["region"],
        help="Milk collected from farms over the last 24 hours, litres, by region",
        query="SELECT f.region, sum(c.litres) AS value FROM milk_collection c "
              f"JOIN farm f ON f.id = c.farm_id WHERE c.collected_at >= {_WINDOW_24H} GROUP BY f.region"),
    SQLQueryConfig(
        metric="dairy_milk_fat_percent_avg_24h",
        help="Average fat content of the milk collected over the last 24 hours, percent",
        query=f"SELECT avg(fat_pct) AS value FROM milk_collection WHERE collected_at >= {_WINDOW_24H}"),
    SQLQueryConfig(
        metric="dairy_farms_active_24h", help="Farms that delivered milk in the last 24 hours",
        query="SELECT count(DISTINCT farm_id) AS value FROM milk_collection "
              f"WHERE collected_at >= {_WINDOW_24H}"),
    SQLQueryConfig(metric="dairy_farms_registered", help="Farms under contract",
                   query="SELECT count(*) AS value FROM farm"),
    SQLQueryConfig(
        metric="dairy_sale_orders_1h", labels=["state"],
        help="Sales orders created in the last hour, by state (draft, sale, cancel)",
        query="SELECT state, count(*) AS value FROM sale_order "
              f"WHERE date_order >= {_WINDOW_1H} GROUP BY state"),
    SQLQueryConfig(
        metric="dairy_revenue_24h", help="Amount of confirmed sales orders over the last 24 hours",
        query="SELECT coalesce(sum(amount_total), 0) AS value FROM sale_order "
              f"WHERE state = 'sale' AND date_order >= {_WINDOW_24H}"),
    SQLQueryConfig(
        metric="dairy_payment_transactions_1h", labels=["state"],
        help="Payment transactions of the last hour, by state (done, pending, error)",
        query="SELECT state, count(*) AS value FROM payment_transaction "
              f"WHERE create_date >= {_WINDOW_1H} GROUP BY state"),
    SQLQueryConfig(
        metric="dairy_payment_processing_seconds_avg_1h",
        help="Average time from a payment's creation to its last update over the last hour, seconds",
        query="SELECT avg(write_date - create_date) AS value FROM payment_transaction "
              f"WHERE state = 'done' AND create_date >= {_WINDOW_1H}"),
)

_SCHEMA = """
CREATE TABLE farm (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL);
CREATE TABLE milk_collection (id INTEGER PRIMARY KEY, farm_id INTEGER NOT NULL REFERENCES farm(id),
    litres REAL NOT NULL, fat_pct REAL NOT NULL, collected_at REAL NOT NULL);
CREATE INDEX milk_collection_at ON milk_collection (collected_at);
CREATE TABLE sale_order (id INTEGER PRIMARY KEY, state TEXT NOT NULL, amount_total REAL NOT NULL,
    date_order REAL NOT NULL);
CREATE INDEX sale_order_date ON sale_order (date_order);
CREATE TABLE payment_transaction (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL,
    state TEXT NOT NULL, amount REAL NOT NULL, create_date REAL NOT NULL, write_date REAL NOT NULL);
CREATE INDEX payment_transaction_date ON payment_transaction (create_date);
"""


class DairyERP:
    """The simulated ERP and the SQL collector reading it; ``collect`` is thread-safe."""

    def __init__(self, work_dir: str, clock: Callable[[], float] = time.time, seed: int = 3) -> None:
        self.path = os.path.join(work_dir, "dairy-erp.db")
        self._clock = clock
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._last: float | None = None
        self.collector = SQLCollector(SQLCollectorConfig(
            name="dairy-erp", dsn=f"sqlite:///{os.path.abspath(self.path)}",
            queries=list(BUSINESS_QUERIES), timeout=5.0))

    def collect(self) -> str:
        """Simulate the business since the last call, then the SQL collector's page."""
        with self._lock:
            now = self._clock()
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with sqlite3.connect(self.path) as db:
                if self._last is None:
                    self._create(db, now)
                else:
                    self._simulate(db, max(self._last, now - MAX_STEP_S), now)
                db.execute("DELETE FROM milk_collection WHERE collected_at < ?", (now - KEEP_S,))
                db.execute("DELETE FROM sale_order WHERE date_order < ?", (now - KEEP_S,))
                db.execute("DELETE FROM payment_transaction WHERE create_date < ?", (now - KEEP_S,))
            db.close()
            self._last = now
        return self.collector.collect()

    def _create(self, db: sqlite3.Connection, now: float) -> None:
        for table in ("payment_transaction", "sale_order", "milk_collection", "farm"):
            db.execute(f"DROP TABLE IF EXISTS {table}")  # a fresh history at every start
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO farm (id, name, region) VALUES (?, ?, ?)",
                       [(i, f"farm-{i:02d}", REGIONS[i % len(REGIONS)]) for i in range(1, FARMS + 1)])
        self._simulate(db, now - DAY_S, now)

    def _simulate(self, db: sqlite3.Connection, start: float, end: float) -> None:
        rnd = self._random
        t = start
        while True:  # deliveries, one farm at a time
            t += rnd.expovariate(1 / COLLECTION_EVERY_S)
            if t >= end:
                break
            db.execute("INSERT INTO milk_collection (farm_id, litres, fat_pct, collected_at) "
                       "VALUES (?, ?, ?, ?)", (rnd.randint(1, FARMS), round(rnd.uniform(80, 420), 1),
                                               round(rnd.gauss(4.1, 0.25), 2), t))
        t = start
        while True:  # orders, each confirmed one paid
            t += rnd.expovariate(ORDERS_PER_S)
            if t >= end:
                break
            state = rnd.choices(("sale", "draft", "cancel"), (0.85, 0.1, 0.05))[0]
            amount = round(rnd.uniform(500, 5000), 2)
            order = db.execute("INSERT INTO sale_order (state, amount_total, date_order) "
                               "VALUES (?, ?, ?)", (state, amount, t)).lastrowid
            if state == "sale":
                paid = rnd.choices(("done", "pending", "error"), (0.95, 0.02, 0.03))[0]
                db.execute("INSERT INTO payment_transaction (order_id, state, amount, create_date, "
                           "write_date) VALUES (?, ?, ?, ?, ?)",
                           (order, paid, amount, t, t + rnd.lognormvariate(0.7, 0.5)))
