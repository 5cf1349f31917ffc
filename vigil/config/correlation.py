"""The ``correlation:`` section (issue 17, K1): which firing alert groups Vigil proposes as one
incident (an *incident candidate*).

.. code-block:: yaml

    correlation:
      enabled: true
      window: 10m                 # groups that started firing within 10 minutes of each other
      labels: [service, cluster]  # ... and agree on these labels
      min_groups: 2               # a candidate needs at least two groups
      severity_by_priority: {P1: 2, P2: 3, P3: 4, P4: 4}
      expire_after: 24h           # a proposal nobody decided on expires (null: never by age)

Two groups are related when, of the named ``labels``, every one that both carry (non-empty)
has the same value in both, and there is at least one such label: ``service=checkout`` alone
and ``service=checkout, cluster=eu1`` are related; ``service=checkout, cluster=eu1`` and
``service=checkout, cluster=us1`` are not (the same service in two clusters is two outages).

The suggested severity of a candidate comes from the most urgent ``priority`` among its
alerts. The defaults map the runbook's alert priorities onto its incident severities one
step milder: a P1 alert ("production down") suggests SEV-2, since SEV-1 pages all hands and
notifies executives and is a person's call (whoever accepts may raise it); P2 ("performance
degraded") suggests SEV-3 ("minor functionality impaired"); P3 and P4 suggest SEV-4.

A proposed candidate *expires* (state ``expired``, no longer proposed, cannot be accepted)
when none of its groups fires any more, or ``expire_after`` after it was proposed: a day
by default, since an outage nobody declared in a day is no longer a proposal worth acting
on (its groups, still firing, are not proposed again for the same firing).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vigil.config.durations import PositiveDuration
from vigil.config.located import LocatedValueError
from vigil.config.oncall import PRIORITIES
from vigil.model.labels import is_label_name

__all__ = ["CorrelationConfig", "DEFAULT_SEVERITY_BY_PRIORITY"]

DEFAULT_SEVERITY_BY_PRIORITY: dict[str, int] = {"P1": 2, "P2": 3, "P3": 4, "P4": 4}


class CorrelationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Off: no candidates are proposed (those recorded stay, and can still be accepted).
    enabled: bool = True
    # Groups of one candidate started firing at most this far apart (seconds).
    window: PositiveDuration = 600.0
    # The labels related groups agree on (see the module's docstring).
    labels: list[str] = Field(default_factory=lambda: ["service", "cluster"])
    # How many related groups make a candidate.
    min_groups: int = 2
    # Suggested incident severity (1..4) per alert priority.
    severity_by_priority: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY_BY_PRIORITY))
    # A proposal still undecided this long after it was proposed expires (seconds; None: never
    # by age; it still expires once its groups stop firing).
    expire_after: PositiveDuration | None = 86400.0

    @field_validator("labels")
    @classmethod
    def _label_names(cls, names: list[str]) -> list[str]:
        if not names:
            raise ValueError("name at least one label (for example [service, cluster])")
        for index, name in enumerate(names):
            if not is_label_name(name):
                raise LocatedValueError(f"invalid label name {name!r}", (index,))
            if name in names[:index]:
                raise LocatedValueError(f"label {name!r} is named twice", (index,))
        return names

    @field_validator("min_groups")
    @classmethod
    def _at_least_two(cls, value: int) -> int:
        # One group alone is what the alert lifecycle already shows; correlation is about several.
        if value < 2:
            raise ValueError("min_groups must be at least 2")
        return value

    @field_validator("severity_by_priority")
    @classmethod
    def _severities(cls, value: dict[str, int]) -> dict[str, int]:
        for priority, severity in value.items():
            if priority not in PRIORITIES:
                raise LocatedValueError(f"unknown priority {priority!r}; known: {', '.join(PRIORITIES)}",
                                        (priority,))
            if not 1 <= severity <= 4:
                raise LocatedValueError(f"severity must be 1..4 (SEV-1..SEV-4), not {severity}", (priority,))
        # Priorities not named keep the default.
        return {**DEFAULT_SEVERITY_BY_PRIORITY, **value}

    def severity_for(self, priority: str) -> int:
        """The suggested severity of a candidate whose most urgent alert has ``priority``."""
        return self.severity_by_priority.get(priority, 4)
