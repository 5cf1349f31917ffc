"""The objectives web app the API, page and browser tests share: the recorded history
(tests/objectives/history.py) in a real state database, a real TSDB with the api service
probed every 10 minutes over the window (down once), access control with the viewer ``vic``
(password ``vic-pw``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from tests.incidents.support import deps_with, people
from tests.objectives.history import END, START, record_history
from tests.support.browser import serve_app
from vigil.access import Role
from vigil.config.objectives import ObjectivesConfig
from vigil.model import Labels
from vigil.objectives.service import ObjectivesService
from vigil.promql import Engine
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.tsdb import DB
from vigil.web import create_app


@contextmanager
def serve_objectives(base: Path) -> Iterator[tuple[str, str]]:
    """Serve the app; yields its base URL and a viewer's API token."""
    store = Store.open_in(str(base / "state"))
    store.migrate()
    record_history(store)
    access = people(store, viewers=["vic"])
    token = access.create_token("vic-cli", Role.VIEWER, actor="test", user="vic")
    with DB.open(str(base / "tsdb")) as db:
        app = db.appender()
        # api probed every 10 minutes over the whole window, down for one probe (10 min).
        at, n = START, 0
        while at <= END:
            app.append(Labels({"__name__": "probe_success", "job": "api"}), int(at.timestamp() * 1000),
                       0.0 if n == 100 else 1.0)
            at, n = at + timedelta(minutes=10), n + 1
        app.commit()
        config = ObjectivesConfig.model_validate({
            "availability_step": "10m",
            "services": [{"name": "api", "query": 'probe_success{job="api"}', "availability_percent": 99.9}]})
        service = ObjectivesService(config, store.engine, IncidentStore(store.engine), Engine(db))
        deps = dataclasses.replace(deps_with(access), objectives=service)
        with serve_app(lambda _url: create_app(deps)) as url:
            yield url, token
    store.close()
