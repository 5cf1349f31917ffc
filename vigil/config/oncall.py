"""The ``oncall:`` section (issue 16): how long each priority may wait for an acknowledgement,
and how long the signed action links put in notifications stay valid (their key is made once
in the state database and shared by the replicas).

Defaults come from the runbook's severity table (P2 15 minutes, P3 1 hour, P4 4 hours). Its
P1 says "immediate"; a deadline must be a time, so P1 takes the runbook's target for "Alert
Response Time (time to acknowledge)": 5 minutes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vigil.config.durations import PositiveDuration

__all__ = ["OncallConfig", "PRIORITIES"]

# Most urgent first; a group's priority is the most urgent of its alerts' priorities.
PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")

_DEFAULT_DEADLINES: dict[str, float] = {"P1": 300.0, "P2": 900.0, "P3": 3600.0, "P4": 14400.0}


class OncallConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # Time from an episode's opening to its acknowledge deadline, per priority.
    acknowledge_deadlines: dict[str, PositiveDuration] = Field(
        default_factory=lambda: dict(_DEFAULT_DEADLINES))
    # The priority of a group none of whose alerts has a known ``priority`` label.
    default_priority: str = "P3"
    # How long the acknowledge and resolve links put in notifications stay valid.
    action_link_ttl: PositiveDuration = 86400.0

    @field_validator("acknowledge_deadlines")
    @classmethod
    def _known_priorities(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"unknown priority {unknown[0]!r}; known: {', '.join(PRIORITIES)}")
        # Priorities not named keep the runbook's default.
        return {**_DEFAULT_DEADLINES, **value}

    @field_validator("default_priority")
    @classmethod
    def _known_default(cls, value: str) -> str:
        if value not in PRIORITIES:
            raise ValueError(f"unknown priority {value!r}; known: {', '.join(PRIORITIES)}")
        return value

    def deadline_s(self, priority: str) -> float:
        """Seconds allowed to acknowledge an episode of ``priority``."""
        return self.acknowledge_deadlines.get(priority, self.acknowledge_deadlines[self.default_priority])
