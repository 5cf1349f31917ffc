"""Rules for one alert's life in the dispatcher: how an update merges into what is held,
whether its end is a projection, and when a resolved alert may be forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta

from vigil.model.alert import Alert


def merge(old: Alert | None, new: Alert, now: datetime) -> Alert | None:
    """Alertmanager's merge: an update extends a live alert and keeps its start; an
    identical update is a no-op (returns None)."""
    if old is None or old.resolved(now) and new.starts_at > old.ends_at:  # type: ignore[operator]
        return new
    starts = min(old.starts_at, new.starts_at)
    merged = Alert(new.labels, new.annotations, starts, new.ends_at, new.generator_url, new.updated_at)
    if (merged.annotations == old.annotations and merged.ends_at == old.ends_at
            and merged.starts_at == old.starts_at):
        return None
    return merged


def projected_end(alert: Alert) -> bool:
    """Whether the alert's end is a projection (its sender will re-send before then), not
    an explicit resolution (an end not after the last update)."""
    return alert.ends_at is not None and alert.ends_at > alert.updated_at + timedelta(seconds=1)


def ended_before(alert: Alert, cutoff: datetime, now: datetime) -> bool:
    """Resolved at ``now``, and its end is before ``cutoff``."""
    return alert.resolved(now) and alert.ends_at is not None and alert.ends_at < cutoff
