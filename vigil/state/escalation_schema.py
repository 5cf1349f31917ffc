"""Tables of escalation policies (issue 16): the round-robin turns.

Added by revision 0008 on the shared :data:`vigil.state.schema.metadata`. Which steps were
taken is kept in ``run_once`` (keys ``esc:<episode>:<run>:<cycle>:<step>``) and in the
episodes' event logs; the policies themselves are configuration.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table

from vigil.state.schema import metadata

__all__ = ["escalation_turns"]

# The position in a round-robin step's list of the person paged next, per policy and step.
escalation_turns = Table(
    "escalation_turns",
    metadata,
    Column("policy", String(64), nullable=False),
    Column("step", Integer, nullable=False),
    Column("next_index", Integer, nullable=False),
    PrimaryKeyConstraint("policy", "step"),
)
