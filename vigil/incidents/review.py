"""Looking back at incidents and following up (issue 17, parts 6 and 7): the post-mortem,
the figures, the action items and the incident candidates, as the web API and the CLI use
them. One object the assembly (:mod:`vigil.app`) builds; every read goes to the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from vigil.incidents.correlation import Correlator
from vigil.incidents.figures import FiguresSummary, IncidentFigures, figures_across, figures_of
from vigil.incidents.postmortem import ChecklistTask, postmortem_of
from vigil.state.action_item_store import ActionItem, ActionItemStore
from vigil.state.incident_candidate_store import Candidate
from vigil.state.incident_store import Incident, IncidentError, IncidentStore

__all__ = ["IncidentReview"]


class IncidentReview:
    def __init__(self, incidents: IncidentStore, action_items: ActionItemStore, *,
                 correlator: Correlator | None = None, external_url: str = "",
                 checklist: Callable[[Incident], Sequence[ChecklistTask]] | None = None) -> None:
        self.incidents = incidents
        self.action_items = action_items
        self.correlator = correlator  # None: no candidates (the API answers 404)
        self.external_url = external_url.rstrip("/")
        # The response checklist as the post-mortem shows it (None: no checklist section).
        self.checklist = checklist

    def now(self) -> datetime:
        return self.incidents.now()

    # --- post-mortem and figures ---
    def postmortem(self, id_or_ref: str) -> str:
        return postmortem_of(self.incidents, self.action_items, id_or_ref, external_url=self.external_url,
                             checklist=self.checklist)

    def figures(self, id_or_ref: str) -> IncidentFigures:
        return figures_of(self.incidents, id_or_ref)

    def figures_across(self, since: datetime | None = None) -> tuple[list[IncidentFigures], FiguresSummary]:
        return figures_across(self.incidents, since=since)

    # --- action items ---
    def items(self, *, incident: str | None = None, state: str | None = None) -> list[ActionItem]:
        return self.action_items.items(incident=incident, state=state)

    def add_item(self, incident: str, *, title: str, actor: str, via: str, owner: str | None = None,
                 due_date: date | None = None, link: str = "") -> ActionItem:
        return self.action_items.add(incident, title=title, actor=actor, via=via, owner=owner,
                                     due_date=due_date, link=link)

    def set_item_state(self, item_id: int, state: str, *, actor: str, via: str) -> ActionItem:
        return self.action_items.set_state(item_id, state, actor=actor, via=via)

    # --- candidates ---
    def _correlator(self) -> Correlator:
        if self.correlator is None:
            raise IncidentError("this Vigil proposes no incident candidates", "not_found")
        return self.correlator

    def candidates(self, state: str | None = None) -> list[Candidate]:
        return self._correlator().store.candidates(state=state)

    def candidate(self, candidate_id: str) -> Candidate:
        return self._correlator().store.get(candidate_id)

    def accept(self, candidate_id: str, *, actor: str, via: str, title: str | None = None,
               severity: int | None = None, commander: str | None = None,
               summary: str = "") -> tuple[Candidate, Incident]:
        return self._correlator().accept(candidate_id, actor=actor, via=via, title=title, severity=severity,
                                         commander=commander, summary=summary)

    def dismiss(self, candidate_id: str, *, actor: str, via: str, reason: str) -> Candidate:
        return self._correlator().dismiss(candidate_id, actor=actor, via=via, reason=reason)
