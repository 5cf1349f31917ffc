"""A silence: matchers and a time window during which matching alerts are not notified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType

SilenceState = Literal["pending", "active", "expired"]


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime

    def state(self, now: datetime) -> SilenceState:
        if self.ends_at <= now:
            return "expired"
        if self.starts_at > now:
            return "pending"
        return "active"

    def mutes(self, labels: Labels, now: datetime) -> bool:
        return self.state(now) == "active" and all(m.matches_labels(labels) for m in self.matchers)

    def matchers_json(self) -> list[dict[str, Any]]:
        return [matcher_to_json(m) for m in self.matchers]


def matcher_to_json(m: Matcher) -> dict[str, Any]:
    return {"name": m.name, "value": m.value,
            "isRegex": m.type in (MatchType.REGEX, MatchType.NOT_REGEX),
            "isEqual": m.type in (MatchType.EQUAL, MatchType.REGEX)}


def matcher_from_json(data: dict[str, Any]) -> Matcher:
    """Alertmanager API v2's matcher object. Raises ValueError naming the problem."""
    if not isinstance(data, dict):
        raise ValueError("matcher must be an object")
    name, value = data.get("name"), data.get("value")
    if not isinstance(name, str) or not name:
        raise ValueError("matcher name must be a non-empty string")
    if not isinstance(value, str):
        raise ValueError(f"matcher {name!r}: value must be a string")
    is_regex = data.get("isRegex", False)
    is_equal = data.get("isEqual", True)
    if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
        raise ValueError(f"matcher {name!r}: isRegex and isEqual must be booleans")
    kind = {(False, True): MatchType.EQUAL, (False, False): MatchType.NOT_EQUAL,
            (True, True): MatchType.REGEX, (True, False): MatchType.NOT_REGEX}[(is_regex, is_equal)]
    try:
        return Matcher(kind, name, value)
    except Exception as exc:  # re.error
        raise ValueError(f"matcher {name!r}: invalid regular expression: {exc}") from None
