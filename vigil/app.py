"""Assembly: the one place where stages are built from a :class:`Config` and wired.

Data flows one way and each stage gets only the narrow objects it needs (see
docs/architecture.md):

    collect.Manager (scrapes, local collectors, push gateway) --append--> tsdb.DB
    remote.Receiver (remote write)                            --append--> tsdb.DB
    tsdb.DB --subscribe--> remote.queue.QueueManager --> remote_write endpoints
    promql.Engine(db, features=enabled experimental features)
    rules.Manager(query=engine, notify=dispatcher.put, storage=db, state_store=store)
    alerting.Dispatcher(store, silencer=silences) --outbox--> alerting.notify.OutboxWorker
        --> receivers' integrations (webhook, Slack, PagerDuty, e-mail)
    web.create_app(WebDeps(engine, targets, rules, storage, alerting, remote_write, ...))

With ``storage.remote`` (docs/configuration.md) the TSDB is a small buffer: the engine is
a :class:`vigil.remote.RemoteEngine` running PromQL in the metrics store, the series
endpoints read the store, and a buffered queue (:func:`vigil.remote.open_remote_store`)
remote-writes every commit to it.

``store`` is the state layer (:class:`vigil.state.Store`), below rules and alerting.
``membership`` (:class:`vigil.cluster.Membership`) is this replica's place among the
``vigil up`` processes sharing the state database (docs/cluster.md): its ``is_primary``
gates the rules' alerting and the dispatcher's flushes, its ``member_id`` names the outbox
claims, its ``shard`` splits scrape targets in ``storage.remote`` mode. One process on SQLite
is a cluster of one, always primary.
:func:`check` validates a configuration completely (including rule files) without starting
anything, so that ``vigil up`` never starts half-configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import uvicorn

from vigil import __version__
from vigil.access import AccessService, apply_people, check_exposure, is_loopback, read_passwords
from vigil.access.oidc import OIDCLogin, read_client_secret
from vigil.access.webconfig import LiveWebConfig, load_web_config
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.notify import OutboxWorker
from vigil.alerting.notify.templates import load_template_files
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.cluster import Membership
from vigil.collect.exporters import build_local_targets
from vigil.collect.host import HostCollector
from vigil.collect.local import LocalTarget
from vigil.collect.manager import Manager as CollectManager
from vigil.collect.pushgateway import PushGateway
from vigil.config import Config, load_config, resolve_path
from vigil.config.dump import redacted_yaml
from vigil.config.status_page import check_status_page
from vigil.config.yamlmarks import load_yaml_file
from vigil.dashboards.store import DashboardStore, settings_from_config
from vigil.errors import ConfigError, ParseError, QueryError, StorageError, VigilError
from vigil.incidents.communications import check_templates
from vigil.incidents.correlation import Correlator
from vigil.incidents.response import incident_response
from vigil.incidents.review import IncidentReview
from vigil.incidents.service import IncidentService
from vigil.incidents.status_page_service import StatusPageService
from vigil.incidents.status_recorder import StatusRecorder
from vigil.incidents.timeline import Timeline, dispatcher_groups
from vigil.logs.rules import LOGQL, logql_query_func, parse_rule_expr
from vigil.logs.runtime import LogsRuntime
from vigil.logs.secrets import SecretDetector, SecretPattern, patterns_from_config, secrets_counter
from vigil.logs.shipped_rules import shipped_log_rule_files
from vigil.model.features import parse_features
from vigil.model.labels import Labels
from vigil.objectives.availability import check_service_queries
from vigil.objectives.exporter import ObjectivesExporter
from vigil.objectives.service import ObjectivesService
from vigil.oncall.escalation import Escalation
from vigil.oncall.escalation_send import page_integrations
from vigil.oncall.lifecycle import Lifecycle, firing_groups
from vigil.oncall.links import ActionLinkMaker
from vigil.oncall.reach import LiveDirectory
from vigil.oncall.schedule_config import schedules_by_name
from vigil.oncall.schedules import ScheduleService
from vigil.promql import Engine, parse_expr
from vigil.promql.value import Sample, Scalar, Vector
from vigil.remote import Receiver, RemoteStore, open_remote_store
from vigil.remote.query import RemoteEngine
from vigil.remote.queue import QueueManager
from vigil.reports.context import ReportContext
from vigil.reports.definitions import REPORTS
from vigil.reports.forecast import forecast_settings
from vigil.reports.mail import smtp_settings
from vigil.reports.schedule import check_report_schedules
from vigil.reports.wiring import wire_reports
from vigil.rules import Manager as RulesManager
from vigil.rules import RuleGroup, default_rule_files, load_rule_files
from vigil.selfmetrics import SelfMetrics
from vigil.shifts.checks import ShiftChecker
from vigil.shifts.loop import ShiftLoop
from vigil.shifts.service import ShiftService
from vigil.slo.loader import config_slo_rule_groups
from vigil.slo.source import SLOStatusSource
from vigil.state import Store
from vigil.state.action_item_store import ActionItemStore
from vigil.state.cluster_store import ClusterStore
from vigil.state.escalation_store import EscalationStore
from vigil.state.incident_candidate_store import CandidateStore
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_store import LifecycleStore
from vigil.state.schedule_store import ScheduleStore
from vigil.state.shift_store import ShiftStore
from vigil.state.status_page_store import StatusPageStore
from vigil.tsdb import DB
from vigil.web import WebDeps, create_app
from vigil.web.access_gate import AccessPolicy
from vigil.web.query_gate import QueryGate
from vigil.web.webconfig_auth import WebConfigGate

if TYPE_CHECKING:
    from vigil.demo import Demo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checked:
    """A configuration with everything it refers to loaded and validated."""

    config: Config
    rule_groups: list[RuleGroup]
    # The PromQL features in force: the config's enable_features and the command line's
    # (command_line_features, kept so that a reload checks with them again).
    features: frozenset[str] = frozenset()
    command_line_features: frozenset[str] = frozenset()


def check(config_file: str | None, features: Iterable[str] = ()) -> Checked:
    """Load and validate the configuration and every rule file it names; rule expressions
    may use the features of the config and ``features`` (``vigil up --enable-feature``).

    Raises :class:`ConfigError` (or ``ParseError`` wrapped in one) naming file and line."""
    config = load_config(config_file)
    extra = frozenset(features)
    enabled = parse_features([*config.enable_features, *extra])
    files = list(default_rule_files()) if config.default_rules else []
    files += [resolve_path(config, f) for f in config.rule_files]
    groups = load_rule_files(files, features=enabled)
    groups += config_slo_rule_groups(config, enabled)  # SLO files (vigil.slo): Sloth's rules
    groups += _log_rule_groups(config, config_file)
    _log_secret_patterns(config, config_file)
    _check_status_page(config, config_file, enabled)
    _located(check_templates(config), config_file)
    _located(check_report_schedules(config, REPORTS, has_smtp=smtp_settings(config) is not None), config_file)
    _located(check_service_queries(config.objectives, lambda q: parse_expr(q, features=enabled)), config_file)
    load_template_files(config.alerting.templates)  # a bad template file fails the check, not a reload half-way
    read_passwords(config.users, resolve_path(config, "."))  # provisioned users' password files and variables
    if config.access.oidc is not None:
        read_client_secret(config.access.oidc, resolve_path(config, "."))
    if config.web.config_file:
        load_web_config(resolve_path(config, config.web.config_file))
    return Checked(config, groups, enabled, extra)


def _log_rule_groups(config: Config, config_file: str | None) -> list[RuleGroup]:
    """Loki ruler files (``logs.rule_files``, and the shipped security rules with the
    shipped rule pack unless ``logs.shipped_rules`` is off): rule groups in LogQL, run on the
    log store."""
    if config.logs.rule_files and not config.logs.enabled:
        _located((("logs", "rule_files"), "log rules need the log store (logs.enabled: true)"),
                 config_file)
    if not config.logs.enabled:
        return []
    files = shipped_log_rule_files() if config.default_rules and config.logs.shipped_rules else []
    files += [resolve_path(config, f) for f in config.logs.rule_files]
    return load_rule_files(files, language=LOGQL, parse=parse_rule_expr) if files else []


def _log_secret_patterns(config: Config, config_file: str | None) -> list[SecretPattern]:
    """``logs.secrets.patterns`` compiled; a bad one is reported at its place in the file."""
    items = [p.model_dump() for p in config.logs.secrets.patterns]
    try:
        return patterns_from_config(items)
    except ValueError as e:  # "patterns[i]: <why>"
        index, _, why = str(e).partition("]: ")
        _located((("logs", "secrets", "patterns", int(index.removeprefix("patterns["))), why),
                 config_file)
        raise  # not reached: _located raises


def _check_status_page(config: Config, config_file: str | None, features: frozenset[str]) -> None:
    """The status page's PromQL and time interval names, located in the config file (the
    config layer does not parse PromQL)."""
    alerting = config.alerting
    names = {t.name for t in (*alerting.time_intervals, *alerting.mute_time_intervals)}
    problem = check_status_page(config.status_page, names, lambda q: parse_expr(q, features=features))
    if problem is not None:
        _located((("status_page", *problem[0]), problem[1]), config_file)


def _located(problem: tuple[tuple[str | int, ...], str] | None, config_file: str | None) -> None:
    """Raise a problem a later stage found in the loaded config at its place in the file
    (``path`` as the YAML has it: list indexes as numbers)."""
    if problem is None:
        return
    path, message = problem
    if config_file is None:
        raise ConfigError(message, path=".".join(map(str, path)))
    _, marks = load_yaml_file(config_file)
    raise marks.error(message, path)


def web_config_of(config: Config, override: str | None = None) -> LiveWebConfig | None:
    """Prometheus's web configuration file in force: ``vigil up --web.config.file`` wins,
    else the config's ``web.config_file`` (relative to the config); None when neither."""
    path = override or (resolve_path(config, config.web.config_file) if config.web.config_file else None)
    return LiveWebConfig(path) if path else None


