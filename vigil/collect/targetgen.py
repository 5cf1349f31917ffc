"""Discovered target groups -> scrape targets, with Prometheus's label rules.

For each ``host:port`` of a group (as Prometheus 2.42's ``populateLabels``): the group's
labels, then ``job``, ``__address__``, ``__scheme__``, ``__metrics_path__``,
``__scrape_interval__``, ``__scrape_timeout__`` and ``__param_<name>`` (first value) unless
already set; ``relabel_configs`` run over that set; a target whose labels are dropped, or
that has no ``__address__`` left, is *dropped* (kept for the API with its discovered
labels). A default port is added from the scheme, ``instance`` defaults to
``__address__``, interval/timeout may have been relabelled, and every label starting with
``__`` is removed from the target labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlencode

from vigil.collect.filesd import TargetGroup
from vigil.collect.scrape import HTTPOptions, ScrapeTarget
from vigil.collect.target import DroppedTarget
from vigil.config import Config, ScrapeConfig
from vigil.gocompat.durations import format_duration_ms, parse_duration_ms
from vigil.model.labels import Labels
from vigil.model.relabel import Relabeller

__all__ = ["build_targets", "static_groups"]


def static_groups(sc: ScrapeConfig) -> list[TargetGroup]:
    return [TargetGroup(source=f"{i}", targets=tuple(g.targets), labels=dict(g.labels))
            for i, g in enumerate(sc.static_configs)]


def _with_port(address: str, scheme: str) -> str:
    """``host`` -> ``host:80``/``host:443`` by scheme, as Prometheus 2.x does."""
    if address.startswith("["):
        return address if "]:" in address else f"{address}:{443 if scheme == 'https' else 80}"
    if ":" in address:
        return address
    return f"{address}:{443 if scheme == 'https' else 80}"


def _url(scheme: str, address: str, path: str, params: dict[str, list[str]],
         labels: dict[str, str]) -> str:
    merged = {k: list(v) for k, v in params.items()}
    for name, value in labels.items():
        if name.startswith("__param_"):
            key = name[len("__param_"):]
            if merged.get(key):
                merged[key][0] = value
            else:
                merged[key] = [value]
    url = f"{scheme}://{address}{path}"
    if merged:
        url += "?" + urlencode([(k, v) for k, vs in merged.items() for v in vs])
    return url


def build_targets(config: Config, sc: ScrapeConfig, groups: Sequence[TargetGroup],
                  http: HTTPOptions) -> tuple[list[ScrapeTarget], list[DroppedTarget]]:
    """The active and dropped targets of one scrape config, in group order, duplicates
    (same URL and labels) removed. ``target_limit`` exceeded makes every active target
    fail its scrapes with Prometheus's message."""
    interval = config.scrape_interval(sc)
    timeout = config.scrape_timeout(sc)
    relabel = Relabeller(sc.relabel_configs)
    metric_relabel = Relabeller(sc.metric_relabel_configs)
    active: dict[tuple[str, str, Labels], ScrapeTarget] = {}
    dropped: list[DroppedTarget] = []
    for group in groups:
        for address in group.targets:
            base = {
                **group.labels, "__address__": address,
            }
            for name, value in (
                    ("job", sc.job_name), ("__scheme__", sc.scheme),
                    ("__metrics_path__", sc.metrics_path),
                    ("__scrape_interval__", format_duration_ms(round(interval * 1000))),
                    ("__scrape_timeout__", format_duration_ms(round(timeout * 1000)))):
                base.setdefault(name, value)
            for key, values in sc.params.items():
                if values:
                    base.setdefault(f"__param_{key}", values[0])
            discovered = Labels(base)
            out = relabel.process_dict(base)
            if out is None or not out.get("__address__"):
                dropped.append(DroppedTarget(sc.job_name, discovered))
                continue
            scheme = out.get("__scheme__", sc.scheme)
            addr = _with_port(out["__address__"], scheme)
            out["__address__"] = addr
            if not out.get("instance"):
                out["instance"] = addr
            try:
                t_interval = parse_duration_ms(out.get("__scrape_interval__", "")) / 1000
                t_timeout = parse_duration_ms(out.get("__scrape_timeout__", "")) / 1000
            except ValueError:
                t_interval, t_timeout = interval, timeout  # unparsable: config values
            url = _url(scheme, addr, out.get("__metrics_path__", sc.metrics_path), sc.params, out)
            labels = Labels({k: v for k, v in out.items() if not k.startswith("__")})
            target = ScrapeTarget(
                job=sc.job_name, instance=out["instance"], scrape_url=url, labels=labels,
                discovered_labels=discovered, interval_s=t_interval,
                timeout_s=min(t_timeout, t_interval), honor_labels=sc.honor_labels,
                honor_timestamps=sc.honor_timestamps, sample_limit=sc.sample_limit,
                label_limit=sc.label_limit, label_name_length_limit=sc.label_name_length_limit,
                label_value_length_limit=sc.label_value_length_limit,
                metric_relabel=metric_relabel if metric_relabel else None, http=http)
            active.setdefault(target.key, target)
    targets = list(active.values())
    if sc.target_limit and len(targets) > sc.target_limit:
        error = (f"target_limit exceeded (number of targets: {len(targets)}, "
                 f"limit: {sc.target_limit})")
        targets = [replace(t, forced_error=error) for t in targets]
    return targets, dropped
