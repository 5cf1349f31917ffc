"""Label matchers, as in a PromQL selector or a silence: ``=``, ``!=``, ``=~`` and ``!~``.

Regular expressions are fully anchored, as Prometheus anchors them, and a matcher on a
label that is absent sees the empty string.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from vigil.model.labels import METRIC_NAME_PATTERN, Labels
from vigil.model.regex import compile_go


class MatchType(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True)
class Matcher:
    type: MatchType
    name: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.type in (MatchType.REGEX, MatchType.NOT_REGEX):
            # RE2 syntax (Go inline flags like (?i)) is accepted; re.error propagates and
            # callers turn it into their own located error.
            object.__setattr__(self, "_regex", compile_go(f"(?:{self.value})", re.DOTALL))

    @classmethod
    def equal(cls, name: str, value: str) -> Matcher:
        return cls(MatchType.EQUAL, name, value)

    def matches(self, value: str) -> bool:
        if self.type is MatchType.EQUAL:
            return value == self.value
        if self.type is MatchType.NOT_EQUAL:
            return value != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(value) is not None
        return hit if self.type is MatchType.REGEX else not hit

    def matches_labels(self, labels: Labels) -> bool:
        return self.matches(labels.get(self.name))

    def matches_empty(self) -> bool:
        return self.matches("")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.type.value}"{escaped}"'


def match_all(matchers: list[Matcher] | tuple[Matcher, ...], labels: Labels) -> bool:
    return all(m.matches_labels(labels) for m in matchers)


# Alertmanager's matcher strings: severity="critical", env=~"prod|staging", team!=ops.
# Alertmanager accepts the metric-name character set (with ':') for the label name here.

_AM_MATCHER = re.compile(
    rf'^\s*(?P<name>{METRIC_NAME_PATTERN})\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,{{}}"]*?)\s*$'
)
_AM_OPS = {"=": MatchType.EQUAL, "!=": MatchType.NOT_EQUAL, "=~": MatchType.REGEX, "!~": MatchType.NOT_REGEX}


def parse_matcher(text: str) -> Matcher:
    """One matcher. Raises ValueError saying what is wrong."""
    m = _AM_MATCHER.match(text)
    if not m:
        raise ValueError(f"bad matcher format: {text}")
    value = m.group("value")
    if value.startswith('"'):
        value = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), value[1:-1])
    try:
        return Matcher(_AM_OPS[m.group("op")], m.group("name"), value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression in matcher {text!r}: {exc}") from None


def parse_matchers(text: str) -> list[Matcher]:
    """A comma-separated list, optionally in braces: ``{a="b", c=~"d"}``."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    parts, current, quoted, escaped = [], "", False, False
    for ch in body:
        if escaped:
            current += ch
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            current += ch
            continue
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        current += ch
    if current.strip():
        parts.append(current)
    return [parse_matcher(p) for p in parts if p.strip()]
