"""Prometheus relabelling: one engine for target, metric and remote-write relabelling.

Semantics follow Prometheus 2.42's ``model/relabel``: steps run in order over the label set
the previous step produced; ``source_labels`` values (missing = ``""``) are joined with
``separator``; ``regex`` is fully anchored (RE2 syntax via :mod:`vigil.model.regex`);
``replacement`` and ``target_label`` may refer to groups as ``$1``, ``${1}``, ``$name``.
A label set to the empty string is deleted. ``keep``/``drop``/``keepequal``/``dropequal``
end processing with "dropped" (``None``) when they say so.

The input is any object with the attributes of :class:`RelabelRule` (the pydantic
``RelabelConfig`` of the configuration satisfies it); :func:`check_rule` validates one the
way Prometheus's config loader does and returns Prometheus's message.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from vigil.model.labels import Labels, is_label_name
from vigil.model.regex import compile_go

__all__ = ["ACTIONS", "DEFAULT_REGEX", "RelabelRule", "RelabelStep", "Relabeller", "check_rule",
           "hashmod"]

ACTIONS = ("replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap",
           "labeldrop", "labelkeep", "lowercase", "uppercase")
DEFAULT_REGEX = "(.*)"
_DEFAULT_SEPARATOR = ";"
_DEFAULT_REPLACEMENT = "$1"
# A target label that may still contain group references ($1, ${name}).
_TARGET_TEMPLATE = re.compile(r"(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+\Z")
_REF = re.compile(r"\$(?:\$|\{(\w+)\}|(\w+))")


class RelabelRule(Protocol):
    """One relabelling step as read from a configuration."""

    @property
    def source_labels(self) -> Sequence[str]: ...
    @property
    def separator(self) -> str: ...
    @property
    def regex(self) -> str: ...
    @property
    def modulus(self) -> int: ...
    @property
    def target_label(self) -> str: ...
    @property
    def replacement(self) -> str: ...
    @property
    def action(self) -> str: ...


@dataclass(frozen=True)
class RelabelStep:
    """A plain :class:`RelabelRule` with Prometheus's defaults (for code and tests)."""

    source_labels: Sequence[str] = field(default_factory=tuple)
    separator: str = _DEFAULT_SEPARATOR
    regex: str = DEFAULT_REGEX
    modulus: int = 0
    target_label: str = ""
    replacement: str = _DEFAULT_REPLACEMENT
    action: str = "replace"


def check_rule(rule: RelabelRule) -> str | None:
    """Prometheus's validation of one step: None if valid, else its error message."""
    action = rule.action
    if action not in ACTIONS:
        return f"unknown relabel action {action!r}"
    for name in rule.source_labels:
        if not is_label_name(name):
            return f'"{name}" is not a valid label name'
    try:
        compile_go(f"(?:{rule.regex})")
    except re.error as e:
        return f"invalid regular expression {rule.regex!r}: {e}"
    target = rule.target_label
    if action == "hashmod" and rule.modulus == 0:
        return "relabel configuration for hashmod requires non-zero modulus"
    needs_target = ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal")
    if action in needs_target and not target:
        return f"relabel configuration for {action} action requires 'target_label' value"
    if action == "replace" and not _TARGET_TEMPLATE.match(target):
        return f'"{target}" is invalid \'target_label\' for {action} action'
    if action in ("hashmod", "lowercase", "uppercase", "keepequal", "dropequal") \
            and not is_label_name(target):
        return f'"{target}" is invalid \'target_label\' for {action} action'
    if action in ("lowercase", "uppercase", "keepequal", "dropequal") \
            and rule.replacement != _DEFAULT_REPLACEMENT:
        return f"'replacement' can not be set for {action} action"
    if action == "labelmap" and not _TARGET_TEMPLATE.match(rule.replacement):
        return f'"{rule.replacement}" is invalid \'replacement\' for {action} action'
    if action in ("keepequal", "dropequal") and (
            rule.regex != DEFAULT_REGEX or rule.modulus != 0
            or rule.separator != _DEFAULT_SEPARATOR):
        return f"{action} action requires only 'source_labels' and `target_label`, and no other fields"
    if action in ("labeldrop", "labelkeep") and (
            rule.source_labels or target or rule.modulus != 0
            or rule.separator != _DEFAULT_SEPARATOR or rule.replacement != _DEFAULT_REPLACEMENT):
        return f"{action} action requires only 'regex', and no other fields"
    return None


