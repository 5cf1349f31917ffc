"""The alert as it travels from rule evaluation to the receivers.

Times are timezone-aware UTC datetimes. ``ends_at`` in the past means resolved; rules send
a firing alert with ``ends_at`` a few evaluation intervals ahead so that an alert whose
sender disappears resolves by itself, as Prometheus does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from vigil.model.labels import Labels


@dataclass(frozen=True)
class Alert:
    labels: Labels
    annotations: Labels
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = ""
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def name(self) -> str:
        return self.labels.get("alertname")

    def resolved(self, now: datetime | None = None) -> bool:
        if self.ends_at is None:
            return False
        return self.ends_at <= (now or datetime.now(timezone.utc))

    def fingerprint(self) -> str:
        """Stable identity of the alert across processes (hex of a 64-bit FNV-1a hash)."""
        h = 0xCBF29CE484222325
        for k, v in self.labels:
            for part in (k, "\xff", v, "\xff"):
                for b in part.encode():
                    h ^= b
                    h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        return f"{h:016x}"
