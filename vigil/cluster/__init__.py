"""Replicas of Vigil on one PostgreSQL (issue 15): membership, the primary lease, shards.

There is no cluster service: replicas meet in the state database (``cluster_members``,
``cluster_leases``; see :mod:`vigil.state.cluster_store`). :class:`Membership` tells the
rest of the process whether it is the primary (rules' alerting, the dispatcher's flushes)
and which shard of shared work is its own (scrape targets). See docs/cluster.md.
"""

from vigil.cluster.membership import PRIMARY_LEASE, Membership, MemberSnapshot

__all__ = ["PRIMARY_LEASE", "MemberSnapshot", "Membership"]
