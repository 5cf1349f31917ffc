"""Whether a flush must notify an integration, given what it was last told (Alertmanager's
``DedupStage.needsUpdate``). Sets hold alert fingerprints."""

from __future__ import annotations

from datetime import datetime, timedelta


def needs_update(previous: tuple[set[str], set[str], datetime] | None, firing: set[str],
                 resolved: set[str], *, send_resolved: bool, repeat_interval_s: float,
                 now: datetime) -> bool:
    if previous is None:
        return bool(firing)
    prev_firing, prev_resolved, sent_at = previous
    if not firing <= prev_firing:
        return True
    if not firing:
        # Everything resolved: tell the receiver only if it knew of firing alerts.
        return bool(prev_firing)
    if send_resolved and not resolved <= prev_resolved:
        return True
    return sent_at + timedelta(seconds=repeat_interval_s) <= now
