"""The alert as it travels from rule evaluation to the receivers.

Times are timezone-aware UTC datetimes. ``ends_at`` in the past means resolved; rules send
a firing alert with ``ends_at`` a few evaluation intervals ahead so that an alert whose
sender disappears resolves by itself, as Prometheus does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

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

    @cached_property
    def _fingerprint(self) -> str:
        h = hashlib.blake2b(digest_size=8)
        for k, v in self.labels:
            h.update(k.encode())
            h.update(b"\xff")
            h.update(v.encode())
            h.update(b"\xff")
        return h.hexdigest()

    def fingerprint(self) -> str:
        """Stable identity of the alert across processes: 16 hex digits of a hash of its
        labels. Computed once per alert object."""
        return self._fingerprint
