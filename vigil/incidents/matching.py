"""Which alert groups an incident's alert matchers take in.

An incident declared with ``--alert MATCHER`` (repeatable; each an Alertmanager matcher
string such as ``service="milk"`` or a braced list ``{alertname="DiskFull",env="prod"}``)
keeps its matchers; all of them must hold (as for ``amtool``). A group matches when its group
labels, or the labels of one of its alerts, satisfy every matcher: a group by ``alertname``
holding an alert with ``service="milk"`` matches ``service="milk"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from vigil.model.matchers import Matcher, match_all, parse_matchers
from vigil.oncall.lifecycle import FiringGroup
from vigil.state.incident_store import GroupToAttach, IncidentError

__all__ = ["group_matches", "parse_alert_matchers", "to_attach"]


def parse_alert_matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    """The matchers of ``texts``; IncidentError ("invalid") naming the bad one."""
    out: list[Matcher] = []
    for i, text in enumerate(texts):
        try:
            parsed = parse_matchers(text)
        except ValueError as exc:
            raise IncidentError(f"alert_matchers[{i}]: {exc}", "invalid") from None
        if not parsed:
            raise IncidentError(f"alert_matchers[{i}]: empty matcher {text!r}", "invalid")
        out.extend(parsed)
    return tuple(out)


def group_matches(matchers: Sequence[Matcher], group: FiringGroup) -> bool:
    if not matchers:
        return False
    return match_all(list(matchers), group.labels) or any(match_all(list(matchers), a.labels) for a in group.alerts)


def first_alert_at(group: FiringGroup) -> datetime | None:
    return min((a.starts_at for a in group.alerts), default=None)


def to_attach(group: FiringGroup, matcher: str | None = None) -> GroupToAttach:
    """``group`` as the store attaches it."""
    return GroupToAttach(group.key, group.labels.to_dict(), group.receiver, first_alert_at(group), matcher)
