"""Delivery: integrations that speak a receiver's wire format, and the outbox worker."""

from vigil.alerting.notify.integration import Integration, build_integrations
from vigil.alerting.notify.outbox import OutboxWorker

__all__ = ["Integration", "OutboxWorker", "build_integrations"]
