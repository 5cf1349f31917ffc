"""The inhibitor, with Alertmanager's semantics: a target alert is muted while some *firing*
alert matches the rule's source matchers and has the same values for the ``equal`` labels
(an absent label equals an absent label). An alert matching both sides of a rule never
inhibits itself.

Source alerts are indexed per rule by their ``equal`` values, so a check is one dict
lookup per rule. :meth:`Inhibitor.refresh` rebuilds the index from the current alerts; the
dispatcher calls it before each flush, so after a restart the inhibiting alerts (restored
from the state store) are known before anything is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from vigil.config.model import InhibitRule
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType, parse_matchers


@dataclass(frozen=True)
class InhibitionRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def from_config(cls, cfg: InhibitRule) -> InhibitionRule:
        return cls(_matchers(cfg.source_match, cfg.source_match_re, cfg.source_matchers),
                   _matchers(cfg.target_match, cfg.target_match_re, cfg.target_matchers),
                   tuple(cfg.equal))

    def key(self, labels: Labels) -> tuple[str, ...]:
        return tuple(labels.get(name) for name in self.equal)


def _matchers(match: dict[str, str], match_re: dict[str, str], texts: list[str]) -> tuple[Matcher, ...]:
    out = [Matcher(MatchType.EQUAL, k, v) for k, v in sorted(match.items())]
    out += [Matcher(MatchType.REGEX, k, v) for k, v in sorted(match_re.items())]
    for text in texts:
        out.extend(parse_matchers(text))
    return tuple(out)


def _match(matchers: tuple[Matcher, ...], labels: Labels) -> bool:
    return all(m.matches_labels(labels) for m in matchers)


class Inhibitor:
    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self.rules = [InhibitionRule.from_config(r) for r in rules]
        self._lock = threading.Lock()
        # Per rule: equal-label values -> fingerprint -> firing source alert.
        self._sources: list[dict[tuple[str, ...], dict[str, Alert]]] = [{} for _ in self.rules]

    def refresh(self, alerts: Iterable[Alert], now: datetime) -> None:
        index: list[dict[tuple[str, ...], dict[str, Alert]]] = [{} for _ in self.rules]
        if self.rules:
            for alert in alerts:
                if alert.resolved(now):
                    continue
                for rule, sources in zip(self.rules, index, strict=True):
                    if _match(rule.source, alert.labels):
                        sources.setdefault(rule.key(alert.labels), {})[alert.fingerprint()] = alert
        with self._lock:
            self._sources = index

    def inhibited_by(self, labels: Labels, now: datetime | None = None) -> list[str]:
        """Fingerprints of the firing alerts that inhibit an alert with ``labels``."""
        found: set[str] = set()
        now = now or datetime.now(timezone.utc)
        with self._lock:
            for rule, sources in zip(self.rules, self._sources, strict=True):
                if not _match(rule.target, labels):
                    continue
                for fp, source in sources.get(rule.key(labels), {}).items():
                    # An alert does not inhibit itself; a source resolved since the last
                    # refresh no longer inhibits.
                    if source.labels != labels and not source.resolved(now):
                        found.add(fp)
        return sorted(found)

    def mutes(self, labels: Labels, now: datetime) -> bool:
        return bool(self.inhibited_by(labels, now))
