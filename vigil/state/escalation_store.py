"""Escalation steps in the state database (issue 16): each step of each episode is taken
once, across replicas and restarts.

Taking a step is ONE transaction that, under the episode's group lock (the lock the
lifecycle's acknowledge and resolve take):
  * checks the episode is still open and still in the same run (not acknowledged, resolved
    or unacknowledged again since the step was planned): a step falling due after an
    acknowledgement is never sent;
  * inserts the step's ``run_once`` row, already done (``esc:<episode>:<run>:<cycle>:<step>``);
    a row that exists means another replica, or this one before a restart, took it;
  * for a round-robin step, advances the turn (an atomic increment);
  * queues the step's notifications in the outbox and appends an ``escalation`` event to
    the episode.
So a kill at any point leaves the step either wholly taken (its notifications durable in the
outbox, delivered by the outbox workers with their retries) or not at all (taken at the next
pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update

from vigil.state import schema
from vigil.state.coordination import db_now, lock_for_transaction, upsert
from vigil.state.escalation_schema import escalation_turns
from vigil.state.lifecycle_schema import alert_episodes, episode_events

__all__ = ["EscalationStore", "QueuedNotification", "StepTaken"]


@dataclass(frozen=True)
class QueuedNotification:
    """One outbox entry a step queues: delivered by the worker's integration
    (``receiver``, ``integration``) with ``payload``, ``delay_s`` after the step."""

    receiver: str
    integration: str
    payload: dict[str, Any]
    delay_s: float = 0.0


@dataclass(frozen=True)
class StepTaken:
    key: str
    at: datetime
    detail: dict[str, Any]
    outbox_ids: list[int] = field(default_factory=list)


def step_prefix(episode_id: str) -> str:
    return f"esc:{episode_id}:"


class EscalationStore:
    """Escalation steps and round-robin turns on ``engine`` (the Store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def taken_steps(self, episode_id: str) -> dict[str, dict[str, Any]]:
        """The steps of ``episode_id`` already taken: ``<run>:<cycle>:<step>`` -> detail."""
        r = schema.run_once
        prefix = step_prefix(episode_id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(r.c.key, r.c.detail).where(r.c.key.startswith(prefix, autoescape=True)))
            return {key[len(prefix):]: dict(detail) for key, detail in rows}

    def run_started_at(self, episode_id: str, opened_at: datetime) -> tuple[int, datetime]:
        """The episode's current run (0, or how many times it was unacknowledged) and when it
        started: its opening, or the last unacknowledgement (the policy starts again then)."""
        v = episode_events
        with self.engine.connect() as conn:
            row = conn.execute(select(func.count(), func.max(v.c.at)).where(
                v.c.episode_id == episode_id, v.c.kind == "unacknowledged")).first()
        count = int(row[0] or 0) if row else 0
        if not count:
            return 0, opened_at
        at = row[1]
        return count, at if at.tzinfo else at.replace(tzinfo=opened_at.tzinfo)

    def take_step(self, episode_id: str, step_key: str, *, member_id: str, detail: dict[str, Any],
                  notifications: Sequence[QueuedNotification] = (),
                  round_robin: tuple[str, int, Sequence[tuple[dict[str, Any], Sequence[QueuedNotification]]]] | None = None,
                  ) -> StepTaken | None:
        """Take step ``step_key`` (``<run>:<cycle>:<step>``) of an open episode, once (see the
        module's docstring). ``round_robin`` is (policy, step index, for each position of the
        list: what to add to ``detail`` and the notifications): the turn picks one, and
        ``detail["turn"]`` says which.
        None when the episode is no longer open in that run, or the step was taken."""
        e, r = alert_episodes, schema.run_once
        run = int(step_key.split(":", 1)[0])
        with self.engine.begin() as conn:
            group_key = conn.execute(select(e.c.group_key).where(e.c.id == episode_id)).scalar()
            if group_key is None:
                return None
            lock_for_transaction(conn, "alert_episode", group_key)
            state = conn.execute(select(e.c.state).where(e.c.id == episode_id)).scalar()
            unacks = conn.execute(select(func.count()).select_from(episode_events).where(
                episode_events.c.episode_id == episode_id,
                episode_events.c.kind == "unacknowledged")).scalar()
            if state != "open" or int(unacks or 0) != run:
                return None
            now = db_now(conn)
            key = step_prefix(episode_id) + step_key
            stmt = upsert(conn, r).values(key=key, claimed_by=member_id, claimed_at=now, done_at=now,
                                          detail=dict(detail)).on_conflict_do_nothing(index_elements=[r.c.key])
            if conn.execute(stmt.returning(r.c.key)).first() is None:
                return None
            detail = dict(detail)
            queued = list(notifications)
            if round_robin is not None:
                policy, index, choices = round_robin
                turn = self._next_turn(conn, policy, index) % max(1, len(choices))
                detail["turn"] = turn
                if choices:
                    extra, chosen = choices[turn]
                    detail.update(extra)
                    queued += list(chosen)
                conn.execute(update(r).where(r.c.key == key).values(detail=detail))
            ids = []
            for n in queued:
                result = conn.execute(insert(schema.outbox).values(
                    group_key=f"esc:{episode_id}", receiver=n.receiver, integration=n.integration,
                    payload=n.payload, firing=[], resolved=[], status="pending", attempts=0,
                    next_attempt_at=now + timedelta(seconds=n.delay_s), last_error="", created_at=now))
                ids.append(int(result.inserted_primary_key[0]))
            conn.execute(insert(episode_events).values(episode_id=episode_id, at=now, kind="escalation",
                                                       actor=None, via="vigil", detail=detail))
            return StepTaken(key, now, detail, ids)

    @staticmethod
    def _next_turn(conn: Any, policy: str, index: int) -> int:
        """The position to page now; the stored turn moves on by one (atomically)."""
        t = escalation_turns
        stmt = upsert(conn, t).values(policy=policy, step=index, next_index=1)
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.policy, t.c.step],
                                          set_={"next_index": t.c.next_index + 1})
        return int(conn.execute(stmt.returning(t.c.next_index)).scalar_one()) - 1

    def turn(self, policy: str, index: int) -> int:
        """The position a round-robin step pages next (0 before its first page)."""
        t = escalation_turns
        with self.engine.connect() as conn:
            value = conn.execute(select(t.c.next_index).where(t.c.policy == policy, t.c.step == index)).scalar()
        return int(value or 0)

    def cancel_pending(self, episode_id: str) -> int:
        """Drop the episode's escalation notifications not yet delivered (contacts due later,
        after its acknowledgement or resolution). Returns how many."""
        t = schema.outbox
        with self.engine.begin() as conn:
            result = conn.execute(update(t).where(and_(t.c.group_key == f"esc:{episode_id}",
                                                       t.c.status == "pending", t.c.claimed_by.is_(None)))
                                  .values(status="superseded"))
            return int(result.rowcount or 0)

    def pending_episodes(self) -> list[str]:
        """Episodes with escalation notifications still pending in the outbox."""
        t = schema.outbox
        with self.engine.connect() as conn:
            keys = conn.execute(select(t.c.group_key).distinct().where(
                t.c.status == "pending", t.c.group_key.startswith("esc:"))).scalars()
            return [k[len("esc:"):] for k in keys]

    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return db_now(conn)
