"""The status page's recorder: on the primary, every ``status_page.check_interval``, evaluate
each component's query, store the newest result, and append a transition for every component
whose shown status (query, incidents, override, maintenance: :func:`component_statuses`)
changed since its newest transition. The uptime bars are computed from those transitions;
transitions older than ``history_days`` (but each component's last one before) are deleted.

PromQL comes in through ``query(expr) -> list[float]`` (the values of the result's series),
which :mod:`vigil.app` builds from its engine: this package does not import the engine. A
query that fails is logged and leaves that component's previous result in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from vigil.errors import VigilError
from vigil.incidents.status_page import query_status
from vigil.incidents.status_page_service import StatusPageService
from vigil.oncall.primary_loop import run_while_primary
from vigil.state.status_page_store import ComponentCheck, StatusTransition

__all__ = ["StatusRecorder"]

log = logging.getLogger(__name__)


class StatusRecorder:
    def __init__(self, service: StatusPageService, query: Callable[[str], list[float]], *,
                 is_primary: Callable[[], bool] = lambda: True) -> None:
        self.service = service
        self.query = query
        self.is_primary = is_primary
        self._failing: set[str] = set()  # components whose query failed last time (logged once)

    def check_once(self) -> list[StatusTransition]:
        """One pass; returns the transitions it appended."""
        section = self.service.section
        if not section.active:
            return []
        store = self.service.store
        now = store.now()
        checks = []
        for comp in section.components:
            try:
                values = self.query(comp.query)
            except VigilError as exc:
                if comp.name not in self._failing:
                    log.warning("status page: the query of component %s failed: %s", comp.name, exc)
                self._failing.add(comp.name)
                continue
            self._failing.discard(comp.name)
            status, healthy, total = query_status(values, comp.partial_outage_below)
            checks.append(ComponentCheck(comp.name, status, healthy, total, now))
        store.record_checks(checks)
        shown = self.service.statuses(now)
        # A component never checked (its query failing from the start) has no history yet.
        added = store.record_transitions({c.name: (c.status, c.source) for c in shown if c.source != "none"}, now)
        # Older than the uptime bars reach: kept no longer (but each component's status then).
        store.prune_transitions(now - timedelta(days=section.history_days + 1))
        return added

    async def run(self) -> None:
        """Check on the primary until cancelled."""
        await run_while_primary(self.check_once, interval_s=self.service.section.check_interval,
                                is_primary=self.is_primary, log=log,
                                failed="status page: recording component statuses failed")
