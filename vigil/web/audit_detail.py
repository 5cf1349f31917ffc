"""What a change was, for the audit log: a handler that changes something describes it on
the request (action, target, the object before and after), and the access gate writes the
entry once the response succeeded. A change nobody describes is recorded by method and path."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

__all__ = ["AUDIT_DETAIL", "already_audited", "describe_change"]

AUDIT_DETAIL = "audit_detail"  # key in the request's scope["state"]


def describe_change(request: Request, action: str, target: str, *, before: Any = None,
                    after: Any = None) -> None:
    """Record what this request changed; ``before``/``after`` must be JSON-friendly and hold
    no secret (the audit log keeps them as they are)."""
    setattr(request.state, AUDIT_DETAIL,
            {"action": action, "target": target, "before": before, "after": after})


def already_audited(request: Request) -> None:
    """This request's change was written to the audit log by the service that made it
    (people, tokens): the gate adds no second entry."""
    setattr(request.state, AUDIT_DETAIL, False)
