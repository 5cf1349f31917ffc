"""Inhibition: an alert that fires mutes other alerts it makes redundant."""

from vigil.alerting.inhibit.inhibitor import InhibitionRule, Inhibitor

__all__ = ["InhibitionRule", "Inhibitor"]
