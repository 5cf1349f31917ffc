"""The response checklist of an incident (issue 17, part 3): its severity's phases from the
config (``incidents.checklists``; SEV-1's default is the runbook's SEV-1 response), each
task due ``at`` after the declaration, with what the state database says of it (done, by
whom, overdue, paged).

A task with ``done_when`` is ticked by Vigil itself once the timeline shows that fact
(:mod:`vigil.incidents.task_facts`; the response loop does it, once): its ``done_by`` is
NULL in the database and "Vigil" here, its note names the timeline event.

The checklist is derived when asked for, from the incident's current severity and
declaration time: nothing is written at declaration. A task is *overdue* while it is not
done, the incident is open, and ``overdue_grace`` has passed since its due time;
:mod:`vigil.incidents.response_loop` records that once per task (a ``task_overdue`` event)
and, with ``page_overdue``, pages once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.config.incident_response import ChecklistPhase
from vigil.config.incidents import IncidentsConfig
from vigil.config.model import Config
from vigil.state.incident_response_store import IncidentResponseStore, OverdueRecord, TaskState
from vigil.state.incident_store import Incident, IncidentError, IncidentStore

__all__ = ["Checklist", "ChecklistService", "ChecklistTaskView", "PhaseView", "build_checklist", "phase_label"]


def phase_label(at_s: float) -> str:
    """The runbook's way of writing a phase time: ``T+0:05``, ``T+1:00``."""
    minutes = int(at_s // 60)
    return f"T+{minutes // 60}:{minutes % 60:02d}"


@dataclass(frozen=True)
class ChecklistTaskView:
    key: str
    title: str
    phase: str  # the phase's title
    due_at: datetime
    done_at: datetime | None
    done_by: str | None  # "Vigil" when Vigil ticked it (done_when)
    note: str
    overdue: bool  # not done, incident open, grace passed since due_at
    overdue_at: datetime | None  # when Vigil recorded it overdue (stays after it is done)
    paged_at: datetime | None  # when Vigil paged about it
    done_when: str | None = None  # the fact that makes Vigil tick it (config)
    done_by_vigil: bool = False

    @property
    def done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True)
class PhaseView:
    at_s: float
    title: str
    due_at: datetime
    tasks: tuple[ChecklistTaskView, ...]

    @property
    def label(self) -> str:
        return phase_label(self.at_s)


@dataclass(frozen=True)
class Checklist:
    incident: Incident
    phases: tuple[PhaseView, ...]

    @property
    def tasks(self) -> list[ChecklistTaskView]:
        return [t for p in self.phases for t in p.tasks]

    def task(self, key: str) -> ChecklistTaskView | None:
        return next((t for t in self.tasks if t.key == key), None)


def build_checklist(incident: Incident, phases: list[ChecklistPhase], *, states: dict[str, TaskState],
                    overdue: dict[str, OverdueRecord], now: datetime, grace_s: float) -> Checklist:
    """``incident``'s checklist as of ``now`` (the database's clock)."""
    out = []
    for phase in phases:
        due = incident.declared_at + timedelta(seconds=phase.at)
        tasks = []
        for task in phase.tasks:
            state = states.get(task.key)
            record = overdue.get(task.key)
            done_at = state.done_at if state is not None else None
            by_vigil = done_at is not None and state is not None and state.done_by is None
            late = (done_at is None and incident.is_open
                    and now >= due + timedelta(seconds=grace_s))
            tasks.append(ChecklistTaskView(
                key=task.key, title=task.title, phase=phase.title, due_at=due, done_at=done_at,
                done_by="Vigil" if by_vigil else (state.done_by if state is not None else None),
                note=state.note if state is not None else "", overdue=late,
                overdue_at=record.overdue_at if record else None,
                paged_at=record.paged_at if record else None, done_when=task.done_when,
                done_by_vigil=by_vigil))
        out.append(PhaseView(phase.at, phase.title, due, tuple(tasks)))
    return Checklist(incident, tuple(out))


class ChecklistService:
    """Checklists and task changes; every read goes to the database."""

    def __init__(self, incidents: IncidentStore, store: IncidentResponseStore,
                 config: Callable[[], Config]) -> None:
        self.incidents = incidents
        self.store = store
        self.config = config

    def section(self) -> IncidentsConfig:
        return self.config().incidents

    def of(self, incident: Incident, now: datetime | None = None) -> Checklist:
        section = self.section()
        return build_checklist(incident, section.checklists.get(incident.severity_name, []),
                               states=self.store.task_states(incident.id),
                               overdue=self.store.overdue(incident.id),
                               now=now or self.store.now(), grace_s=section.overdue_grace)

    def checklist(self, id_or_ref: str) -> Checklist:
        """The checklist of an incident (by id or ``INC-...`` ref); IncidentError not_found."""
        return self.of(self.incidents.get(id_or_ref))

    def set_task(self, id_or_ref: str, key: str, *, done: bool, actor: str, via: str,
                 note: str = "") -> ChecklistTaskView:
        """Mark task ``key`` done, or reopen it. IncidentError: not_found (incident, or a
        task its checklist does not have), conflict (done already, or not done)."""
        if len(note) > 20_000:
            raise IncidentError("note is longer than 20000 characters", "invalid")
        incident = self.incidents.get(id_or_ref)
        task = self.of(incident).task(key)
        if task is None:
            keys = ", ".join(t.key for t in self.of(incident).tasks) or "none"
            raise IncidentError(f"the {incident.severity_name} checklist of {incident.ref} has no task "
                                f"{key!r} (tasks: {keys})", "not_found")
        self.store.set_task(incident.id, key, done=done, actor=actor, via=via, note=note.strip(),
                            detail={"title": task.title, "phase": task.phase})
        updated = self.of(incident).task(key)
        assert updated is not None
        return updated
