"""Escalation policies as times (pure, no database): which step of which cycle falls due when.

A policy starts when its episode opens, as PagerDuty starts level 1 at the trigger (the
acknowledge deadline of the episode's priority is for the runbook's "escalate when not
acknowledged in time": write it as the ``wait`` before level 2). Steps run in order; a
``wait`` moves the time of the steps after it; every other step is due at the time reached.
After the last step, while the episode stays unacknowledged, the steps run again ``repeat``
more times: cycle ``c`` starts ``c`` times the policy's total wait after the start.
A condition (``if_time``, ``if_alerts``) is decided at its due time; when it does not hold,
the rest of that cycle is skipped (the next cycle decides again).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.config.escalation import WEEKDAYS, EscalationPolicy, EscalationStep, TimeCondition

__all__ = ["PlannedStep", "cycle_seconds", "plan", "time_condition_holds"]


@dataclass(frozen=True)
class PlannedStep:
    """One step of one cycle, due at ``due_at``. ``key`` names it uniquely within an episode
    run (it is part of the run_once claim)."""

    cycle: int
    index: int  # position in policy.steps
    level: int
    step: EscalationStep
    due_at: datetime

    @property
    def key(self) -> str:
        return f"{self.cycle}:{self.index}"

    @property
    def kind(self) -> str:
        return self.step.kind


def cycle_seconds(policy: EscalationPolicy) -> float:
    """How long one pass over the steps takes: the sum of its waits."""
    return sum(s.wait or 0.0 for s in policy.steps)


def plan(policy: EscalationPolicy, start: datetime) -> Iterator[PlannedStep]:
    """Every step that acts (not the waits) of every cycle, in order, with its due time."""
    levels = policy.levels()
    length = timedelta(seconds=cycle_seconds(policy))
    for cycle in range(policy.repeat + 1):
        at = start + cycle * length
        for index, step in enumerate(policy.steps):
            if step.wait is not None:
                at += timedelta(seconds=step.wait)
                continue
            yield PlannedStep(cycle, index, levels[index], step, at)


def time_condition_holds(cond: TimeCondition, at: datetime) -> bool:
    """Whether ``at`` is inside the condition's local window on one of its days. A window
    whose ``from`` is after its ``to`` spans midnight and belongs to the day it starts."""
    local = at.astimezone(zoneinfo.ZoneInfo(cond.time_zone))
    minute = local.hour * 60 + local.minute
    start, end = cond.window_minutes()
    today = WEEKDAYS[local.weekday()]
    if start < end:
        return start <= minute < end and today in cond.days
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    return (minute >= start and today in cond.days) or (minute < end and yesterday in cond.days)
