"""The SLO web app the API, page and browser tests share: a real TSDB with the shop's request
counters (tests/slo/test_status.py's data: 2 h 30 min, errors 1 % then 10 % for the last 30
minutes), a config naming one SLO file, access control with the viewer ``vic``, the clock
fixed at the end of the data."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.incidents.support import deps_with, people
from tests.support.browser import serve_app
from vigil.config.loader import load_config
from vigil.model import Labels
from vigil.promql import Engine
from vigil.slo.source import SLOStatusSource
from vigil.state import Store
from vigil.tsdb import DB
from vigil.web import create_app

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
END = START + timedelta(minutes=150)

SLO_FILE = """version: prometheus/v1
service: shop
slos:
  - name: avail
    objective: 99.9
    description: Checkout requests without a 5xx.
    sli:
      events:
        error_query: sum(rate(req_total{code="500"}[{{.window}}]))
        total_query: sum(rate(req_total[{{.window}}]))
    alerting: {name: ShopErrors}
  - name: relaxed
    objective: 50
    sli:
      raw:
        error_ratio_query: sum(rate(req_total{code="500"}[{{.window}}])) / sum(rate(req_total[{{.window}}]))
    alerting: {name: ShopRelaxed}
"""


def record_requests(db: DB) -> None:
    t0 = int(START.timestamp() * 1000)
    errors = ok = 0.0
    app = db.appender()
    for minute in range(151):
        if minute:
            e = 10 if minute <= 120 else 100
            errors += e
            ok += 1000 - e
        at = t0 + minute * 60_000
        app.append(Labels({"__name__": "req_total", "code": "500"}), at, errors)
        app.append(Labels({"__name__": "req_total", "code": "200"}), at, ok)
    app.commit()


@contextmanager
def serve_slos(base: Path, slo_text: str = SLO_FILE) -> Iterator[str]:
    store = Store.open_in(str(base / "state"))
    store.migrate()
    access = people(store, viewers=["vic"])
    (base / "shop.yml").write_text(slo_text)
    (base / "vigil.yml").write_text("slo:\n  files: [shop.yml]\n")
    config = load_config(str(base / "vigil.yml"))
    with DB.open(str(base / "tsdb")) as db:
        record_requests(db)
        source = SLOStatusSource(Engine(db), lambda: config, now=lambda: END)
        deps = dataclasses.replace(deps_with(access), slos=source)
        with serve_app(lambda _url: create_app(deps)) as url:
            yield url
    store.close()
