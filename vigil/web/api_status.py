"""Bodies of the ``/api/v1/status/{tsdb,runtimeinfo,flags}`` answers, in Prometheus's shapes.

Pure functions over :class:`vigil.web.deps.TSDBStats`; the routes are in
:mod:`vigil.web.api_v1`. Times in Prometheus's JSON are int milliseconds (``headStats``) or
RFC 3339 strings (``runtimeinfo``).
"""

from __future__ import annotations

import math
import os
import threading
from collections import Counter
from datetime import UTC, datetime

from vigil.gocompat.durations import format_duration_ms
from vigil.gocompat.times import format_rfc3339_nano
from vigil.web.deps import TSDBStats

__all__ = ["flags", "runtime_info", "tsdb_status"]

# Prometheus cuts encoded chunks at 120 samples; Vigil's head does too, so this estimates
# the chunk count from the sample count without walking every series.
_SAMPLES_PER_CHUNK = 120


def _top(counts: Counter[str], limit: int) -> list[dict[str, object]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"name": name, "value": value} for name, value in ranked]


def tsdb_status(tsdb: TSDBStats, limit: int = 10) -> dict[str, object]:
    """Cardinality statistics as ``/api/v1/status/tsdb`` answers them: ``headStats`` and the
    ``limit`` largest entries of each top list. Unlike Prometheus (head only) the top lists
    cover every stored series, head and blocks, since Vigil's head may be small after a
    restart. ``chunkCount`` is an estimate (head samples / 120)."""
    st = tsdb.stats()
    all_labels = tsdb.series_labels()
    by_metric: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    values_by_name: dict[str, set[str]] = {}
    for ls in all_labels:
        by_metric[ls.get("__name__")] += 1
        for name, value in ls:
            pairs[f"{name}={value}"] += 1
            values_by_name.setdefault(name, set()).add(value)
    head_samples = int(st.get("head_samples") or 0)
    return {
        "headStats": {
            "numSeries": int(st.get("head_series") or 0),
            "numLabelPairs": len(pairs),
            "chunkCount": math.ceil(head_samples / _SAMPLES_PER_CHUNK),
            "minTime": st.get("head_min_time") or 0,
            "maxTime": st.get("head_max_time") or 0,
        },
        "seriesCountByMetricName": _top(by_metric, limit),
        "labelValueCountByLabelName": _top(
            Counter({n: len(v) for n, v in values_by_name.items()}), limit),
        "memoryInBytesByLabelName": _top(
            Counter({n: sum(len(x) for x in v) for n, v in values_by_name.items()}), limit),
        "seriesCountByLabelValuePair": _top(pairs, limit),
    }


def runtime_info(tsdb: TSDBStats | None, start_s: float, last_config_s: float
                 ) -> dict[str, object]:
    """``/api/v1/status/runtimeinfo``: Prometheus's fields, filled with what Python knows
    (``goroutineCount`` is the live thread count; ``GOMAXPROCS`` the CPU count)."""
    return {
        "startTime": format_rfc3339_nano(datetime.fromtimestamp(start_s, tz=UTC)),
        "CWD": os.getcwd(),
        "reloadConfigSuccess": True,
        "lastConfigTime": format_rfc3339_nano(datetime.fromtimestamp(last_config_s, tz=UTC)),
        "corruptionCount": 0,
        "goroutineCount": threading.active_count(),
        "GOMAXPROCS": os.cpu_count() or 1,
        "GOMEMLIMIT": 0,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": format_duration_ms(tsdb.retention_ms) if tsdb is not None else "",
    }


def flags(tsdb: TSDBStats | None) -> dict[str, str]:
    """``/api/v1/status/flags``: the Prometheus flag names whose meaning Vigil shares.
    Vigil is configured by its YAML file, not flags; see ``/api/v1/status/config``."""
    out = {"query.lookback-delta": "5m", "query.timeout": "2m",
           "query.max-samples": "50000000"}
    if tsdb is not None:
        out["storage.tsdb.path"] = tsdb.path
        out["storage.tsdb.retention.time"] = format_duration_ms(tsdb.retention_ms)
    return out
