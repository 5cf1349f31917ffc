"""``vigil up --demo``: simulated sources and runbook-style alerts for a first look.

:class:`Demo` gives the app local targets and rule groups, all clearly labelled: every demo
job is named ``demo-*`` and every demo series carries ``demo="true"``.

    demo-webapp      a web application's request metrics (:mod:`vigil.demo.webapp`):
                     ``http_requests_total{code,method,handler}``,
                     ``http_request_duration_seconds`` (histogram); errors and slowness on cue
    demo-milkmeters  eight milk meters over MQTT (:mod:`vigil.demo.milkmeters`), through a
                     private mosquitto when installed, else simulated directly; one goes
                     offline on cue
    demo-business    a dairy ERP in SQLite read by the real SQL collector
                     (:mod:`vigil.demo.dairy`): milk collected, farms active, orders, payments
    demo-pipeline    an event pipeline's processing and data quality (:mod:`vigil.demo.pipeline`),
                     named as the rule pack's pipeline rules expect (``event_*``)
    demo-postgres    the PostgreSQL collector, only if a local PostgreSQL answers on
                     127.0.0.1:5432 (or ``VIGIL_DEMO_POSTGRES_DSN`` names one)

The incidents follow :mod:`vigil.demo.scenario` (first alerts pending within ~30 s, cycle
of 10 minutes); the rules are in ``vigil/demo/rules.yml``. The public status page (``/status``)
gets two components, group "Demo": ``demo-shop`` (the web app answers its scrapes) and
``demo-milk-meters`` (Degraded performance while a meter is offline).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from importlib import resources

from vigil.collect.exporters._health import guarded
from vigil.collect.local import LocalTarget
from vigil.config.model import PostgresCollectorConfig
from vigil.config.status_page import StatusComponentConfig, StatusPageConfig
from vigil.demo.dairy import DairyERP
from vigil.demo.milkmeters import MilkMeters
from vigil.demo.pipeline import EventPipeline
from vigil.demo.webapp import WebApp
from vigil.rules import RuleGroup, load_rule_files

__all__ = ["DEMO_LABELS", "STATUS_COMPONENTS", "Demo"]

log = logging.getLogger(__name__)

DEMO_LABELS = {"demo": "true"}
SCRAPE_INTERVAL_S = 5.0
POSTGRES_DSN_ENV = "VIGIL_DEMO_POSTGRES_DSN"
STATUS_COMPONENTS = (
    StatusComponentConfig(name="demo-shop", description="Demo web shop", group="Demo",
                          query='up{job="demo-webapp",demo="true"}'),
    # One meter of eight offline is Degraded performance; half of them or more, a Partial outage.
    StatusComponentConfig(name="demo-milk-meters", description="Demo milk meters (MQTT)", group="Demo",
                          query='milkmeter_device_online{demo="true"}', partial_outage_below=0.5),
)
STATUS_CHECK_INTERVAL_S = 10.0


def _postgres_dsn() -> str | None:
    """The DSN of a local PostgreSQL to show, if there is one."""
    dsn = os.environ.get(POSTGRES_DSN_ENV)
    if dsn:
        return dsn
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.3).close()
    except OSError:
        return None
    return "postgresql://postgres@127.0.0.1:5432/postgres"


class Demo:
    """The demo's sources. Building it does no I/O beyond probing for a local PostgreSQL;
    the milk meters' broker starts on their first scrape. Call :meth:`close` on shutdown."""

    def __init__(self, work_dir: str, *, clock: Callable[[], float] = time.time) -> None:
        self.webapp = WebApp(clock)
        self.milkmeters = MilkMeters(os.path.join(work_dir, "mosquitto"), clock)
        self.dairy = DairyERP(work_dir)  # its SQL windows are the database's clock: real time
        self.pipeline = EventPipeline(clock)
        self.postgres_dsn = _postgres_dsn()

    def local_targets(self) -> list[LocalTarget]:
        """The demo's targets, scraped every 5 s, every series labelled ``demo="true"``."""
        targets = [
            LocalTarget(job="demo-webapp", instance="shop.demo:8080", collect=self.webapp.collect,
                        interval_s=SCRAPE_INTERVAL_S, labels=DEMO_LABELS),
            LocalTarget(job="demo-milkmeters", instance="farm",
                        collect=guarded("demo-milkmeters", "farm", self.milkmeters.collect),
                        interval_s=SCRAPE_INTERVAL_S, labels=DEMO_LABELS),
            LocalTarget(job="demo-business", instance="dairy-erp",
                        collect=guarded("sql", "dairy-erp", self.dairy.collect),
                        interval_s=SCRAPE_INTERVAL_S, labels=DEMO_LABELS),
            LocalTarget(job="demo-pipeline", instance="tapio.demo", collect=self.pipeline.collect,
                        interval_s=SCRAPE_INTERVAL_S, labels=DEMO_LABELS),
        ]
        if self.postgres_dsn:
            from vigil.collect.exporters.postgres import PostgresCollector
            cfg = PostgresCollectorConfig(
                name="local", dsn=self.postgres_dsn, timeout=3.0,
                password_env="PGPASSWORD" if os.environ.get("PGPASSWORD") else None)
            targets.append(LocalTarget(
                job="demo-postgres", instance="local", interval_s=SCRAPE_INTERVAL_S,
                labels=DEMO_LABELS,
                collect=guarded("postgres", "local", PostgresCollector(cfg).collect, "pg_up")))
        log.info("demo: targets %s; milk meters via %s",
                 ", ".join(t.job for t in targets), self.milkmeters.source)
        return targets

    def rule_groups(self) -> list[RuleGroup]:
        """The demo's rule groups (``vigil/demo/rules.yml``)."""
        return load_rule_files([str(resources.files(__name__) / "rules.yml")])

    def status_page(self, section: StatusPageConfig) -> StatusPageConfig:
        """``section`` with the demo's components added (a configured component of the same
        name wins; a page disabled by ``enabled: false`` stays off). Without configured
        components the page is the demo's: its own title and checks every 10 s, so the
        statuses change while one watches."""
        if section.enabled is False:
            return section
        taken = {c.name for c in section.components}
        update: dict[str, object] = {
            "components": [*section.components, *(c for c in STATUS_COMPONENTS if c.name not in taken)]}
        if not section.components:
            update |= {"title": "Vigil demo status", "check_interval": STATUS_CHECK_INTERVAL_S}
        return section.model_copy(update=update)

    def close(self) -> None:
        """Stop the simulated devices and the broker, if started."""
        self.milkmeters.close()
