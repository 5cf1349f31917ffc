"""Cost of the objective figures (issue 19, P4), in process, on SQLite and a real TSDB.

- ``figures``: ``ObjectivesService.figures`` over a 30-day window holding ``--episodes``
  alert episodes (four priorities, two teams, a quarter classified) and ``--incidents``
  incidents, grouped by priority;
- ``availability``: one service's availability and coverage over 30 days at a 1-minute step
  from a series scraped every 15 s (172,800 samples), through Vigil's PromQL engine;
- ``exporter refresh``: everything the /metrics loop computes (both windows, by priority and
  severity, availability).

Prints each case's best of ``--rounds`` (milliseconds). Records are written directly into the
migrated schema (the stores stamp the database's clock; history needs its own times).

Run: ``.venv/bin/python bench/objectives_bench.py [--episodes 10000] [--incidents 200] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from vigil.config.objectives import ObjectivesConfig
from vigil.model import Labels
from vigil.objectives.exporter import ObjectivesExporter
from vigil.objectives.service import ObjectivesService
from vigil.promql import Engine
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_schema import alert_episodes
from vigil.tsdb import DB

END = datetime(2026, 11, 30, tzinfo=timezone.utc)
CLASSES = ("actionable", "false_positive", "duplicate", "no_action_needed")


def _episodes(store: Store, count: int) -> None:
    rows = []
    span = 30 * 86400
    for n in range(count):
        opened = END - timedelta(seconds=span * (n + 0.5) / count)
        rows.append({
            "id": str(uuid.uuid4()), "group_key": f"g{n}", "open_key": None, "receiver": "ops",
            "group_labels": {"alertname": f"A{n % 50}", "team": ("db", "web")[n % 2], "severity": "warning"},
            "priority": f"P{n % 4 + 1}", "state": "resolved", "opened_at": opened,
            "ack_deadline_at": opened + timedelta(minutes=5),
            "first_acknowledged_at": opened + timedelta(seconds=60 + n % 600),
            "acknowledged_at": opened + timedelta(seconds=60 + n % 600),
            "resolved_at": opened + timedelta(seconds=900 + n % 3600),
            "classification": CLASSES[n % 4] if n % 4 == 0 else None, "runbooks": []})
    with store.engine.begin() as conn:
        conn.execute(insert(alert_episodes), rows)


def _incidents(store: Store, count: int) -> None:
    incidents = IncidentStore(store.engine)
    for n in range(count):
        incidents.declare(title=f"incident {n}", severity=n % 4 + 1, actor="bench", via="api",
                          started_at=END - timedelta(days=1 + n % 25))


def _best(rounds: int, work) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        work()
        times.append(time.perf_counter() - t)
    return min(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=10_000)
    ap.add_argument("--incidents", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open_in(str(Path(tmp) / "state"))
        store.migrate()
        _episodes(store, args.episodes)
        _incidents(store, args.incidents)
        with DB.open(Path(tmp) / "tsdb") as db:
            app = db.appender()
            first = END - timedelta(days=30)
            for n in range(30 * 86400 // 15 + 1):
                at = int((first + timedelta(seconds=15 * n)).timestamp() * 1000)
                app.append(Labels({"__name__": "probe_success", "job": "api"}), at, 0.0 if n % 5000 == 0 else 1.0)
                if n % 10_000 == 0:
                    app.commit()
                    app = db.appender()
            app.commit()
            config = ObjectivesConfig.model_validate({"services": [{"name": "api", "query": 'probe_success{job="api"}'}]})
            service = ObjectivesService(config, store.engine, IncidentStore(store.engine), Engine(db))
            start = END - timedelta(days=30)
            exporter = ObjectivesExporter(service, now=lambda: END)
            print(f"{args.episodes} episodes, {args.incidents} incidents, 30 days, best of {args.rounds}")
            print(f"  figures (by priority)      {_best(args.rounds, lambda: service.figures(start, END)):8.1f} ms")
            print(f"  availability (1 service)   {_best(args.rounds, lambda: service.availability(start, END)):8.1f} ms")
            print(f"  exporter refresh           {_best(args.rounds, exporter.refresh):8.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
