"""The primary's pass over open incidents (issue 17, parts 3 and 4), about once a second:

* every checklist task with ``done_when`` whose fact the timeline shows is ticked by Vigil,
  once, with the event as its evidence (:mod:`vigil.incidents.task_facts`) — before the
  overdue check, so a task Vigil can see done is not recorded overdue;
* every checklist task past its due time plus ``overdue_grace`` and not done is recorded
  overdue, once (a ``task_overdue`` event);
* with ``page_overdue``, a task still not done ``after`` its due time is paged, once, to
  the commander or the schedule, user or team named (a ``page`` event per contact);
* the internal notification of a newly declared incident goes out when its severity's rule
  says so (``notify_on_declare``), once;
* when the incident's ``next_update_at`` has passed, the communications lead (else the
  commander) is reminded, once per due time (an ``update_reminder`` event); sending an
  update moves ``next_update_at`` on.

Each "once" is claimed in the database in the transaction that queues what is sent
(:mod:`vigil.state.incident_response_store`), so two replicas, or a restart between two
passes, never do it twice; the pass itself starts from the database every time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.config.model import Config
from vigil.incidents.checklist import Checklist, ChecklistService
from vigil.incidents.communications import CommunicationService, iso
from vigil.incidents.response_pages import pages_for
from vigil.incidents.task_facts import evidence, evidence_note
from vigil.oncall.primary_loop import run_while_primary
from vigil.oncall.reach import Directory
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_store import Incident, IncidentStore

__all__ = ["PassResult", "ResponseLoop"]

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    """What one pass did (for tests and logs): (incident ref, task key) and refs."""

    ticked: list[tuple[str, str]] = field(default_factory=list)
    overdue: list[tuple[str, str]] = field(default_factory=list)
    paged: list[tuple[str, str]] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ticked or self.overdue or self.paged or self.notified or self.reminded)


class ResponseLoop:
    def __init__(self, incidents: IncidentStore, store: IncidentResponseStore, checklists: ChecklistService,
                 communications: CommunicationService, config: Callable[[], Config], directory: Directory, *,
                 is_primary: Callable[[], bool] = lambda: True, clock: Callable[[], datetime] | None = None,
                 interval_s: float = 1.0, on_enqueue: Callable[[], None] | None = None) -> None:
        self.incidents = incidents
        self.store = store
        self.checklists = checklists
        self.communications = communications
        self.config = config
        self.directory = directory
        self.is_primary = is_primary
        self.clock = clock or store.now  # the database's clock: replicas agree on what is due
        self.interval_s = interval_s
        self.on_enqueue = on_enqueue

    def tick(self) -> PassResult:
        """One pass over the open incidents (module docstring)."""
        result = PassResult()
        for inc in self.incidents.incidents(open_only=True, limit=100_000):
            now = self.clock()
            try:
                self._incident(inc, now, result)
            except Exception:  # one incident's trouble must not stop the others'
                log.exception("incident %s: the response pass failed", inc.ref)
        if (result.paged or result.reminded) and self.on_enqueue is not None:
            self.on_enqueue()
        return result

    def _incident(self, inc: Incident, now: datetime, result: PassResult) -> None:
        if self.communications.notify_declared(inc) is not None:
            result.notified.append(inc.ref)
        section = self.config().incidents
        page = section.page_overdue
        checklist = self.checklists.of(inc, now)
        ticked = self._tick_verified(inc, checklist, result)
        for task in checklist.tasks:
            if task.done or task.key in ticked:
                continue
            if task.overdue and task.overdue_at is None:
                if self.store.record_overdue(inc.id, task.key, due_at=task.due_at,
                                             detail={"title": task.title, "phase": task.phase}):
                    result.overdue.append((inc.ref, task.key))
            if (page is not None and task.paged_at is None
                    and now >= task.due_at + timedelta(seconds=max(page.after, section.overdue_grace))):
                if self._page_task(inc, task.key, task.title, task.phase, task.due_at, page.to, now):
                    result.paged.append((inc.ref, task.key))
        if inc.next_update_at is not None and now >= inc.next_update_at:
            if self._remind(inc, now):
                result.reminded.append(inc.ref)

    def _tick_verified(self, inc: Incident, checklist: Checklist, result: PassResult) -> set[str]:
        """Tick the open tasks whose ``done_when`` fact is in the timeline; their keys. A task
        a person ticked or reopened before is theirs (the store refuses it too)."""
        waiting = [t for t in checklist.tasks if t.done_when and not t.done]
        if waiting:
            touched = self.store.task_states(inc.id)
            waiting = [t for t in waiting if t.key not in touched]
        if not waiting:
            return set()
        events = self.incidents.events(inc.id)
        ticked: set[str] = set()
        for task in waiting:
            assert task.done_when is not None
            proof = evidence(task.done_when, events)
            if proof is None:
                continue
            detail = {"title": task.title, "phase": task.phase, "done_when": task.done_when,
                      "evidence": {"event_id": proof.id, "kind": proof.kind, "at": iso(proof.at)}}
            if self.store.tick_by_vigil(inc.id, task.key, note=evidence_note(task.done_when, proof), detail=detail):
                result.ticked.append((inc.ref, task.key))
                ticked.add(task.key)
        return ticked

    def _page_task(self, inc: Incident, key: str, title: str, phase: str, due_at: datetime, to: str,
                   now: datetime) -> bool:
        if key not in self.store.overdue(inc.id):  # recorded first, so the timeline reads in order
            self.store.record_overdue(inc.id, key, due_at=due_at, detail={"title": title, "phase": phase})
        text = f"{inc.severity_name} {inc.ref} ({inc.title}): task overdue since {iso(due_at)}: {title}"
        queued, described = pages_for(
            inc, to, config=self.config(), directory=self.directory, at=now,
            kind="vigil.incident.task_overdue", subject=f"[{inc.severity_name}] [INCIDENT] task overdue: {title}",
            text=text, url=self.communications.url(inc),
            extra={"task": {"key": key, "title": title, "phase": phase, "due_at": iso(due_at)}})
        taken = self.store.page_overdue(inc.id, key, notifications=queued, pages=described)
        if taken:
            log.info("incident %s: task %s overdue, paged %s", inc.ref, key, described)
        return taken

    def _remind(self, inc: Incident, now: datetime) -> bool:
        due = inc.next_update_at
        assert due is not None
        text = (f"{inc.severity_name} {inc.ref} ({inc.title}): the next update was due at {iso(due)}; "
                f"send it with: vigil incidents update {inc.ref} --kind internal")
        queued, described = pages_for(
            inc, "communications", config=self.config(), directory=self.directory, at=now,
            kind="vigil.incident.update_reminder", subject=f"[{inc.severity_name}] [INCIDENT] next update due: {inc.title}",
            text=text, url=self.communications.url(inc), extra={"next_update_at": iso(due)})
        return self.store.remind(inc.id, due_at=due, notifications=queued, detail={"pages": described})

    async def run(self) -> None:
        """A pass about every ``interval_s`` while primary (see :func:`run_while_primary`)."""
        await run_while_primary(self.tick, interval_s=self.interval_s, is_primary=self.is_primary, log=log,
                                failed="the incident response pass failed")