def data_dir_of(config: Config, override: str | None = None) -> str:
    """The data directory: the command line wins, else the config's, relative to its file."""
    return os.path.abspath(override) if override else resolve_path(config, config.data_dir)


class App:
    """A running Vigil. Build with :meth:`build`, run with :meth:`serve`."""

    def __init__(self, checked: Checked, *, data_dir: str, listen: str | None = None,
                 config_file: str | None = None, demo: bool = False,
                 web_config: LiveWebConfig | None = None) -> None:
        self.config_file = config_file
        # TLS and basic auth from Prometheus's web config file (None: plain HTTP, no gate).
        self.web_config = web_config
        self.scheme = "https" if web_config and web_config.current().tls else "http"
        self.config = checked.config
        self.data_dir = data_dir
        self.listen = listen or self.config.web.listen_address
        os.makedirs(data_dir, exist_ok=True)
        self.demo: Demo | None = None
        if demo:  # imported only then: the demo's MQTT client and simulators weigh MBs
            from vigil.demo import Demo
            self.demo = Demo(os.path.join(data_dir, "demo"))
        checked = self._with_demo(checked)
        self.config = checked.config  # with the demo's status page components
        host, _, port = self.listen.rpartition(":")
        self.host, self.port = host.strip("[]") or "127.0.0.1", int(port)
        self.external_url = self.config.web.external_url or f"{self.scheme}://{self.listen}"

        self.metrics = SelfMetrics()
        # httpx reports every request at INFO (each scrape, each remote write and query):
        # only its warnings belong in Vigil's log, unless debugging.
        if not log.isEnabledFor(logging.DEBUG):
            logging.getLogger("httpx").setLevel(logging.WARNING)
        tsdb_cfg = self.config.storage.tsdb
        remote = self.config.storage.remote
        # With a metrics store the TSDB is its buffer: kept only local_retention.
        retention_s = remote.local_retention if remote is not None else tsdb_cfg.retention_time
        self.db = DB.open(os.path.join(data_dir, "tsdb"), retention_ms=int(retention_s * 1000),
                          retention_bytes=tsdb_cfg.retention_size,
                          out_of_order_window_ms=int(tsdb_cfg.out_of_order_time_window * 1000),
                          wal_fsync=tsdb_cfg.wal_fsync, fsync_interval_s=tsdb_cfg.wal_fsync_interval,
                          metrics=self.metrics)
        state_url = self.config.storage.state.url
        self.store = Store.open(state_url) if state_url else Store.open_in(data_dir)
        # People and access: the config's users and teams are applied before serving.
        self.access = AccessService(self.store.access, self.config.access)
        oidc = self.config.access.oidc  # single sign-on: set at start, a reload keeps it
        self.oidc = OIDCLogin(oidc, redirect_url=f"{self.external_url.rstrip('/')}/login/oidc/callback",
                              client_secret=read_client_secret(oidc, resolve_path(self.config, "."))
                              ) if oidc is not None else None
        try:
            apply_people(self.access, self.config.users, self.config.teams,
                         base_dir=resolve_path(self.config, "."))
            access_policy = self._access_policy()
        except VigilError:
            self.store.close()
            self.db.close()
            raise
        # The engine that serves the API and evaluates the rules. Features are fixed at
        # start, as Prometheus's flags: a reload does not change them.
        self.features = checked.features
        self.command_line_features = checked.command_line_features
        self.remote_store: RemoteStore | None = None
        if remote is None:
            limits = self.config.query  # Prometheus's --query.* flags, read at start
            self.engine: Engine | RemoteEngine = Engine(
                self.db, features=self.features, max_samples=limits.max_samples,
                timeout_s=limits.timeout, lookback_delta_ms=round(limits.lookback_delta * 1000))
        else:
            try:
                self.remote_store = open_remote_store(self.config, self.db, features=self.features,
                                                      state_dir=data_dir)
            except (OSError, ssl.SSLError) as e:
                self.store.close()
                self.db.close()
                raise ConfigError(f"storage.remote.tls_config: {e}") from None
            self.engine = self.remote_store.engine

        self.membership = self._membership()
        is_primary = self.membership.is_primary
        self.outbox = OutboxWorker(self.store, {}, self.metrics, member_id=self.membership.member_id,
                                   member_timeout_s=self.config.cluster.member_timeout,
                                   is_primary=is_primary)
        self.silences = Silences(self.store)
        # Signed acknowledge/resolve links in every notification (vigil.oncall.links).
        lifecycle_store = LifecycleStore(self.store.engine)
        action_links = ActionLinkMaker(lifecycle_store, self.external_url,
                                       self.config.oncall.action_link_ttl)
        self.dispatcher = Dispatcher(self.config.alerting, self.store, external_url=self.external_url,
                                     silencer=self.silences, on_enqueue=self.outbox.wake,
                                     base_dir=resolve_path(self.config, "."), is_primary=is_primary,
                                     action_links=action_links.links)
        self.alerting = Alerting(self.dispatcher, self.silences,
                                 resolve_timeout_s=self.config.alerting.resolve_timeout)
        # Alert episodes (vigil.oncall): the primary opens and resolves them from the groups.
        self.lifecycle = Lifecycle(lifecycle_store, self.config.oncall,
                                   lambda: firing_groups(self.alerting), metrics=self.metrics,
                                   is_primary=is_primary, links=action_links)
        # On-call schedules: the config's layers (re-read after a reload) and the overrides in
        # the state database, read at every call so every replica answers the same.
        self.schedules = ScheduleService(
            ScheduleStore(self.store.engine), lambda: schedules_by_name(self.config.schedules),
            active_users=lambda: {u.name for u in self.access.users() if not u.disabled} or None)
        # Incidents (vigil.incidents): declared by people, from alert groups and by escalation
        # steps (paging the severity's response through the outbox); the primary fills their
        # timelines from the dispatcher's groups and the episodes.
        self.incidents = IncidentService(
            IncidentStore(self.store.engine), lambda: self.config, groups=lambda: firing_groups(self.alerting),
            directory=LiveDirectory(self.store.access, self.schedules, lambda: self.config),
            episodes=lifecycle_store, external_url=self.external_url, metrics=self.metrics,
            on_enqueue=self.outbox.wake)
        self.incident_timeline = Timeline(self.incidents, lambda: dispatcher_groups(self.alerting),
                                          metrics=self.metrics, is_primary=is_primary)
        # Escalation policies (vigil.oncall.escalation): the primary pages through the outbox.
        self.escalation = Escalation(
            lifecycle_store, EscalationStore(self.store.engine), lambda: self.config,
            LiveDirectory(self.store.access, self.schedules, lambda: self.config),
            lambda: firing_groups(self.alerting), self.dispatcher.integrations,
            member_id=self.membership.member_id, links=action_links, external_url=self.external_url,
            metrics=self.metrics, is_primary=is_primary, on_enqueue=self.outbox.wake,
            incidents=self.incidents)
        # Objectives (vigil.objectives): figures from the shared records and PromQL; every
        # replica exports them on /metrics (vigil_objective_*), refreshed by a loop.
        self.objectives = ObjectivesService(lambda: self.config.objectives, self.store.engine,
                                            IncidentStore(self.store.engine), self.engine)
        self.objectives_exporter = ObjectivesExporter(self.objectives, now=self.objectives.now)
        self.metrics.registry.register(self.objectives_exporter)
        # SLOs (vigil.slo): statuses of the config's Sloth files through the engine (web, reports).
        self.slos = SLOStatusSource(self.engine, lambda: self.config)
        # Reports (vigil.reports): run when asked (API, page, CLI) by any replica and by their
        # schedules on the primary; archived in the state database, mailed through the outbox.
        # The context reads the shift checklists, built below, when a report runs.
        self.reports = wire_reports(
            self.store.engine, self.store, lambda: self.config, lambda: REPORTS,
            lambda progress, tz: ReportContext(
                engine=self.engine, config=self.config, timezone=tz, lifecycle=lifecycle_store,
                incidents=IncidentStore(self.store.engine), shifts=self.shifts, progress=progress,
                objectives=self.objectives, slos=self.slos,
                forecast=forecast_settings(self.config.reports.forecast)),
            member_id=self.membership.member_id, member_timeout_s=self.config.cluster.member_timeout,
            is_primary=is_primary, external_url=self.external_url, on_enqueue=self.outbox.wake)
        self.outbox.set_integrations(self._integrations())
        # Alerts whose projected end passed while Vigil was down are held until the rules
        # have had time to re-send or resolve them.
        g = self.config.global_
        self.dispatcher.restore(grace_s=4 * max(g.evaluation_interval, self.config.alerting.resend_delay))

        self.rules = RulesManager(
            query=self._rule_query, notify=self.dispatcher.put, storage=self.db,
            state_store=self.store, metrics=self.metrics,
            external_labels=self.config.global_.external_labels, external_url=self.external_url,
            default_interval_s=self.config.global_.evaluation_interval,
            resend_delay_s=self.config.alerting.resend_delay,
            # Alerting rules run on the primary only. Recording rules run on every replica
            # into its own TSDB (as a Prometheus HA pair), but with one shared metrics store
            # the primary alone records, so the store gets one copy.
            is_primary=is_primary, replica_records=self.config.storage.remote is None,
            languages={LOGQL: self._log_rule_query},  # log rules (logs.rule_files)
        )
        self.rules.update(checked.rule_groups)

        # Ingest paths (vigil.remote, push endpoint); remote-write queues tail commits.
        self.pushgateway = PushGateway(os.path.join(data_dir, "pushgateway.json"))
        self.remote_writers = [QueueManager(c) for c in self.config.remote_write]
        if self.remote_store is not None:
            self.remote_writers.append(self.remote_store.writer)
        for writer in self.remote_writers:
            self.db.subscribe(writer.append)
            writer.start()
        # With one shared metrics store each scrape target is scraped by one replica (hashmod
        # of its address over the live members); with local TSDBs every replica scrapes all.
        self.collect = CollectManager(self.config, self.db, self.metrics,
                                      local_targets=self._local_targets(self.config),
                                      shard=self.membership.shard if self.config.storage.remote else None)
        # The public status page: the primary evaluates the component queries and records
        # status changes (vigil.incidents.status_recorder); every replica serves the page
        # from the state database.
        self.status_page = StatusPageService(StatusPageStore(self.store.engine),
                                             IncidentStore(self.store.engine), lambda: self.config)
        self.status_recorder = StatusRecorder(self.status_page, self._status_query, is_primary=is_primary)
        # Incident checklists and communications (vigil.incidents.response): overdue tasks,
        # pages, reminders and the notification at declaration on the primary, via the outbox.
        self.incident_response = incident_response(
            self.store.engine, lambda: self.config,
            LiveDirectory(self.store.access, self.schedules, lambda: self.config),
            external_url=self.external_url, is_primary=is_primary, on_enqueue=self.outbox.wake)
        # Incident candidates from related firing groups, proposed on the primary
        # (vigil.incidents.correlation); post-mortems, figures and action items (vigil.incidents.review).
        self.correlator = Correlator(
            CandidateStore(self.store.engine), lambda: self.config.correlation, lambda: firing_groups(self.alerting),
            service=self.incidents, default_priority=lambda: self.config.oncall.default_priority,
            is_primary=is_primary)
        self.incident_review = IncidentReview(
            IncidentStore(self.store.engine), ActionItemStore(self.store.engine), correlator=self.correlator,
            external_url=self.external_url, checklist=lambda inc: self.incident_response.checklists.of(inc).tasks)
        # Shift checklists (vigil.shifts): every replica serves them from the state database;
        # the primary opens each shift and runs its checks once (claimed in the database).
        self.shifts = ShiftService(ShiftStore(self.store.engine), config=lambda: self.config.shifts,
                                   checker=ShiftChecker(self.engine, lifecycle_store))
        self.shift_loop = ShiftLoop(self.shifts, self.store, member_id=self.membership.member_id,
                                    member_timeout_s=lambda: self.config.cluster.member_timeout,
                                    is_primary=is_primary)
        # Logs (vigil.logs.runtime): the log store (<data-dir>/logs unless logs.path), its
        # syslog listeners and file tailers; the web app serves Loki's API and log ingest.
        # Read at start: a reload does not move the store or rebind the listeners.
        # Secrets are masked before anything is stored (logs.secrets), fingerprinted with a
        # key every replica shares and no one outside knows.
        logs_cfg = self.config.logs
        self.logs = LogsRuntime(
            logs_cfg, store_path=resolve_path(self.config, logs_cfg.path) if logs_cfg.path
            else os.path.join(data_dir, "logs"), state_dir=os.path.join(data_dir, "logs-tailer"),
            resolve=lambda path: resolve_path(self.config, path),
            secrets=SecretDetector(
                extra=_log_secret_patterns(self.config, config_file),
                fingerprint_key=lifecycle_store.shared_secret("logs-secret-fingerprint").encode())
            if logs_cfg.secrets.enabled else None,
            on_secret=secrets_counter(self.metrics.registry)) if logs_cfg.enabled else None
        self.web = create_app(WebDeps(
            engine=self.engine, targets=self.collect, rules=self.rules,
            storage=self.remote_store.series if self.remote_store is not None else self.db,
            metrics=self.metrics, parse_matchers=_selector_matchers, version=__version__,
            config_yaml=self._config_yaml, reload=self.reload, alerting=self.alerting,
            remote_write=Receiver(self.db), pushgateway=self.pushgateway,
            tsdb=self.db, format_query=lambda q: str(self.engine.parse(q)), logs=self.logs,
            max_request_body_bytes=self.config.web.max_request_body_size,
            access=access_policy, cluster=self.membership, oncall=self.lifecycle,
            schedules=self.schedules, escalation=self.escalation,
            status_page=self.status_page, incident_response=self.incident_response,
            incidents=self.incidents, incident_review=self.incident_review,
            # The dashboards' folders follow the config (a reload may change them).
            dashboards=DashboardStore(lambda: settings_from_config(self.config)),
            shifts=self.shifts, reports=self.reports.service, objectives=self.objectives,
            slos=self.slos,
            query_gate=QueryGate(self.config.query.max_concurrency,
                                 timeout_s=self.config.query.timeout,
                                 registry=self.metrics.registry),
        ))
        self._stop = asyncio.Event()

    def _integrations(self) -> dict:
        """What the outbox delivers through: the receivers' integrations and the pages'."""
        return {**self.dispatcher.integrations(), **page_integrations(self.config), **self.reports.integrations()}

    def _membership(self) -> Membership:
        cluster = self.config.cluster
        return Membership(
            ClusterStore(self.store.engine), version=__version__,
            name=cluster.name or f"{socket.gethostname()}:{self.port}",
            url=cluster.advertise_url or self.external_url,
            heartbeat_interval_s=cluster.heartbeat_interval, member_timeout_s=cluster.member_timeout)

    def _access_policy(self) -> AccessPolicy:
        """Refuse to serve a network address to everyone (vigil.access.exposure); with
        nobody configured on loopback (or when allowed), requests act as the local admin."""
        allow = self.config.access.allow_unauthenticated
        # Basic auth users of Prometheus's web config file guard every request (its gate).
        webconfig_auth = self.web_config is not None and self.web_config.current().requires_basic_auth
        check_exposure(self.host, self.listen, users_configured=self.access.authentication_configured(),
                       other_auth=webconfig_auth or self.oidc is not None, allow_unauthenticated=allow)
        return AccessPolicy(self.access, open_when_unconfigured=is_loopback(self.host) or allow,
                            oidc=self.oidc,
                            on_denied=lambda code, reason: self.metrics.access_denied.labels(str(code), reason).inc())

    def _local_targets(self, config: Config) -> list[LocalTarget]:
        targets = [LocalTarget(job="vigil", instance=self.listen, collect=self.metrics.exposition),
                   self.pushgateway.target(self.listen)]
        host = config.collectors.host
        if host.enabled:
            instance = host.instance or socket.gethostname()
            targets.append(LocalTarget(job=host.job_name, instance=instance,
                                       collect=HostCollector(host).collect,
                                       interval_s=host.scrape_interval))
        return targets + build_local_targets(config.collectors) + (
            self.demo.local_targets() if self.demo else [])

    def _with_demo(self, checked: Checked) -> Checked:
        if self.demo is None:
            return checked
        config = checked.config.model_copy(
            update={"status_page": self.demo.status_page(checked.config.status_page)})
        return replace(checked, config=config, rule_groups=[*checked.rule_groups, *self.demo.rule_groups()])

    def _rule_query(self, expr, ts_ms: int) -> Vector:
        value = self.engine.instant_query(expr, ts_ms).value
        if isinstance(value, Vector):
            return value
        if isinstance(value, Scalar):
            return Vector([Sample(Labels(), value.ts_ms, value.value)])
        raise QueryError(f"rule result is a {value.type}, not an instant vector")

    def _log_rule_query(self, expr, ts_ms: int) -> Vector:
        """Log rules run on the log store's LogQL engine (opened after the rule manager)."""
        if self.logs is None:
            raise QueryError("the log store is not running (logs.enabled is false)")
        return logql_query_func(self.logs.engine)(expr, ts_ms)

    def _status_query(self, expr: str) -> list[float]:
        """The values of a status page component's query now (its series' healthy 1 or down 0)."""
        return [s.value for s in self._rule_query(expr, int(time.time() * 1000)).samples]

    def _config_yaml(self) -> str:
        return redacted_yaml(self.config)

    async def reload(self) -> None:
        """Re-read the configuration and rules; on any error keep running the old ones."""
        checked = self._with_demo(await asyncio.to_thread(check, self.config_file,
                                                          self.command_line_features))
        if checked.features != self.features:
            log.warning("enable_features changed; the PromQL features change at the next start")
        if checked.config.storage.remote != self.config.storage.remote:
            log.warning("storage.remote changed; it takes effect at the next start")
        self.config = checked.config
        self.access.settings = checked.config.access
        await asyncio.to_thread(apply_people, self.access, checked.config.users, checked.config.teams,
                                base_dir=resolve_path(checked.config, "."))
        self.rules.update(checked.rule_groups)
        self.dispatcher.apply_config(checked.config.alerting)
        self.outbox.set_integrations(self._integrations())
        self.lifecycle.config_changed(checked.config.oncall)
        await self.collect.apply_config(checked.config)
        await asyncio.to_thread(self.access.audit, actor="system", action="config.reload",
                                target=self.config_file or "<default>")
        log.info("configuration reloaded")

    async def _reload_logged(self) -> None:
        try:
            await self.reload()
        except Exception as exc:  # a bad reload keeps the running configuration
            log.error("reload failed, keeping the running configuration: %s", exc)

    async def _cluster_sync(self) -> None:
        """Merge what other replicas wrote: alerts posted to them (so this replica's groups
        are complete when it becomes primary) and silences (so they mute here at once)."""
        every_s = min(1.0, self.config.cluster.heartbeat_interval)
        failing = False
        while True:
            await asyncio.sleep(every_s)
            try:
                await asyncio.to_thread(self.dispatcher.sync)
                await asyncio.to_thread(self.silences.sync)
            except Exception as exc:  # the database restarting: keep trying, log once
                if not failing:
                    log.warning("reading other replicas' alerts and silences failed: %s", exc)
                failing = True
            else:
                failing = False

    async def _housekeeping(self, every_s: float = 30.0) -> None:
        """Pick up silences other replicas wrote, and forget long-expired ones."""
        while True:
            await asyncio.sleep(every_s)
            try:
                await asyncio.to_thread(self.silences.gc)
                await asyncio.to_thread(self.silences.reload)
                await asyncio.to_thread(self.access.housekeeping)  # audit retention, old sessions
            except Exception:
                log.exception("housekeeping failed")

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, self._stop.set)
            loop.add_signal_handler(signal.SIGINT, self._stop.set)
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._reload_logged()))
        web, ssl_factory = self.web, None
        if self.web_config is not None:
            live = self.web_config
            web = WebConfigGate(self.web, live.current)
            if live.current().tls is not None:
                def ssl_factory(_config, _default):
                    return live.server_ssl_context()
        server = _Server(uvicorn.Config(web, host=self.host, port=self.port, log_level="warning",
                                        access_log=False, lifespan="off",
                                        ssl_context_factory=ssl_factory))
        await self.membership.join()  # a lone replica is primary before its first evaluation
        await self.collect.start()
        if self.logs is not None:
            await self.logs.start()  # a syslog port that cannot be bound fails the start
        tasks = [asyncio.create_task(server.serve(), name="web")] + [
            asyncio.create_task(_supervised(n, run), name=n) for n, run in (
                ("rules", self.rules.run), ("dispatcher", self.dispatcher.run),
                ("outbox", self.outbox.run), ("housekeeping", self._housekeeping),
                ("cluster", self.membership.run), ("cluster-sync", self._cluster_sync),
                ("oncall", self.lifecycle.run), ("escalation", self.escalation.run),
                ("status-page", self.status_recorder.run),
                ("incident-response", self.incident_response.loop.run),
                ("incidents", self.incident_timeline.run),
                ("correlation", self.correlator.run),
                ("shifts", self.shift_loop.run),
                ("reports", self.reports.scheduler.run),
                ("objectives", self.objectives_exporter.run),
            )]
        if self.logs is not None:
            tasks.append(asyncio.create_task(_supervised("logs", self.logs.run), name="logs"))
        log.info("Vigil %s listening on %s://%s, data in %s", __version__, self.scheme, self.listen,
                 self.data_dir)
        stop = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stop and task.exception():
                log.error("%s stopped: %r", task.get_name(), task.exception())
        server.should_exit = True
        # Another replica takes the primary role over now, not when the lease expires; this
        # one keeps its heartbeat until its deliveries are done, so they are not taken over.
        await self.membership.resign()
        self.outbox.stop()
        await self.collect.stop()
        for task in tasks:
            if task.get_name() not in ("web", "outbox", "cluster"):
                task.cancel()
        outbox = next(t for t in tasks if t.get_name() == "outbox")
        try:
            await asyncio.wait_for(asyncio.shield(outbox), timeout=15)
        except TimeoutError:
            log.warning("deliveries still under way at shutdown; they will be retried on start")
            outbox.cancel()
        next(t for t in tasks if t.get_name() == "cluster").cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.logs is not None:
            await self.logs.stop()  # what the syslog listeners queued is stored first
        await self.membership.leave()
        self.close()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        if self.demo is not None:
            self.demo.close()
        for writer in self.remote_writers:
            writer.stop()
        if self.remote_store is not None:
            self.remote_store.close()
        try:
            self.db.close()
        except StorageError as e:  # e.g. a full disk during the last compaction
            log.error("TSDB: %s; what was not cut into blocks is in the WAL and is replayed "
                      "at the next start", e)
        if self.logs is not None:
            try:
                self.logs.close()
            except StorageError as e:
                log.error("log store: %s; the head is in its WAL and is replayed at the next "
                          "start", e)
        self.store.close()


async def _supervised(name: str, run: Callable[[], Awaitable[None]], restart_after_s: float = 1.0) -> None:
    """Run a stage's loop until it returns; if it fails (the state database going away in
    the middle of a call, say), log it and start it again after a pause: an outage stalls
    the replica's work instead of stopping the replica."""
    while True:
        try:
            await run()
            return
        except Exception:
            log.exception("%s failed; restarting it in %.0f s", name, restart_after_s)
            await asyncio.sleep(restart_after_s)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the app owns SIGTERM/SIGINT/SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _selector_matchers(text: str):
    from vigil.promql.parser.ast import VectorSelector

    expr = parse_expr(text)
    if not isinstance(expr, VectorSelector):
        raise ParseError(f"{text!r} is not a series selector")
    return list(expr.matchers)