def hashmod(value: str, modulus: int) -> int:
    """Prometheus's ``hashmod``: the last 8 bytes of the MD5 of ``value``, big-endian, mod
    ``modulus``."""
    digest = hashlib.md5(value.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % modulus


def _expand(template: str, m: re.Match[str]) -> str:
    """Go's ``Regexp.ExpandString``: ``$n``/``${n}``/``$name``; unknown groups are empty;
    ``$$`` is a literal dollar."""
    if "$" not in template:
        return template

    def ref(r: re.Match[str]) -> str:
        if r.group(0) == "$$":
            return "$"
        key = r.group(1) or r.group(2)
        try:
            return m.group(int(key) if key.isdigit() else key) or ""
        except (IndexError, ValueError):
            return ""
    return _REF.sub(ref, template)


@dataclass(frozen=True)
class _Compiled:
    rule: RelabelRule
    rx: re.Pattern[str]


class Relabeller:
    """A compiled list of steps. ``cache_size`` > 0 memoises results per input label set
    (series labels repeat every scrape/send); the cache is a plain dict, safe for the GIL's
    single-operation atomicity, cleared when full."""

    def __init__(self, rules: Sequence[RelabelRule], *, cache_size: int = 0) -> None:
        for rule in rules:
            problem = check_rule(rule)
            if problem:
                raise ValueError(problem)
        self._steps = [_Compiled(r, compile_go(f"(?:{r.regex})")) for r in rules]
        self._cache: dict[Labels, Labels | None] = {}
        self._cache_size = cache_size

    def __bool__(self) -> bool:
        return bool(self._steps)

    def __eq__(self, other: object) -> bool:
        # Equal steps relabel equally; lets a reload see that a target did not change.
        if not isinstance(other, Relabeller):
            return NotImplemented
        return [s.rule for s in self._steps] == [s.rule for s in other._steps]

    def __hash__(self) -> int:
        return hash(tuple(repr(s.rule) for s in self._steps))

    def process(self, labels: Labels) -> Labels | None:
        """The relabelled labels, or None when a step drops them or none are left."""
        if not self._steps:
            return labels
        if self._cache_size:
            hit = self._cache.get(labels, False)
            if hit is not False:
                return hit
        out_dict = self.process_dict(labels.to_dict())
        out = Labels(out_dict) if out_dict else None
        if self._cache_size:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[labels] = out
        return out

    def process_dict(self, labels: Mapping[str, str]) -> dict[str, str] | None:
        """Like :meth:`process` on a plain mapping; returns a new dict, or None if dropped."""
        lbs = dict(labels)
        for step in self._steps:
            if not _apply(step, lbs):
                return None
        return lbs


def _set(lbs: dict[str, str], name: str, value: str) -> None:
    if value:
        lbs[name] = value
    else:
        lbs.pop(name, None)


def _apply(step: _Compiled, lbs: dict[str, str]) -> bool:
    """Apply one step to ``lbs`` in place; False when the label set is dropped."""
    rule, rx = step.rule, step.rx
    action = rule.action
    if action in ("labeldrop", "labelkeep", "labelmap"):
        names = list(lbs)
        if action == "labeldrop":
            for n in names:
                if rx.fullmatch(n):
                    del lbs[n]
        elif action == "labelkeep":
            for n in names:
                if not rx.fullmatch(n):
                    del lbs[n]
        else:
            # Every name is matched against the labels before this step, as Prometheus
            # iterates the original set while writing into a builder.
            original = dict(lbs)
            for n, v in original.items():
                m = rx.fullmatch(n)
                if m:
                    _set(lbs, _expand(rule.replacement, m), v)
        return True
    value = rule.separator.join(lbs.get(n, "") for n in rule.source_labels)
    if action == "drop":
        return rx.fullmatch(value) is None
    if action == "keep":
        return rx.fullmatch(value) is not None
    if action == "dropequal":
        return lbs.get(rule.target_label, "") != value
    if action == "keepequal":
        return lbs.get(rule.target_label, "") == value
    if action == "replace":
        m = rx.fullmatch(value)
        if m is None:
            return True
        target = _expand(rule.target_label, m)
        if not is_label_name(target):
            return True
        _set(lbs, target, _expand(rule.replacement, m))
    elif action == "lowercase":
        _set(lbs, rule.target_label, value.lower())
    elif action == "uppercase":
        _set(lbs, rule.target_label, value.upper())
    elif action == "hashmod":
        _set(lbs, rule.target_label, str(hashmod(value, rule.modulus)))
    return True
