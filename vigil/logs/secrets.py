"""Secret detection at ingest: secrets are masked in an entry's line and fields before the entry
reaches the store, and every detection is counted.

A secret becomes ``[REDACTED:<kind>:<fp>]``: ``kind`` names the pattern (``aws_access_key``,
``jwt``…), ``fp`` is a 4-hex-digit keyed BLAKE2b digest of the secret — enough to tell "the same
key leaked again" from "another key", far too short to recover or confirm a secret from (65,536
values), and keyed so a table of digests of common passwords made elsewhere does not apply.

:class:`SecretMaskingAppender` wraps any :class:`~vigil.logs.model.LogAppender` (the store's), so
nothing unmasked is written, not even to the WAL. The pre-check runs once per *batch*: one
compiled pass over the batch's texts finds which hold a hint of which pattern (see
:mod:`vigil.logs._hintscan`); only those entries are given to the regexes, and a clean batch
costs about one byte comparison per byte.

Stream labels are not scanned: they name the stream and are chosen by configuration or shipper,
not by what a program printed.
"""

from __future__ import annotations

import hashlib
from collections import Counter as _Tally
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from vigil.logs._hintscan import HintTable
from vigil.logs._secret_patterns import BUILTIN_PATTERNS, SENSITIVE_FIELD_NAMES, SecretPattern
from vigil.logs.model import LogAppender, LogEntry
from vigil.model.labels import Labels

__all__ = ["BUILTIN_PATTERNS", "DetectedFunc", "SecretDetector", "SecretMaskingAppender",
           "SecretPattern", "patterns_from_config", "secrets_counter"]

MASK_PREFIX = "[REDACTED:"
SENSITIVE_FIELD_KIND = "sensitive_field"
DEFAULT_FINGERPRINT_KEY = b"vigil-secrets-v1"

# (kind, stream labels, how many) for each kind found in one stored batch's stream.
DetectedFunc = Callable[[str, Labels, int], None]


class SecretDetector:
    """Masks secrets in texts. Safe to share between threads: its only state after
    construction is a cache of which field names are sensitive."""

    def __init__(self, patterns: Sequence[SecretPattern] = BUILTIN_PATTERNS,
                 extra: Sequence[SecretPattern] = (), *,
                 sensitive_fields: Iterable[str] = SENSITIVE_FIELD_NAMES,
                 fingerprint_key: bytes = DEFAULT_FINGERPRINT_KEY) -> None:
        self.patterns: tuple[SecretPattern, ...] = (*patterns, *extra)
        self._sensitive = frozenset(_field_key(n) for n in sensitive_fields)
        self._key = fingerprint_key[:64]  # BLAKE2b's key limit
        self._table = HintTable([p.hints for p in self.patterns])
        self._sensitive_names: dict[str, bool] = {}  # field name → sensitive, as seen

    def fingerprint(self, secret: str) -> str:
        return hashlib.blake2b(secret.encode("utf-8", "surrogatepass"), digest_size=2,
                               key=self._key).hexdigest()

    def mask(self, text: str, patterns: Sequence[SecretPattern] | None = None,
             found: list[str] | None = None) -> str:
        """``text`` with every secret replaced by its mask; the kinds found are appended to
        ``found``. ``patterns``: the patterns to try (default: all of this detector's)."""
        for pattern in self.patterns if patterns is None else patterns:
            if pattern.hints and not any(h in text for h in pattern.hints):
                continue
            if pattern.requires and not all(r in text for r in pattern.requires):
                continue
            if pattern.regex.search(text) is None:
                continue
            text = pattern.regex.sub(self._replacer(pattern.kind, found), text)
        return text

    def _replacer(self, kind: str, found: list[str] | None) -> Callable[[Any], str]:
        def replace_match(m: Any) -> str:
            if found is not None:
                found.append(kind)
            if "secret" in m.re.groupindex and m.group("secret") is not None:
                start, end = m.span("secret")
                whole_start = m.start()
                whole = m.group(0)
                secret = m.group("secret")
                return (whole[:start - whole_start] + self._mask(kind, secret)
                        + whole[end - whole_start:])
            return self._mask(kind, m.group(0))
        return replace_match

    def _mask(self, kind: str, secret: str) -> str:
        return f"{MASK_PREFIX}{kind}:{self.fingerprint(secret)}]"

    def mask_entries(self, entries: Sequence[LogEntry]) -> tuple[list[LogEntry], list[tuple[str, Labels]]]:
        """The entries with their lines and field values masked (unchanged entries are the same
        objects), and one ``(kind, stream labels)`` per secret found."""
        texts = [e.line for e in entries]
        # texts[i] is a line or field value of entries[owners[i]] (lines first, in order).
        field_values = [v for e in entries for _, v in e.fields]
        if field_values:
            texts += field_values
            owners = [*range(len(entries)), *(i for i, e in enumerate(entries) for _ in e.fields)]
        else:
            owners = range(len(entries))
        if not texts:
            return list(entries), []
        hits = self._table.scan(texts)
        # The patterns each line's hints allow, found for the whole batch at once (numpy calls
        # per line cost more than the scan).
        line_patterns: dict[int, list[SecretPattern]] = {}
        if hits is None:  # a NUL inside a text: every text gets the per-text pre-check
            dirty = set(owners)
        else:
            rows, kinds = np.nonzero(hits)
            dirty = set()
            for t, k in zip(rows.tolist(), kinds.tolist(), strict=True):
                dirty.add(owners[t])
                if t < len(entries):
                    line_patterns.setdefault(t, []).append(self.patterns[k])
        if self._sensitive and field_values:
            # Field names repeat across a batch: each distinct one is looked at once.
            names = {n for e in entries for n, _ in e.fields}
            sensitive = {n for n in names if self._is_sensitive(n)}
            if sensitive:
                dirty.update(i for i, e in enumerate(entries)
                             if e.fields and any(n in sensitive for n, _ in e.fields))
        out = list(entries)
        detections: list[tuple[str, Labels]] = []
        found: list[str] = []
        for i in sorted(dirty):
            entry = entries[i]
            line = (self.mask(entry.line, None, found) if hits is None else self.mask(
                entry.line, line_patterns.get(i, ()), found))
            fields = self._mask_fields(entry.fields, found) if entry.fields else entry.fields
            if found:
                detections.extend((kind, entry.labels) for kind in found)
                found.clear()
                out[i] = entry._replace(line=line, fields=fields)
        return out, detections

    def _is_sensitive(self, name: str) -> bool:
        known = self._sensitive_names.get(name)
        if known is None:
            if len(self._sensitive_names) >= 4096:
                self._sensitive_names.clear()
            known = self._sensitive_names[name] = _field_key(name) in self._sensitive
        return known

    def _mask_fields(self, fields: tuple[tuple[str, str], ...],
                     found: list[str]) -> tuple[tuple[str, str], ...]:
        masked = []
        for name, value in fields:
            if value and not value.startswith(MASK_PREFIX) and self._is_sensitive(name):
                found.append(SENSITIVE_FIELD_KIND)
                value = self._mask(SENSITIVE_FIELD_KIND, value)
            else:
                value = self.mask(value, None, found)
            masked.append((name, value))
        return tuple(masked)


