"""What would happen to an alert, from the configuration alone (``vigil oncall simulate``):
the routes it takes, each route's receiver and escalation policy, then every step of the
policy with its time, the conditions decided at their time, the repeats, and who each notify
step reaches and through which contact methods (:mod:`vigil.oncall.reach`).

Offline, as ``vigil oncall who``: schedules come from the file, so overrides and swaps made
at run time are not included, and nobody acknowledges (the simulation shows every step a
never-acknowledged episode takes). An ``if_alerts`` condition counts ``alerts`` alerts in its
window (1 by default: the simulated one). Round-robin turns start at the list's first name
(at run time they continue from the previous episodes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vigil.alerting.dispatch import build_routes
from vigil.alerting.dispatch.route import Route as BuiltRoute
from vigil.config.model import Config
from vigil.config.model import Route as RouteConfig
from vigil.config.oncall import PRIORITIES
from vigil.config.yamlmarks import format_path
from vigil.model import Labels
from vigil.oncall.escalation_policy import plan, time_condition_holds
from vigil.oncall.reach import ConfigDirectory, Page, reach, target_of, urgency_of

__all__ = ["RouteSimulation", "Simulation", "SimulatedStep", "route_policies", "simulate"]


@dataclass(frozen=True)
class SimulatedStep:
    """One step of one cycle. ``outcome``: ``notify``, ``webhook``, ``declare incident``,
    ``condition holds``, ``condition does not hold`` (the rest of the cycle is skipped) or
    ``skipped``."""

    cycle: int
    index: int
    level: int
    kind: str
    due_at: datetime
    offset_s: float
    detail: str
    outcome: str
    pages: tuple[Page, ...] = ()

    @property
    def reaches_nobody(self) -> bool:
        return self.outcome == "notify" and not any(p.sendable for p in self.pages)


@dataclass(frozen=True)
class RouteSimulation:
    path: str  # the route's place in the config, e.g. alerting.route.routes[0]
    receiver: str
    policy: str | None
    steps: tuple[SimulatedStep, ...] = ()


@dataclass(frozen=True)
class Simulation:
    labels: dict[str, str]
    at: datetime
    priority: str
    urgency: str
    routes: tuple[RouteSimulation, ...] = field(default_factory=tuple)

    @property
    def steps_reaching_nobody(self) -> list[tuple[RouteSimulation, SimulatedStep]]:
        return [(r, s) for r in self.routes for s in r.steps if s.reaches_nobody]


def route_policies(root: RouteConfig, built: BuiltRoute) -> dict[int, tuple[str, str | None]]:
    """For every built route (by ``id``): its config path and escalation policy, inherited
    from the parent route as the receiver is."""
    found: dict[int, tuple[str, str | None]] = {}
    stack: list[tuple[RouteConfig, BuiltRoute, tuple[str | int, ...], str | None]] = [
        (root, built, ("alerting", "route"), None)]
    while stack:
        cfg, route, path, inherited = stack.pop()
        policy = cfg.escalation_policy or inherited
        found[id(route)] = (format_path(path), policy)
        stack.extend((c, b, (*path, "routes", i), policy)
                     for i, (c, b) in enumerate(zip(cfg.routes, route.routes, strict=True)))
    return found


def _describe(step: object) -> str:
    kind = step.kind  # type: ignore[attr-defined]
    value = getattr(step, kind)
    if kind in ("notify_users", "notify_round_robin"):
        return f"{kind} {', '.join(value)}"
    if kind == "if_time":
        return (f"if_time {value.from_}-{value.to} {value.time_zone} "
                f"({','.join(value.days)})")
    if kind == "if_alerts":
        return f"if_alerts more than {value.more_than} within {value.within:g}s of the {value.of}"
    if kind == "webhook":
        return f"webhook {value.url}"
    if kind == "declare_incident":
        return f"declare_incident SEV-{value.severity}" + (f" {value.title!r}" if value.title else "")
    return f"{kind} {value}"


def _policy_steps(config: Config, policy_name: str, at: datetime, urgency: str,
                  directory: ConfigDirectory, alerts: int) -> tuple[SimulatedStep, ...]:
    policy = next(p for p in config.escalation_policies if p.name == policy_name)
    out: list[SimulatedStep] = []
    skipped_cycle: int | None = None
    turn = 0
    for planned in plan(policy, at):
        step = planned.step
        base = dict(cycle=planned.cycle, index=planned.index, level=planned.level, kind=step.kind,
                    due_at=planned.due_at, offset_s=(planned.due_at - at).total_seconds(),
                    detail=_describe(step))
        if skipped_cycle == planned.cycle:
            out.append(SimulatedStep(**base, outcome="skipped"))
            continue
        if step.if_time is not None or step.if_alerts is not None:
            if step.if_time is not None:
                holds = time_condition_holds(step.if_time, planned.due_at)
            else:
                holds = alerts > step.if_alerts.more_than  # type: ignore[union-attr]
            if not holds:
                skipped_cycle = planned.cycle
            out.append(SimulatedStep(**base, outcome="condition holds" if holds
                                     else "condition does not hold"))
            continue
        if step.webhook is not None:
            out.append(SimulatedStep(**base, outcome="webhook"))
            continue
        if step.declare_incident is not None:
            out.append(SimulatedStep(**base, outcome="declare incident"))
            continue
        target = target_of(step, turn)
        assert target is not None, step.kind
        if target.kind == "round_robin":
            turn += 1
        pages = reach(target, planned.due_at, urgency, directory)
        out.append(SimulatedStep(**base, outcome="notify", pages=tuple(pages)))
    return tuple(out)


def simulate(config: Config, labels: dict[str, str], at: datetime, *, alerts: int = 1) -> Simulation:
    """The routes an alert with ``labels`` takes and, for each with an escalation policy,
    the policy's steps from ``at`` (the episode's opening), never acknowledged."""
    priority = labels.get("priority", "").upper()
    if priority not in PRIORITIES:
        priority = config.oncall.default_priority
    urgency = urgency_of(priority)
    built = build_routes(config.alerting.route)
    places = route_policies(config.alerting.route, built)
    directory = ConfigDirectory(config)
    routes: list[RouteSimulation] = []
    for route in built.match(Labels(labels)):
        path, policy = places[id(route)]
        steps = _policy_steps(config, policy, at, urgency, directory, alerts) if policy else ()
        routes.append(RouteSimulation(path, route.options.receiver, policy, steps))
    return Simulation(dict(labels), at, priority, urgency, tuple(routes))
