"""The incidents' response checklist and communications assembled in one object, for the
assembly (vigil/app.py), the web layer and tests: the services people call and the primary's
loop (:mod:`vigil.incidents.checklist`, :mod:`vigil.incidents.communications`,
:mod:`vigil.incidents.response_loop`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from vigil.config.model import Config
from vigil.incidents.checklist import ChecklistService
from vigil.incidents.communications import CommunicationService
from vigil.incidents.response_loop import ResponseLoop
from vigil.oncall.reach import Directory
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_store import IncidentStore

__all__ = ["IncidentResponse", "incident_response"]


@dataclass(frozen=True)
class IncidentResponse:
    checklists: ChecklistService
    communications: CommunicationService
    loop: ResponseLoop


def incident_response(engine: Engine, config: Callable[[], Config], directory: Directory, *,
                      external_url: str = "", is_primary: Callable[[], bool] = lambda: True,
                      on_enqueue: Callable[[], None] | None = None) -> IncidentResponse:
    """The services on the state database ``engine``; ``config`` is read at every call (a
    reload applies at once), ``on_enqueue`` wakes the outbox workers."""
    incidents, store = IncidentStore(engine), IncidentResponseStore(engine)
    checklists = ChecklistService(incidents, store, config)
    communications = CommunicationService(incidents, store, config, external_url=external_url,
                                          on_enqueue=on_enqueue)
    loop = ResponseLoop(incidents, store, checklists, communications, config, directory,
                        is_primary=is_primary, on_enqueue=on_enqueue)
    return IncidentResponse(checklists, communications, loop)
