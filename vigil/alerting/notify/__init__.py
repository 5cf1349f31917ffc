"""Delivery: integrations that speak a receiver's wire format, and the outbox worker."""

# The integration modules register their kinds with vigil.alerting.notify.integration when
# imported; importing them here makes every kind available to build_integrations.
from vigil.alerting.notify import email, pagerduty, slack  # noqa: F401
from vigil.alerting.notify.integration import Integration, build_integrations
from vigil.alerting.notify.outbox import OutboxWorker

__all__ = ["Integration", "OutboxWorker", "build_integrations"]
