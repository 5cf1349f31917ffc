"""The alerts page's filters and what it shows of each alert's on-call state.

The filters live in the page's URL (``/alerts?state=firing&severity=critical&priority=P1&
labels=team%3D%22db%22``) so a filtered view can be shared, bookmarked and refreshed live.
An alert is *silenced* when an active silence mutes its labels, and belongs to an on-call
episode (giving it a *priority* and maybe *acknowledged*) when the episode's group labels are
all among its labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vigil.model.matchers import Matcher, parse_matchers
from vigil.rules.status import ActiveAlert

__all__ = ["STATES", "AlertFilter", "AlertMarks", "alert_marks", "filter_alerts",
           "filter_episodes", "parse_alert_filter"]

STATES = ("firing", "pending", "silenced", "acknowledged")


@dataclass(frozen=True)
class AlertFilter:
    state: str = ""  # one of STATES, "" for any
    severity: str = ""  # a severity label value, "" for any
    priority: str = ""  # an episode priority (P1...), "" for any
    labels_text: str = ""  # the matchers as typed, shown back in the form
    labels: tuple[Matcher, ...] = ()
    error: str = ""  # why the URL's filter could not be used, for the page

    @property
    def active(self) -> bool:
        return bool(self.state or self.severity or self.priority or self.labels)


@dataclass(frozen=True)
class AlertMarks:
    """What the on-call side knows of one alert."""

    silenced_by: tuple[str, ...]  # ids of the silences muting it
    episode: Mapping[str, Any] | None  # the unresolved episode it belongs to (API form)

    @property
    def priority(self) -> str:
        return str(self.episode["priority"]) if self.episode else ""

    @property
    def acknowledged(self) -> bool:
        return self.episode is not None and self.episode["state"] == "acknowledged"


def parse_alert_filter(params: Mapping[str, str]) -> AlertFilter:
    """The filter the URL asks for; a bad value is named in ``error`` and ignored."""
    state = params.get("state", "").strip().lower()
    errors = []
    if state and state not in STATES:
        errors.append(f'unknown state "{state}": use one of {", ".join(STATES)}')
        state = ""
    labels_text = params.get("labels", "").strip()
    labels: tuple[Matcher, ...] = ()
    if labels_text:
        try:
            labels = tuple(parse_matchers(labels_text))
        except ValueError as e:
            errors.append(f"labels: {e}")
    return AlertFilter(state=state, severity=params.get("severity", "").strip(),
                       priority=params.get("priority", "").strip().upper(),
                       labels_text=labels_text, labels=labels, error="; ".join(errors))


def _in_group(group_labels: Mapping[str, str], alert: ActiveAlert) -> bool:
    return all(alert.labels.get(k) == v for k, v in group_labels.items())


def alert_marks(alerts: Sequence[ActiveAlert], episodes: Sequence[Mapping[str, Any]],
                silenced_by) -> dict[str, AlertMarks]:
    """Marks by the alert's label text (``str(labels)``). ``silenced_by(labels)`` lists the
    silences muting those labels (None when there is no alerting stage)."""
    marks = {}
    for a in alerts:
        episode = next((e for e in episodes if _in_group(e["groupLabels"], a)), None)
        muted = tuple(silenced_by(a.labels)) if silenced_by is not None else ()
        marks[str(a.labels)] = AlertMarks(silenced_by=muted, episode=episode)
    return marks


def _keeps(f: AlertFilter, a: ActiveAlert, mark: AlertMarks) -> bool:
    if f.state in ("firing", "pending") and a.state != f.state:
        return False
    if f.state == "silenced" and not mark.silenced_by:
        return False
    if f.state == "acknowledged" and not mark.acknowledged:
        return False
    if f.severity and a.labels.get("severity").lower() != f.severity.lower():
        return False
    if f.priority and mark.priority.upper() != f.priority:
        return False
    return all(m.matches_labels(a.labels) for m in f.labels)


def filter_alerts(f: AlertFilter, alerts: Sequence[ActiveAlert],
                  marks: Mapping[str, AlertMarks]) -> list[ActiveAlert]:
    return [a for a in alerts if _keeps(f, a, marks[str(a.labels)])]


def filter_episodes(f: AlertFilter, episodes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The on-call table under the same filter: by priority, and only the acknowledged ones
    when that state is asked for."""
    return [e for e in episodes
            if (not f.priority or str(e["priority"]).upper() == f.priority)
            and (f.state != "acknowledged" or e["state"] == "acknowledged")]
