"""The escalation engine (issue 16, O3): runs each unacknowledged episode's policy.

About once a second on the primary, for every unresolved, **open** (not acknowledged)
episode whose route names a policy (``escalation_policy:``, inherited by child routes as
``receiver`` is), the steps of :func:`vigil.oncall.escalation_policy.plan` that are due are
taken in order, each once: :meth:`EscalationStore.take_step` checks, in the transaction that
records the step and queues its notifications in the outbox, that the episode is still open,
so a step falling due after an acknowledgement is never sent, and that nobody took it before
(another replica, or this one before a restart: a step that fell due while Vigil was down is
taken at the first pass after the start, once). Contacts due later (a user's "Slack after
2 min") wait in the outbox and are dropped when the episode is acknowledged or resolved.

Unacknowledging an episode starts its policy again from the first step (a new *run*).
Who a step reaches is :func:`vigil.oncall.reach.reach` (users' contact methods and rules).

A ``declare_incident`` step calls the injected :class:`IncidentDeclarer` (the incident
service) with the origin key ``escalation:<episode>:<run>:<cycle>:<step>`` before the step is
recorded: a retry after a failure, or a second replica, finds the incident declared under
that key instead of declaring another. The step's detail names the incident.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from vigil.alerting.dispatch.route import Route, build_routes
from vigil.alerting.notify.integration import Integration
from vigil.alerting.notify.templates import NotifyTemplate, notification
from vigil.config.escalation import NOTIFY_KINDS, EscalationPolicy
from vigil.config.model import Config
from vigil.config.model import Route as RouteConfig
from vigil.errors import VigilError
from vigil.model import Labels
from vigil.oncall.escalation_policy import PlannedStep, plan, time_condition_holds
from vigil.oncall.escalation_send import (
    PAGES_RECEIVER,
    email_message,
    page_body,
    slack_text,
    smtp_source,
)
from vigil.oncall.lifecycle import FiringGroup
from vigil.oncall.links import ActionLinkMaker
from vigil.oncall.primary_loop import run_while_primary
from vigil.oncall.reach import Directory, Page, Target, reach, target_of, urgency_of
from vigil.state.escalation_store import EscalationStore, QueuedNotification, StepTaken
from vigil.state.lifecycle_store import Episode, EpisodeError, LifecycleStore

__all__ = ["Escalation", "EscalationMetrics", "EscalationStatus", "IncidentDeclarer", "policies_by_route"]

log = logging.getLogger(__name__)


class EscalationMetrics(Protocol):
    oncall_escalations: Any  # counter {policy, level}: steps that paged, taken by this replica


class IncidentDeclarer(Protocol):
    """Declares the incident of a ``declare_incident`` step (implemented by
    :class:`vigil.incidents.service.IncidentService`)."""

    def declare_for_escalation(self, *, origin_key: str, severity: int, title: str | None, group_key: str,
                               ) -> tuple[str, bool]:
        """(the incident's ref, whether this call declared it). The same ``origin_key``
        always gives the same incident. ``title`` None: the incident's default title."""
        ...


def policies_by_route(config: Config) -> list[tuple[str, str | None]]:
    """(route key, policy name or None) for every route, deepest first: the policy of a
    group is that of the longest route key its group key starts with."""
    out: list[tuple[str, str | None]] = []

    def walk(built: Route, cfg: RouteConfig, inherited: str | None) -> None:
        policy = cfg.escalation_policy or inherited
        out.append((built.key, policy))
        for child_built, child_cfg in zip(built.routes, cfg.routes, strict=True):
            walk(child_built, child_cfg, policy)

    walk(build_routes(config.alerting.route), config.alerting.route, None)
    return sorted(out, key=lambda kv: len(kv[0]), reverse=True)


@dataclass(frozen=True)
class EscalationStatus:
    """Where an episode's escalation is: for the API and the alerts page."""

    policy: str | None
    run: int
    level: int  # the highest level paged in this run (0: none yet)
    next_step: PlannedStep | None  # None: finished, stopped, or no policy
    stopped: str | None  # why nothing more is due: acknowledged, resolved, finished, no policy
    taken: dict[str, dict[str, Any]]


class Escalation:
    def __init__(self, episodes: LifecycleStore, store: EscalationStore, config: Callable[[], Config],
                 directory: Directory, groups: Callable[[], list[FiringGroup]],
                 channel_integrations: Callable[[], Mapping[tuple[str, str], Integration]], *,
                 member_id: str = "local", links: ActionLinkMaker | None = None, external_url: str = "",
                 metrics: EscalationMetrics | None = None, is_primary: Callable[[], bool] = lambda: True,
                 clock: Callable[[], datetime] | None = None, interval_s: float = 1.0,
                 on_enqueue: Callable[[], None] | None = None, incidents: IncidentDeclarer | None = None) -> None:
        self.episodes = episodes
        self.store = store
        self.config = config
        self.directory = directory
        self.groups = groups
        self.channel_integrations = channel_integrations
        self.member_id = member_id
        self.links = links
        self.external_url = external_url.rstrip("/")
        self.alerts_url = f"{self.external_url}/alerts"
        self.metrics = metrics
        self.is_primary = is_primary
        self.clock = clock or store.now  # the database's clock: replicas agree on what is due
        self.interval_s = interval_s
        self.on_enqueue = on_enqueue
        self.incidents = incidents
        self._routes: tuple[Config, list[tuple[str, str | None]]] | None = None

    # --- policies ---
    def policies(self) -> dict[str, EscalationPolicy]:
        return {p.name: p for p in self.config().escalation_policies}

    def policy_for(self, group_key: str) -> EscalationPolicy | None:
        config = self.config()
        if self._routes is None or self._routes[0] is not config:
            self._routes = (config, policies_by_route(config))
        for route_key, name in self._routes[1]:
            if group_key.startswith(route_key + ":{"):
                return self.policies().get(name) if name else None
        return None

    # --- the pass ---
    def tick(self) -> list[StepTaken]:
        """Take every step due now (see the module's docstring). Returns the steps taken."""
        now = self.clock()
        taken: list[StepTaken] = []
        groups: dict[str, FiringGroup] | None = None
        for ep in self.episodes.episodes(unresolved_only=True, limit=100_000):
            if ep.state != "open":
                continue
            policy = self.policy_for(ep.group_key)
            if policy is None:
                continue
            run, start = self.store.run_started_at(ep.id, ep.opened_at)
            done = self.store.taken_steps(ep.id)
            skipped: set[int] = set()
            for step in plan(policy, start):
                if step.due_at > now:
                    break
                if step.cycle in skipped:
                    continue
                record = done.get(f"{run}:{step.key}")
                if record is None:
                    if groups is None:
                        groups = {g.key: g for g in self.groups()}
                    result = self._take(ep, policy, step, run, groups)
                    if result is None:
                        break  # acknowledged or resolved meanwhile, or another replica is at it
                    taken.append(result)
                    record = result.detail
                if record.get("holds") is False:
                    skipped.add(step.cycle)
        self._drop_stale_pages()
        if taken and self.on_enqueue is not None:
            self.on_enqueue()
        return taken

    def _drop_stale_pages(self) -> None:
        for episode_id in self.store.pending_episodes():
            try:
                state = self.episodes.get(episode_id).state
            except EpisodeError:
                state = "resolved"  # gone
            if state != "open":
                self.store.cancel_pending(episode_id)

    def _take(self, ep: Episode, policy: EscalationPolicy, step: PlannedStep, run: int,
              groups: dict[str, FiringGroup]) -> StepTaken | None:
        detail: dict[str, Any] = {"policy": policy.name, "level": step.level, "run": run,
                                  "cycle": step.cycle, "step": step.index, "kind": step.kind,
                                  "due_at": step.due_at.isoformat().replace("+00:00", "Z")}
        notifications: list[QueuedNotification] = []
        round_robin = None
        s = step.step
        if s.if_time is not None:
            detail["holds"] = time_condition_holds(s.if_time, step.due_at)
        elif s.if_alerts is not None:
            count = self._alerts_within(ep, s.if_alerts.of, s.if_alerts.within, step.due_at, groups)
            detail["alerts"] = count
            detail["holds"] = count > s.if_alerts.more_than
        elif s.webhook is not None:
            body = self._body(ep, policy, step, run, None, "webhook")
            notifications.append(QueuedNotification(PAGES_RECEIVER, "http", {
                "url": s.webhook.url, "body": body, "timeout": s.webhook.timeout,
                "target": f"the webhook step of policy {policy.name}"}))
            detail["paged"] = [{"webhook": True}]
        elif s.declare_incident is not None:
            detail.update(self._declare(ep, s.declare_incident.severity, s.declare_incident.title,
                                        f"escalation:{ep.id}:{run}:{step.key}", groups))
        else:
            target = target_of(s)
            assert target is not None and step.kind in NOTIFY_KINDS
            urgency = urgency_of(ep.priority)
            if target.kind == "round_robin":
                choices = []
                for turn in range(len(target.names)):
                    pages = reach(Target("round_robin", target.names, turn), step.due_at, urgency,
                                  self.directory)
                    queued, described = self._notifications(ep, policy, step, run, pages, groups)
                    choices.append(({"paged": described}, queued))
                round_robin = (policy.name, step.index, choices)
            else:
                pages = reach(target, step.due_at, urgency, self.directory)
                notifications, detail["paged"] = self._notifications(ep, policy, step, run, pages, groups)
        result = self.store.take_step(ep.id, f"{run}:{step.key}", member_id=self.member_id,
                                      detail=detail, notifications=notifications, round_robin=round_robin)
        if result is not None and step.kind not in ("if_time", "if_alerts"):
            log.info("escalation %s level %d of episode %s: %s", policy.name, step.level, ep.id,
                     result.detail.get("paged"))
            if self.metrics is not None:
                self.metrics.oncall_escalations.labels(policy.name, str(step.level)).inc()
        return result

    def _declare(self, ep: Episode, severity: int, title_template: str | None, origin_key: str,
                 groups: dict[str, FiringGroup]) -> dict[str, Any]:
        """Declare (or find, by ``origin_key``) the step's incident; what the step records."""
        if self.incidents is None:
            return {"problem": "incidents are not available in this process"}
        title = None
        if title_template is not None:
            group = groups.get(ep.group_key)
            n = notification(receiver=ep.receiver, group_key=ep.group_key, group_labels=Labels(ep.group_labels),
                             alerts=list(group.alerts) if group else [], now=self.clock(),
                             external_url=self.external_url)
            title = NotifyTemplate(title_template, "declare_incident.title").render(n).strip() or None
        try:
            ref, created = self.incidents.declare_for_escalation(origin_key=origin_key, severity=severity,
                                                                 title=title, group_key=ep.group_key)
        except VigilError as exc:  # refused (not a database failure: those retry the step)
            log.warning("escalation of episode %s: declaring an incident failed: %s", ep.id, exc)
            return {"problem": f"declaring the incident failed: {exc}", "severity": severity}
        return {"incident": ref, "declared": created, "severity": severity}

    def _alerts_within(self, ep: Episode, of: str, within_s: float, at: datetime,
                       groups: dict[str, FiringGroup]) -> int:
        since = at - timedelta(seconds=within_s)
        chosen = [g for g in groups.values()
                  if (g.key == ep.group_key if of == "group" else g.receiver == ep.receiver)]
        return sum(1 for g in chosen for a in g.alerts if since <= a.starts_at <= at)

    def _body(self, ep: Episode, policy: EscalationPolicy, step: PlannedStep, run: int,
              user: str | None, via: str) -> dict[str, Any]:
        links = self.links.links(ep.group_key, PAGES_RECEIVER, "http") if self.links else {}
        return page_body(ep, policy=policy.name, level=step.level, cycle=step.cycle, step=step.index,
                         step_kind=step.kind, at=step.due_at, user=user, via=via, links=links,
                         alerts_url=self.alerts_url) | {"run": run}

    def _notifications(self, ep: Episode, policy: EscalationPolicy, step: PlannedStep, run: int,
                       pages: list[Page], groups: dict[str, FiringGroup],
                       ) -> tuple[list[QueuedNotification], list[dict[str, Any]]]:
        """The outbox entries for ``pages``, and what to record of each (never addresses)."""
        out: list[QueuedNotification] = []
        described: list[dict[str, Any]] = []
        smtp = smtp_source(self.config())
        for page in pages:
            note = {"user": page.user, "kind": page.kind, "label": page.label, "via": page.via,
                    "delay_s": page.delay_s}
            problem = page.problem if not page.sendable else ""
            if not problem and page.kind == "receiver":
                problem = self._channel(ep, page.address, groups, out)
                note["receiver"] = page.address
            elif not problem:
                body = self._body(ep, policy, step, run, page.user, page.via)
                if page.kind == "webhook":
                    out.append(QueuedNotification(PAGES_RECEIVER, "http", {
                        "url": page.address, "body": body, "target": f"the webhook of {page.user}"},
                        page.delay_s))
                elif page.kind == "slack_webhook":
                    out.append(QueuedNotification(PAGES_RECEIVER, "http", {
                        "url": page.address, "body": {"text": slack_text(body)},
                        "target": f"the Slack webhook of {page.user}"}, page.delay_s))
                elif page.kind == "email" and smtp is not None:
                    out.append(QueuedNotification(PAGES_RECEIVER, "email", {
                        "message": email_message(smtp, page.address, body)}, page.delay_s))
                elif page.kind == "email":
                    problem = "no receiver has email_configs, whose SMTP settings e-mail pages use"
                else:
                    problem = f"{page.kind} contacts cannot be paged (use slack_webhook, webhook or email)"
            if problem:
                note["problem"] = problem
                log.warning("escalation %s level %d of episode %s: %s", policy.name, step.level, ep.id,
                            page.describe() if page.problem else f"{page.user}: {problem}")
            described.append(note)
        return out, described

    def _channel(self, ep: Episode, receiver: str, groups: dict[str, FiringGroup],
                 out: list[QueuedNotification]) -> str:
        group = groups.get(ep.group_key)
        if group is None:
            return "the group has no firing alerts to send"
        integrations = [(name, i) for (r, name), i in self.channel_integrations().items() if r == receiver]
        if not integrations:
            return f"receiver {receiver!r} has no integrations"
        now = self.clock()
        for name, integration in integrations:
            payload = integration.build(receiver=receiver, group_key=ep.group_key, group_labels=group.labels,
                                        alerts=list(group.alerts), now=now, external_url=self.external_url)
            out.append(QueuedNotification(receiver, name, payload))
        return ""

    # --- visibility ---
    def status(self, ep: Episode) -> EscalationStatus:
        policy = self.policy_for(ep.group_key)
        if policy is None:
            return EscalationStatus(None, 0, 0, None, "no policy", {})
        run, start = self.store.run_started_at(ep.id, ep.opened_at)
        done = self.store.taken_steps(ep.id)
        mine = {k.split(":", 1)[1]: v for k, v in done.items() if k.split(":", 1)[0] == str(run)}
        level = max((v.get("level", 0) for v in mine.values() if v.get("kind") in (*NOTIFY_KINDS, "webhook")),
                    default=0)
        if ep.state != "open":
            return EscalationStatus(policy.name, run, level, None,
                                    "acknowledged" if ep.state == "acknowledged" else "resolved", mine)
        skipped: set[int] = set()
        for step in plan(policy, start):
            if step.cycle in skipped:
                continue
            record = mine.get(step.key)
            if record is None:
                return EscalationStatus(policy.name, run, level, step, None, mine)
            if record.get("holds") is False:
                skipped.add(step.cycle)
        return EscalationStatus(policy.name, run, level, None, "finished", mine)

    async def run(self) -> None:
        """Take due steps about every ``interval_s`` while primary (see
        :func:`run_while_primary`)."""
        await run_while_primary(self.tick, interval_s=self.interval_s,
                                is_primary=self.is_primary, log=log,
                                failed="escalating alert episodes failed")
