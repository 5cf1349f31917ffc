"""The routing tree: which receivers, with which grouping and timing, an alert goes to."""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.config.model import Route as RouteConfig
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType, parse_matchers

DEFAULT_GROUP_WAIT_S = 30.0
DEFAULT_GROUP_INTERVAL_S = 300.0
DEFAULT_REPEAT_INTERVAL_S = 4 * 3600.0


@dataclass(frozen=True)
class RouteOptions:
    receiver: str
    group_by: frozenset[str]
    group_by_all: bool  # group_by: ['...']
    group_wait_s: float
    group_interval_s: float
    repeat_interval_s: float
    # Names of time intervals; this route's own, never inherited (Alertmanager).
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()


@dataclass
class Route:
    key: str  # identity in group keys, as Alertmanager builds it: "{}/{severity=\"critical\"}"
    matchers: list[Matcher]
    options: RouteOptions
    continue_: bool
    routes: list[Route] = field(default_factory=list)

    def match(self, labels: Labels) -> list[Route]:
        """The routes an alert ends at: depth-first, first match wins unless ``continue``."""
        if not all(m.matches_labels(labels) for m in self.matchers):
            return []
        found: list[Route] = []
        for child in self.routes:
            hits = child.match(labels)
            found.extend(hits)
            if hits and not child.continue_:
                break
        return found or [self]

    def group_labels(self, labels: Labels) -> Labels:
        if self.options.group_by_all:
            return labels
        return labels.only(*self.options.group_by)


def build_routes(config: RouteConfig) -> Route:
    return _build(config, None, "{}", [])


def _build(cfg: RouteConfig, parent: RouteOptions | None, parent_key: str, siblings: list) -> Route:
    matchers: list[Matcher] = []
    for name, value in sorted(cfg.match.items()):
        matchers.append(Matcher(MatchType.EQUAL, name, value))
    for name, value in sorted(cfg.match_re.items()):
        matchers.append(Matcher(MatchType.REGEX, name, value))
    for text in cfg.matchers:
        matchers.extend(parse_matchers(text))
    group_by = cfg.group_by if cfg.group_by is not None else (
        None if parent is None else ["..."] if parent.group_by_all else sorted(parent.group_by))
    group_by = group_by or []
    options = RouteOptions(
        receiver=cfg.receiver or (parent.receiver if parent else ""),
        group_by=frozenset(g for g in group_by if g != "..."),
        group_by_all="..." in group_by,
        group_wait_s=_pick(cfg.group_wait, parent and parent.group_wait_s, DEFAULT_GROUP_WAIT_S),
        group_interval_s=_pick(cfg.group_interval, parent and parent.group_interval_s, DEFAULT_GROUP_INTERVAL_S),
        repeat_interval_s=_pick(cfg.repeat_interval, parent and parent.repeat_interval_s, DEFAULT_REPEAT_INTERVAL_S),
        mute_time_intervals=tuple(cfg.mute_time_intervals),
        active_time_intervals=tuple(cfg.active_time_intervals),
    )
    if parent is None:
        key = "{}"
    else:
        key = parent_key + "/" + "{" + ",".join(str(m) for m in matchers) + "}"
        index = sum(1 for s in siblings if s.key.startswith(key))
        if index:
            key += f"/{index}"
    route = Route(key=key, matchers=matchers, options=options, continue_=cfg.continue_)
    for child in cfg.routes:
        route.routes.append(_build(child, options, key, route.routes))
    return route


def _pick(own: float | None, inherited: float | None | bool, default: float) -> float:
    if own is not None:
        return own
    if isinstance(inherited, float):
        return inherited
    return default


