"""A recorded alert and incident history with known times, written into a real (migrated)
state database through the on-call and incident stores, then its times set to fixed values
(the stores stamp the database's clock; a recorded history has its own times).

Window of the figures: [2026-10-20, 2026-11-20). Hand-computed answers are in the tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from vigil.state import Store
from vigil.state.incident_schema import incidents
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_schema import alert_episodes
from vigil.state.lifecycle_store import LifecycleStore

START = datetime(2026, 10, 20, tzinfo=timezone.utc)
END = datetime(2026, 11, 20, tzinfo=timezone.utc)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# (name, opened, priority, labels, seconds to first ack or None, seconds to resolve or None,
#  classification or None (resolved by Vigil))
EPISODES = [
    ("E1", "2026-10-25T10:00", "P1", {"severity": "critical", "team": "db"}, 90, 1800, "actionable"),
    ("E2", "2026-10-28T12:00", "P1", {"severity": "critical", "team": "web"}, 480, 5400, "false_positive"),
    ("E3", "2026-11-03T09:00", "P2", {"severity": "warning", "team": "db"}, 240, 1200, "duplicate"),
    ("E4", "2026-11-10T15:00", "P2", {"severity": "warning", "team": "web"}, None, 600, None),
    ("E5", "2026-11-15T08:00", "P3", {"team": "web"}, 600, None, None),
    ("E8", "2026-11-18T00:00", "P4", {"severity": "info", "team": "db"}, 60, 300, "no_action_needed"),
    # Outside the window: opened before its start, and exactly at its (excluded) end.
    ("E6", "2026-10-10T00:00", "P1", {"severity": "critical", "team": "db"}, 3600, 7200, "false_positive"),
    ("E7", "2026-11-20T00:00", "P1", {"severity": "critical", "team": "db"}, 3600, 7200, "false_positive"),
]

# (title, severity, started, detected, declared, acknowledged or None, resolved or None)
INCIDENTS = [
    ("Orders lost", 1, "2026-10-26T10:00", "2026-10-26T10:05", "2026-10-26T10:10", "2026-10-26T10:09",
     "2026-10-26T10:50"),
    ("Payments down", 1, "2026-11-05T01:00", "2026-11-05T01:30", "2026-11-05T02:00", "2026-11-05T01:40",
     "2026-11-05T03:30"),
    ("Slow reports", 2, "2026-11-12T11:55", "2026-11-12T11:55", "2026-11-12T12:00", "2026-11-12T12:05", None),
    ("Old outage", 1, "2026-10-01T00:00", "2026-10-01T00:00", "2026-10-01T00:00", "2026-10-01T00:01",
     "2026-10-01T00:02"),
]


def record_episode(store: Store, name: str, opened: datetime, priority: str, labels: dict[str, str],
                   to_ack: float | None, to_resolve: float | None, classification: str | None) -> None:
    """One alert episode opened at ``opened``, acknowledged and resolved after the seconds
    given (None: not yet), by a person with ``classification`` or by Vigil without."""
    lifecycle = LifecycleStore(store.engine)
    ep = lifecycle.open(f"{{}}:{{alertname=\"{name}\"}}", receiver="ops",
                        group_labels={"alertname": name, **labels}, priority=priority, deadline_s=300)
    assert ep is not None
    if to_ack is not None:
        lifecycle.acknowledge(ep.id, actor="alice", via="web")
    if to_resolve is not None:
        lifecycle.resolve(ep.id, actor=None if classification is None else "alice", via="web",
                          classification=classification)
    with store.engine.begin() as conn:
        conn.execute(update(alert_episodes).where(alert_episodes.c.id == ep.id).values(
            opened_at=opened, ack_deadline_at=opened + timedelta(seconds=300),
            first_acknowledged_at=None if to_ack is None else opened + timedelta(seconds=to_ack),
            acknowledged_at=None if to_ack is None else opened + timedelta(seconds=to_ack),
            resolved_at=None if to_resolve is None else opened + timedelta(seconds=to_resolve)))


def record_history(store: Store) -> None:
    """Write :data:`EPISODES` and :data:`INCIDENTS` into ``store``'s database."""
    for name, opened, priority, labels, to_ack, to_resolve, classification in EPISODES:
        record_episode(store, name, _t(opened), priority, labels, to_ack, to_resolve, classification)
    store_incidents = IncidentStore(store.engine)
    for title, severity, started, detected, declared, acked, resolved in INCIDENTS:
        inc, _ = store_incidents.declare(title=title, severity=severity, actor="alice", via="web")
        with store.engine.begin() as conn:
            conn.execute(update(incidents).where(incidents.c.id == inc.id).values(
                started_at=_t(started), detected_at=_t(detected), declared_at=_t(declared),
                acknowledged_at=None if acked is None else _t(acked),
                resolved_at=None if resolved is None else _t(resolved),
                status="resolved" if resolved else "investigating"))
