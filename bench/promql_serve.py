"""Serve one Vigil TSDB directory's PromQL HTTP API with uvicorn, for ``promql_bench.py``.

Only the query path is wired (engine, TSDB, ``/api/v1``); no scraping, rules or alerting,
so the benchmark measures query evaluation plus JSON encoding and nothing else.

    .venv/bin/python bench/promql_serve.py DATA_DIR PORT
"""

from __future__ import annotations

import sys

import uvicorn

from vigil.errors import ParseError
from vigil.model.matchers import Matcher
from vigil.promql import Engine, parse_expr
from vigil.promql.parser.ast import VectorSelector
from vigil.selfmetrics import SelfMetrics
from vigil.tsdb import DB
from vigil.web import WebDeps, create_app


class _Nothing:
    """No targets, no rule groups, no alerts."""

    def targets(self) -> list:
        return []

    def dropped_targets(self) -> list:
        return []

    def groups(self) -> list:
        return []

    def alerts(self) -> list:
        return []


def _matchers(text: str) -> list[Matcher]:
    expr = parse_expr(text)
    if not isinstance(expr, VectorSelector):
        raise ParseError(f"{text!r} is not a series selector")
    return list(expr.matchers)


def main(data_dir: str, port: int) -> None:
    db = DB.open(data_dir, wal_fsync="off", retention_ms=100 * 365 * 86_400_000,
                 compact_interval_s=86_400)
    engine = Engine(db, max_samples=500_000_000)
    deps = WebDeps(engine=engine, targets=_Nothing(), rules=_Nothing(), storage=db,
                   metrics=SelfMetrics(), parse_matchers=_matchers, version="bench",
                   config_yaml=lambda: "", tsdb=db, format_query=lambda q: str(engine.parse(q)))
    try:
        uvicorn.run(create_app(deps), host="127.0.0.1", port=port, log_level="warning",
                    access_log=False)
    finally:
        db.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
