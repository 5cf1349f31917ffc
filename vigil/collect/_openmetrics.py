"""The OpenMetrics 1.0 rules that span lines: metric families, their metadata and the shape
of each MetricPoint (histogram buckets, summary quantiles, stateset/info values, ordering).

The line parser feeds every metadata line and sample to a :class:`FamilyChecker`; it raises
:class:`SemanticError` with a reason, which the parser prefixes with the line number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from vigil.collect._lex import OM_REAL

_REAL = re.compile(OM_REAL)
_UNIT = re.compile(r"[a-zA-Z0-9_:]*")

SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "unknown": ("",),
    "stateset": ("",),
    "info": ("_info",),
    "summary": ("", "_count", "_sum", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
}
_HISTOGRAMS = ("histogram", "gaugehistogram")


class SemanticError(Exception):
    """A rule of OpenMetrics broken by an otherwise well-formed line."""


@dataclass
class _Point:
    """One MetricPoint of a histogram or gauge histogram being read."""

    buckets: list[tuple[float, float]] = field(default_factory=list)
    inf_bucket: float | None = None
    count: float | None = None
    sum: float | None = None
    negative: bool = False  # a bucket with a negative upper bound


@dataclass
class Family:
    name: str
    type: str = "unknown"
    help: str | None = None
    unit: str | None = None
    type_set: bool = False
    has_samples: bool = False
    group: tuple[tuple[str, str], ...] | None = None
    group_ts: float | None = None
    done_groups: set[tuple[tuple[str, str], ...]] = field(default_factory=set)
    point: _Point | None = None

    names: tuple[str, ...] = ()  # the sample names this family may emit, given its type

    def __post_init__(self) -> None:
        self.names = (self.name,)

    def set_type(self, type_: str) -> None:
        self.type = type_
        self.names = tuple(self.name + s for s in SUFFIXES[type_])


class FamilyChecker:
    """Tracks families across the lines of one exposition. Not reusable."""

    def __init__(self) -> None:
        self.families: dict[str, Family] = {}
        self._claims: dict[str, Family] = {}  # sample name -> family that may emit it
        self._cur: Family | None = None
        self._series_ts: dict[tuple[str, tuple[tuple[str, str], ...]], float | None] = {}

    # -- families and metadata ---------------------------------------------------------

    def _start(self, name: str) -> Family:
        if name in self.families:
            raise SemanticError(f"metric family {name!r} is not contiguous (seen earlier)")
        owner = self._claims.get(name)
        if owner is not None:
            raise SemanticError(f"metric family {name!r} clashes with family {owner.name!r}")
        self._finish_family()
        fam = Family(name)
        self.families[name] = fam
        self._claims[name] = fam
        self._cur = fam
        return fam

    def _retype(self, fam: Family, type_: str) -> None:
        for n in fam.names:
            if self._claims.get(n) is fam:
                del self._claims[n]
        fam.set_type(type_)
        for n in fam.names:
            owner = self._claims.get(n)
            if (owner is not None and owner is not fam) or (n != fam.name and n in self.families):
                other = owner.name if owner is not None else n
                raise SemanticError(
                    f"{type_} {fam.name!r} would emit {n!r}, which clashes with family {other!r}")
            self._claims[n] = fam

    def metadata(self, kind: str, name: str, value: str) -> None:
        """``kind`` is HELP, TYPE or UNIT; ``value`` is already unescaped."""
        fam = self._cur
        if fam is None or fam.name != name:
            fam = self._start(name)
        elif fam.has_samples:
            raise SemanticError(f"# {kind} for {name!r} after its samples")
        dup = fam.type_set if kind == "TYPE" else getattr(fam, kind.lower()) is not None
        if dup:
            raise SemanticError(f"duplicate # {kind} for {name!r}")
        if kind == "HELP":
            fam.help = value
        elif kind == "TYPE":
            if value not in SUFFIXES:
                raise SemanticError(f"invalid metric type {value!r}")
            fam.type_set = True
            self._retype(fam, value)
        else:
            if not _UNIT.fullmatch(value):
                raise SemanticError(f"invalid unit {value!r}")
            fam.unit = value
        if fam.unit:
            if not name.endswith("_" + fam.unit):
                raise SemanticError(f"unit {fam.unit!r} is not a suffix of metric name {name!r}")
            if fam.type in ("info", "stateset"):
                raise SemanticError(f"{fam.type} {name!r} must not have a unit")

    # -- samples -----------------------------------------------------------------------

    def sample(self, name: str, labels: dict[str, str], value: float, ts: float | None,
               exemplar: bool) -> None:
        fam = self._cur
        if fam is None or name not in fam.names:
            fam = self._start(name)
        fam.has_samples = True
        suffix = name[len(fam.name):]
        t = fam.type
        if exemplar and not ((t == "counter" and suffix == "_total")
                             or (t in _HISTOGRAMS and suffix == "_bucket")):
            raise SemanticError(f"exemplar not allowed on {t} sample {name!r}")
        self._check_series_ts(name, labels, ts)
        drop = ("le" if t in _HISTOGRAMS and suffix == "_bucket"
                else "quantile" if t == "summary" and suffix == ""
                else fam.name if t == "stateset" else None)
        group = tuple(sorted((k, v) for k, v in labels.items() if k != drop))
        if group != fam.group or ts != fam.group_ts:
            self._end_point(fam)
            if group != fam.group:
                if group in fam.done_groups:
                    raise SemanticError(f"samples of {name!r} with labels {dict(group)} are "
                                        "not grouped together")
                if fam.group is not None:
                    fam.done_groups.add(fam.group)
            fam.group, fam.group_ts = group, ts
            fam.point = _Point() if t in _HISTOGRAMS else None
        self._check_value(fam, suffix, labels, value)

    def _check_series_ts(self, name: str, labels: dict[str, str], ts: float | None) -> None:
        key = (name, tuple(sorted(labels.items())))
        if key in self._series_ts:
            prev = self._series_ts[key]
            if (prev is None) != (ts is None):
                raise SemanticError(f"series {name!r} mixes samples with and without timestamps")
            if prev is None:
                raise SemanticError(f"duplicate sample for series {name!r}")
            if ts is not None and ts < prev:
                raise SemanticError(f"timestamps of series {name!r} go backwards")
        self._series_ts[key] = ts

    def _check_value(self, fam: Family, suffix: str, labels: dict[str, str], v: float) -> None:
        t, name = fam.type, fam.name + suffix
        nan = math.isnan(v)
        if t == "counter" and suffix == "_total" or suffix in ("_count", "_gcount") or (
                suffix == "_sum" and t in ("summary", "histogram")):
            if nan or v < 0:
                raise SemanticError(f"{t} sample {name!r} must be a non-negative number")
        elif t == "info":
            if v != 1:
                raise SemanticError(f"info {name!r} must have value 1")
        elif t == "stateset":
            if fam.name not in labels:
                raise SemanticError(f"stateset {name!r} needs a {fam.name!r} label")
            if v not in (0, 1):
                raise SemanticError(f"stateset {name!r} values must be 0 or 1")
        elif t == "summary" and suffix == "":
            q = labels.get("quantile")
            if q is None or not _REAL.fullmatch(q) or not 0 <= float(q) <= 1:
                raise SemanticError(f"summary {name!r} needs a quantile label in [0, 1]")
            if not nan and v < 0:
                raise SemanticError(f"summary quantile {name!r} must not be negative")
        elif t == "gaugehistogram" and suffix == "_gsum":
            if nan:
                raise SemanticError(f"gaugehistogram {name!r} sum must not be NaN")
        p = fam.point
        if p is None:
            return
        if suffix == "_bucket":
            self._bucket(fam, p, labels, v)
        elif suffix in ("_count", "_gcount"):
            p.count = v
        elif suffix in ("_sum", "_gsum"):
            if t == "gaugehistogram" and v < 0 and not p.negative:
                raise SemanticError(f"{name!r} is negative but no bucket is")
            p.sum = v

    def _bucket(self, fam: Family, p: _Point, labels: dict[str, str], v: float) -> None:
        le = labels.get("le")
        if le is None:
            raise SemanticError(f"{fam.type} bucket {fam.name}_bucket needs an le label")
        if le == "+Inf":
            bound = math.inf
        elif _REAL.fullmatch(le):
            bound = float(le)
        else:
            raise SemanticError(f"invalid le label value {le!r}")
        if math.isnan(v) or v < 0:
            raise SemanticError(f"{fam.type} bucket {fam.name}_bucket must be non-negative")
        if p.count is not None or p.sum is not None:
            raise SemanticError(f"bucket of {fam.name!r} after its count or sum")
        if p.buckets:
            last_bound, last_v = p.buckets[-1]
            if bound <= last_bound:
                raise SemanticError(f"buckets of {fam.name!r} are not in increasing le order")
            if v < last_v:
                raise SemanticError(f"bucket counts of {fam.name!r} decrease")
        p.buckets.append((bound, v))
        if bound < 0:
            p.negative = True
        if bound == math.inf:
            p.inf_bucket = v

    def _end_point(self, fam: Family) -> None:
        p = fam.point
        fam.point = None
        if p is None:
            return
        if p.inf_bucket is None:
            raise SemanticError(f"{fam.type} {fam.name!r} has no +Inf bucket")
        if (p.count is None) != (p.sum is None):
            raise SemanticError(f"{fam.type} {fam.name!r} must have both count and sum, or neither")
        if p.count is not None and p.count != p.inf_bucket:
            raise SemanticError(f"{fam.type} {fam.name!r} count differs from its +Inf bucket")
        if fam.type == "histogram" and p.negative and p.sum is not None:
            raise SemanticError(f"histogram {fam.name!r} with negative buckets must not have a sum")

    def _finish_family(self) -> None:
        if self._cur is not None:
            self._end_point(self._cur)

    def finish(self) -> None:
        """Check the last MetricPoint; call at ``# EOF``."""
        self._finish_family()
