"""Roles, ordered: each one may do everything the ones below it may.

- ``viewer``: read everything except secrets;
- ``responder``: acknowledge, resolve, silence, run incidents; also the ingest endpoints
  (remote write, pushes, alerts from Prometheus), which a sender's token needs;
- ``editor``: dashboards, schedules, escalation policies, rule files through the UI/API;
- ``admin``: users, tokens, settings, configuration reload, the audit log.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Role", "parse_role"]


class Role(IntEnum):
    VIEWER = 1
    RESPONDER = 2
    EDITOR = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()


def parse_role(text: str) -> Role:
    """``viewer``, ``responder``, ``editor`` or ``admin``; ValueError naming them otherwise."""
    try:
        return Role[text.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown role {text!r}: use viewer, responder, editor or admin") from None
