"""What the shift tests share: a real TSDB with samples written at a set time and Vigil's
PromQL engine on it, alert episodes in a real state database, and a shifts config."""

from __future__ import annotations

from datetime import datetime, timezone

from vigil.config.loader import load_config_text
from vigil.config.shifts import ShiftsConfig
from vigil.model import Labels
from vigil.state.lifecycle_store import LifecycleStore
from vigil.tsdb import DB


def now_s() -> datetime:
    """Now, to the second (TSDB samples must be recent: the head takes no old ones)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def write_samples(db: DB, at: datetime, series: list[tuple[dict[str, str], float]]) -> None:
    """One sample per series at ``at``."""
    app = db.appender()
    for labels, value in series:
        app.append(Labels(labels), int(at.timestamp() * 1000), value)
    app.commit()


def shifts_config(text: str) -> ShiftsConfig:
    return load_config_text(text).shifts


def open_episode(store: LifecycleStore, group: str, priority: str, *, acknowledged_by: str | None = None) -> str:
    episode = store.open(group, receiver="ops", group_labels={"alertname": group}, priority=priority,
                         deadline_s=300)
    assert episode is not None
    if acknowledged_by:
        store.acknowledge(episode.id, actor=acknowledged_by, via="api")
    return episode.id
