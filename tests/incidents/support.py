"""What the incident tests share: people whose password is ``<name>-pw`` and their Basic
header, a web app's dependencies with access control and the incident services, ``vigil
incidents`` run in-process, the assembled app from a configuration text, samples in a
TSDB with the PromQL query function the status page's recorder takes, and the response
services (checklists, communications, the response loop) on one store with a set clock."""

from __future__ import annotations

import base64
import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection
from typer.testing import CliRunner, Result

from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.app import App, check
from vigil.cli import cli
from vigil.config.access import AccessConfig
from vigil.config.model import Config
from vigil.incidents.checklist import ChecklistService
from vigil.incidents.communications import CommunicationService
from vigil.incidents.response_loop import ResponseLoop
from vigil.incidents.service import IncidentService
from vigil.model import Labels
from vigil.oncall.reach import ConfigDirectory
from vigil.promql import Engine
from vigil.promql.value import Vector
from vigil.state import Store
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_store import IncidentStore, record_event
from vigil.tsdb import DB
from vigil.web.access_gate import AccessPolicy
from vigil.web.deps import WebDeps

_runner = CliRunner()


def basic(user: str) -> dict[str, str]:
    """The Basic ``Authorization`` header of ``user`` (password ``<user>-pw``)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{user}-pw".encode()).decode()}


def html_headers(user: str) -> dict[str, str]:
    """``user``'s Basic header asking for HTML, as a browser's form posts do."""
    return {**basic(user), "Accept": "text/html"}


def audit_by_people(store: Store) -> list[tuple[str, str]]:
    """(actor, action) of every audit entry but the setup's (actor ``test``), oldest first."""
    return [(e.actor, e.action) for e in store.access.audit_entries() if e.actor != "test"]


def page_error(html: str) -> str:
    """The text of an incident page's one error message (``#incident-error``), unescaped."""
    [text] = re.findall(r'id="incident-error">([^<]*)<', html)
    return text.replace("&#39;", "'").replace("&#34;", '"').replace("&gt;", ">")


def people(store: Store, *, viewers: Iterable[str] = (), responders: Iterable[str] = ()) -> AccessService:
    """Access control with these users (password ``<name>-pw``), viewers added first."""
    access = AccessService(store.access, AccessConfig())
    for name in viewers:
        access.add_user(name, Role.VIEWER, actor="test", password=f"{name}-pw")
    for name in responders:
        access.add_user(name, Role.RESPONDER, actor="test", password=f"{name}-pw")
    return access


def cli_token(access: AccessService, user: str) -> str:
    """A responder's token ``<user>-cli`` of ``user``, for the CLI's ``--token``."""
    return access.create_token(f"{user}-cli", Role.RESPONDER, actor="test", user=user)


def deps_with(access: AccessService, **services: Any) -> WebDeps:
    """The web app's dependencies: access control by ``access`` (closed without users) and
    the given services (``incidents=``, ``incident_response=``, ``incident_review=`` ...)."""
    return dataclasses.replace(make_deps(), access=AccessPolicy(access, False), **services)


def run_incidents(*args: str) -> Result:
    """``vigil incidents ARGS...`` in this process."""
    return _runner.invoke(cli, ["incidents", *args])


def assembled_app(tmp_path: Any, config_text: str) -> App:
    """The whole app, as ``vigil`` assembles it from ``config_text`` (written to
    ``vigil.yml``), its state under ``data``, listening on a free port."""
    path = tmp_path / "vigil.yml"
    path.write_text(config_text)
    return App(check(str(path)), data_dir=str(tmp_path / "data"), listen="127.0.0.1:0")


def load_samples(db: DB, values: dict[tuple[str, str, str], float]) -> None:
    """One sample now for each (metric, label, label value) -> value."""
    now_ms = int(time.time() * 1000)
    app = db.appender()
    for (metric, name, value), v in values.items():
        app.append(Labels({"__name__": metric, name: value}), now_ms, v)
    app.commit()


def engine_query(engine: Engine) -> Callable[[str], list[float]]:
    """The status recorder's query function: the values of an instant query now."""
    def query(expr: str) -> list[float]:
        value = engine.instant_query(expr, int(time.time() * 1000)).value
        assert isinstance(value, Vector)
        return [s.value for s in value.samples]
    return query


class Clock:
    """A clock the test sets: ``clock.at`` is what it answers."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclasses.dataclass(frozen=True)
class ResponseServices:
    """The incident response services of one replica, all on the same store."""

    incidents: IncidentService
    checklists: ChecklistService
    comms: CommunicationService
    response: IncidentResponseStore
    loop: ResponseLoop


def response_services(store: Store, config: Config, clock: Callable[[], datetime] | None = None, *,
                      page_on_declare: bool = False) -> ResponseServices:
    """One replica's response services on ``store`` with ``config``; the loop reads ``clock``
    (None: the database's). ``page_on_declare``: a declaration pages the severity's
    responders (the incident service gets the config's directory)."""
    incidents = IncidentStore(store.engine)
    response = IncidentResponseStore(store.engine)
    checklists = ChecklistService(incidents, response, lambda: config)
    comms = CommunicationService(incidents, response, lambda: config, external_url="http://vigil.test")
    loop = ResponseLoop(incidents, response, checklists, comms, lambda: config, ConfigDirectory(config),
                        clock=clock)
    directory = ConfigDirectory(config) if page_on_declare else None
    return ResponseServices(IncidentService(incidents, lambda: config, directory=directory), checklists, comms,
                            response, loop)


def record_public_update(conn: Connection, incident_id: str, *, at: datetime, actor: str, status: str,
                         message: str) -> None:
    """A public update of the incident (what the status page shows) in ``conn``'s transaction."""
    record_event(conn, incident_id=incident_id, at=at, kind="public_update", actor=actor, via="api",
                 detail={"status": status, "message": message}, public=True)


def record_note(conn: Connection, incident_id: str, *, at: datetime, actor: str, text: str) -> None:
    """An internal note on the incident's timeline (never public) in ``conn``'s transaction."""
    record_event(conn, incident_id=incident_id, at=at, kind="note", actor=actor, via="api", detail={"text": text})


def tick_together(loops: list[ResponseLoop]) -> list[Any]:
    """Every loop ticks at the same time, each in its own thread, then once more one after
    the other (as replicas would); the results of all those ticks."""
    results: list[Any] = []
    threads = [threading.Thread(target=lambda lp=lp: results.append(lp.tick())) for lp in loops]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results + [lp.tick() for lp in loops]


def replica_stores(tmp_path: Any) -> tuple[Store, Store]:
    """Two stores on one SQLite database under ``tmp_path``, as two replicas open it."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    return Store.open(url), Store.open(url)
