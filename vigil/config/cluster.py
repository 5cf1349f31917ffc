"""The ``cluster:`` section (issue 15): how a replica takes part in a cluster of ``vigil up``
processes that share one PostgreSQL (``storage.state.url``).

There is no cluster service and no gossip: replicas find each other in the state database.
Each one writes a heartbeat every ``heartbeat_interval``; a replica whose heartbeat is older
than ``member_timeout`` is dead, its claims (deliveries under way, the primary lease) are
taken over by the others. With SQLite (one replica) the same code runs with one member.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from vigil.config.durations import PositiveDuration

__all__ = ["ClusterConfig"]


class ClusterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # How this replica is shown on /api/vigil/v1/cluster and the UI; default host:port.
    name: str | None = None
    # The URL other replicas and people reach this replica at; default web.external_url.
    advertise_url: str | None = None
    heartbeat_interval: PositiveDuration = 1.0
    # A replica silent this long is dead: the bound on failover (work it held is taken over
    # within member_timeout plus one heartbeat_interval).
    member_timeout: PositiveDuration = 5.0

    @model_validator(mode="after")
    def _timeout_covers_heartbeats(self) -> ClusterConfig:
        if self.member_timeout < 2 * self.heartbeat_interval:
            raise ValueError("member_timeout must be at least twice heartbeat_interval, "
                             "or one late heartbeat would declare a live replica dead")
        return self