def _field_key(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


class SecretMaskingAppender:
    """A :class:`LogAppender` that masks secrets, then hands the entries to ``inner``. The
    detections of a batch are reported to ``on_detected`` once ``inner`` has stored it (a
    refused batch, retried by its sender, is not counted twice), grouped by kind and stream."""

    def __init__(self, inner: LogAppender, detector: SecretDetector | None = None,
                 on_detected: DetectedFunc | None = None) -> None:
        self.inner = inner
        self.detector = detector or SecretDetector()
        self.on_detected = on_detected

    def append(self, entries: Sequence[LogEntry]) -> int:
        masked, detections = self.detector.mask_entries(entries)
        stored = self.inner.append(masked)
        if detections and self.on_detected is not None:
            for (kind, labels), n in _Tally(detections).items():
                self.on_detected(kind, labels, n)
        return stored


def secrets_counter(registry: Any, stream_label: str = "job") -> DetectedFunc:
    """A :data:`DetectedFunc` counting into ``vigil_logs_secrets_detected_total{kind,
    <stream_label>}`` registered in ``registry`` (a prometheus_client CollectorRegistry, e.g.
    ``SelfMetrics.registry``). One label of the stream only: the count stays cheap while
    saying where the leak is."""
    from prometheus_client import Counter

    counter = Counter("vigil_logs_secrets_detected", "Secrets found (and masked) in ingested "
                      "log lines and fields, by pattern and stream.", ["kind", stream_label],
                      registry=registry)

    def count(kind: str, labels: Labels, n: int) -> None:
        counter.labels(kind, labels.get(stream_label)).inc(n)
    return count


def patterns_from_config(items: Sequence[Mapping[str, Any]]) -> list[SecretPattern]:
    """Extra patterns from configuration: ``[{name, regex, hints?}]``. ``ValueError`` starts
    with the item's index: ``patterns[2]: secret pattern 'x': bad regular expression: …``."""
    patterns: list[SecretPattern] = []
    seen = {p.kind for p in BUILTIN_PATTERNS} | {SENSITIVE_FIELD_KIND}
    for i, item in enumerate(items):
        unknown = set(item) - {"name", "regex", "hints"}
        try:
            if unknown:
                raise ValueError(f"unknown key(s) {sorted(unknown)} (name, regex, hints)")
            if not isinstance(item.get("name"), str) or not isinstance(item.get("regex"), str):
                raise ValueError("name and regex are required strings")
            hints = item.get("hints") or []
            if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
                raise ValueError("hints must be a list of strings")
            if item["name"] in seen:
                raise ValueError(f"secret pattern {item['name']!r} is already defined")
            patterns.append(SecretPattern.compile(item["name"], item["regex"], hints))
            seen.add(item["name"])
        except ValueError as e:
            raise ValueError(f"patterns[{i}]: {e}") from None
    return patterns
