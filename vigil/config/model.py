"""The one configuration model. YAML in, validated pydantic objects out.

Every section forbids unknown keys, so a typo is an error rather than a silently ignored
setting. Durations are seconds (``float``), written in YAML as Prometheus duration strings.
Section shapes follow Prometheus (``global``, ``scrape_configs``, ``rule_files``) and
Alertmanager (``alerting.route``, ``alerting.receivers``) so existing files can be pasted in.
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.config.access import AccessConfig, TeamConfig, UserConfig, check_people
from vigil.config.checks import check_http_url, check_unique_names
from vigil.config.cluster import ClusterConfig
from vigil.config.correlation import CorrelationConfig
from vigil.config.dashboards import DashboardsConfig
from vigil.config.durations import Duration, PositiveDuration
from vigil.config.escalation import EscalationPolicies, check_policy_routes
from vigil.config.incidents import IncidentsConfig, IncidentsSection
from vigil.config.located import LocatedValueError
from vigil.config.logs import LogsConfig
from vigil.config.objectives import ObjectivesConfig
from vigil.config.oncall import OncallConfig
from vigil.config.reports import ReportsConfig
from vigil.config.schedules import Schedules
from vigil.config.shifts import ShiftsConfig
from vigil.config.sizes import ByteSize
from vigil.config.slo import SLOConfig
from vigil.config.status_page import StatusPageConfig
from vigil.model.features import UnknownFeatureError, parse_features
from vigil.model.labels import is_label_name, is_metric_name
from vigil.model.matchers import parse_matchers
from vigil.model.regex import compile_go
from vigil.model.relabel import check_rule as check_relabel_rule
from vigil.model.timeinterval import TimeIntervalError, compile_interval

DEFAULT_LISTEN = "127.0.0.1:9494"
DEFAULT_MAX_REQUEST_BODY_BYTES = 32 << 20


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_label_names(labels: dict[str, str]) -> dict[str, str]:
    for name in labels:
        if not is_label_name(name):
            raise ValueError(f"invalid label name {name!r}")
    return labels


def _check_matcher_strings(matchers: list[str]) -> list[str]:
    """Alertmanager matcher strings (``severity="critical"``) must parse."""
    for text in matchers:
        parse_matchers(text)
    return matchers


def _check_regex_map(match_re: dict[str, str]) -> dict[str, str]:
    """Label name -> regular expression (RE2 syntax) must compile."""
    for name, regex in match_re.items():
        try:
            compile_go(regex)
        except re.error as exc:
            raise ValueError(f"invalid regular expression for {name!r}: {exc}") from None
    return match_re


class GlobalConfig(Section):
    scrape_interval: PositiveDuration = 15.0
    scrape_timeout: PositiveDuration = 10.0
    evaluation_interval: PositiveDuration = 15.0
    external_labels: dict[str, str] = Field(default_factory=dict)

    _labels = field_validator("external_labels")(_check_label_names)


class StaticConfig(Section):
    targets: list[str]
    labels: dict[str, str] = Field(default_factory=dict)

    _labels = field_validator("labels")(_check_label_names)

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets: list[str]) -> list[str]:
        for t in targets:
            if "/" in t or not t.strip():
                raise ValueError(f"target {t!r} must be host:port, without scheme or path")
        return targets


class RelabelConfig(Section):
    """One relabelling step (``relabel_configs``, ``metric_relabel_configs``,
    ``write_relabel_configs``), Prometheus's fields and defaults; the engine is
    :mod:`vigil.model.relabel`, which also supplies the validation messages."""

    source_labels: list[str] = Field(default_factory=list)
    separator: str = ";"
    regex: str = "(.*)"
    modulus: int = Field(0, ge=0)
    target_label: str = ""
    replacement: str = "$1"
    action: str = "replace"

    @field_validator("action")
    @classmethod
    def _action(cls, action: str) -> str:
        return action.lower()  # Prometheus accepts any case

    @model_validator(mode="after")
    def _valid(self) -> RelabelConfig:
        problem = check_relabel_rule(self)
        if problem:
            raise ValueError(problem)
        return self


WriteRelabelConfig = RelabelConfig  # the name remote write used first


class BasicAuth(Section):
    """HTTP basic authentication for a scrape; the password is never dumped or logged."""

    username: str
    password: str | None = Field(None, repr=False)
    password_file: str | None = None

    @model_validator(mode="after")
    def _one_password(self) -> BasicAuth:
        if self.password is not None and self.password_file is not None:
            raise ValueError("at most one of basic_auth password & password_file must be configured")
        return self


class Authorization(Section):
    """``Authorization: <type> <credentials>`` header for a scrape (Prometheus's
    ``authorization``); credentials are never dumped or logged."""

    type: str = "Bearer"
    credentials: str | None = Field(None, repr=False)
    credentials_file: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> Authorization:
        if self.type.strip().lower() == "basic":
            raise ValueError('authorization type cannot be set to "basic", use "basic_auth" instead')
        if self.credentials is not None and self.credentials_file is not None:
            raise ValueError("at most one of authorization credentials & credentials_file must be configured")
        return self


class TLSConfig(Section):
    """TLS for https scrapes. Files are PEM; relative paths resolve against the config file."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _pair(self) -> TLSConfig:
        if bool(self.cert_file) != bool(self.key_file):
            missing = "key_file" if self.cert_file else "cert_file"
            raise ValueError(f"client cert file and client key file must both be set ({missing} missing)")
        return self


class FileSDConfig(Section):
    """Targets read from JSON/YAML files (globs allowed in the last path element, as in
    Prometheus). ``refresh_interval`` in seconds; files are also watched for changes."""

    files: list[str]
    refresh_interval: PositiveDuration = 300.0

    @field_validator("files")
    @classmethod
    def _patterns(cls, files: list[str]) -> list[str]:
        for f in files:
            base = os.path.basename(f)
            if not re.match(r"^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$", base):
                raise ValueError(f"path name {f!r} is not valid for file discovery")
        return files


class ScrapeConfig(Section):
    job_name: str
    scrape_interval: PositiveDuration | None = None
    scrape_timeout: PositiveDuration | None = None
    metrics_path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"
    params: dict[str, list[str]] = Field(default_factory=dict)
    honor_labels: bool = False
    honor_timestamps: bool = True
    sample_limit: int = Field(0, ge=0)
    label_limit: int = Field(0, ge=0)
    label_name_length_limit: int = Field(0, ge=0)
    label_value_length_limit: int = Field(0, ge=0)
    target_limit: int = Field(0, ge=0)
    static_configs: list[StaticConfig] = Field(default_factory=list)
    file_sd_configs: list[FileSDConfig] = Field(default_factory=list)
    relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    metric_relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: str | None = Field(None, repr=False)
    bearer_token_file: str | None = None
    tls_config: TLSConfig = TLSConfig()

    @model_validator(mode="after")
    def _one_auth(self) -> ScrapeConfig:
        # Prometheus's messages for conflicting authentication settings.
        if self.bearer_token is not None and self.bearer_token_file is not None:
            raise ValueError("at most one of bearer_token & bearer_token_file must be configured")
        bearer = self.bearer_token is not None or self.bearer_token_file is not None
        if self.basic_auth is not None and bearer:
            raise ValueError("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured")
        if self.authorization is not None and (bearer or self.basic_auth is not None):
            raise ValueError("at most one of basic_auth, oauth2 & authorization must be configured")
        return self

    @field_validator("job_name")
    @classmethod
    def _job(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("job_name must not be empty")
        return name


class HostCollectorConfig(Section):
    """Metrics of the machine Vigil runs on, with node_exporter's names (C1)."""

    enabled: bool = True
    scrape_interval: PositiveDuration | None = None
    job_name: str = "node"
    instance: str | None = None  # defaults to the host name
    proc_path: str = "/proc"
    sys_path: str = "/sys"


# -- built-in collectors beyond the host (C3-C6, C8, C9); see vigil.collect.exporters --------
#
# Secrets are never literals in the config: ``password_env`` names an environment variable,
# ``password_file`` a file whose content (stripped of a trailing newline) is the password.
# So the dumped config, reprs and logs cannot show them.

_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"name {name!r} must be letters, digits and _ . : - only")
    return name


def _check_host_port(address: str) -> str:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address {address!r} must be host:port")
    return address


def _check_dsn(dsn: str) -> str:
    if re.match(r"^[a-zA-Z][\w+.-]*://[^/@]*:[^/@]*@", dsn) or re.search(r"\bpassword\s*=", dsn):
        raise ValueError("dsn must not contain a password; use password_env or password_file")
    return dsn


class _Secret(Section):
    password_env: str | None = None
    password_file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> _Secret:
        if self.password_env is not None and self.password_file is not None:
            raise ValueError("set at most one of password_env and password_file")
        return self


class ProbeConfig(Section):
    """One blackbox-style probe (C3). ``target`` is a URL (http), ``host:port`` (tcp) or the
    DNS server's ``host:port`` (dns, asking for ``query_name``). ``timeout`` in seconds."""

    name: str
    module: Literal["http", "tcp", "dns"]
    target: str
    interval: Duration | None = None
    timeout: Duration = 5.0
    ip_protocol: Literal["auto", "ip4", "ip6"] = "auto"
    # http
    method: str = "GET"
    valid_status_codes: list[int] = Field(default_factory=list)  # empty: any 2xx
    body_regex: str | None = None  # the probe fails unless the body matches
    follow_redirects: bool = True
    max_redirects: int = Field(10, ge=0)
    tls_insecure_skip_verify: bool = False
    ca_file: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    # tcp
    tls: bool = False
    # dns
    query_name: str | None = None
    query_type: str = "A"
    valid_rcodes: list[str] = Field(default_factory=lambda: ["NOERROR"])

    _name = field_validator("name")(_check_name)

    @field_validator("body_regex")
    @classmethod
    def _regex(cls, regex: str | None) -> str | None:
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise ValueError(f"invalid body_regex: {exc}") from None
        return regex

    @model_validator(mode="after")
    def _module_fields(self) -> ProbeConfig:
        if self.module == "http":
            if not re.match(r"^https?://[^/\s]+", self.target):
                raise LocatedValueError(
                    f"target {self.target!r} must be an http:// or https:// URL", ("target",))
        else:
            try:
                _check_host_port(self.target)
            except ValueError as exc:
                raise LocatedValueError(str(exc), ("target",)) from None
        if self.module == "dns" and not self.query_name:
            raise LocatedValueError("the dns module needs query_name", ("query_name",))
        return self


class PostgresCollectorConfig(_Secret):
    """A PostgreSQL server (C4). ``dsn`` is a libpq URL or key=value string without a
    password. Thresholds and timeouts are seconds."""

    name: str
    dsn: str
    interval: Duration | None = None
    timeout: Duration = 5.0
    idle_in_transaction_threshold: Duration = 300.0
    largest_tables: int = Field(10, ge=0)

    _name = field_validator("name")(_check_name)

    _dsn = field_validator("dsn")(_check_dsn)


class RedisCollectorConfig(_Secret):
    """A Redis server (C5) at ``address`` (host:port)."""

    name: str
    address: str
    username: str | None = None
    interval: Duration | None = None
    timeout: Duration = 5.0

    _name = field_validator("name")(_check_name)
    _address = field_validator("address")(_check_host_port)


class BackupCollectorConfig(Section):
    """Freshness of the newest file matching ``pattern`` (a glob, ``**`` recurses) under
    ``path`` (C9)."""

    name: str
    path: str
    pattern: str = "*"
    interval: Duration | None = None

    _name = field_validator("name")(_check_name)


class MQTTCollectorConfig(_Secret):
    """IoT telemetry from an MQTT broker (C6). Each message on ``topics`` is one device's
    readings: a JSON object, or a bare number named by the topic's last level. The device
    id is the topic level at ``device_level`` (0-based). A device silent for
    ``offline_after`` seconds is reported offline. ``metric_prefix`` starts every reading's
    metric name."""

    name: str
    address: str
    topics: list[str] = Field(default_factory=lambda: ["devices/+/telemetry"], min_length=1)
    device_level: int = Field(1, ge=0)
    username: str | None = None
    client_id: str | None = None
    offline_after: Duration = 300.0
    metric_prefix: str = "mqtt_"
    interval: Duration | None = None
    timeout: Duration = 5.0

    _name = field_validator("name")(_check_name)
    _address = field_validator("address")(_check_host_port)

    @field_validator("metric_prefix")
    @classmethod
    def _prefix(cls, prefix: str) -> str:
        if not is_metric_name(prefix):
            raise ValueError(f"metric_prefix {prefix!r} must start a valid metric name")
        return prefix


class SQLQueryConfig(Section):
    """One query: each row is a sample of gauge ``metric``; columns in ``labels`` become
    labels and column ``value`` is the value."""

    metric: str
    query: str
    value: str = "value"
    labels: list[str] = Field(default_factory=list)
    help: str = ""

    @field_validator("metric")
    @classmethod
    def _metric(cls, name: str) -> str:
        if not is_metric_name(name):
            raise ValueError(f"invalid metric name {name!r}")
        return name

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        for name in labels:
            if not is_label_name(name) or name.startswith("__"):
                raise ValueError(f"invalid label name {name!r}")
        return labels


class SQLCollectorConfig(_Secret):
    """Business metrics from the user's SQL queries (C8): ``dsn`` is a PostgreSQL connection
    string or any SQLAlchemy URL."""

    name: str
    dsn: str
    queries: list[SQLQueryConfig]
    interval: Duration | None = None
    timeout: PositiveDuration = 10.0

    _name = field_validator("name")(_check_name)
    _dsn = field_validator("dsn")(_check_dsn)


class KubernetesCollectorConfig(Section):
    """Cluster state from the Kubernetes API server, named as kube-state-metrics names it
    (C7). ``kubeconfig`` is a kubeconfig file (``context`` picks one, default its current
    context); null means in-cluster (the pod's service account). ``namespaces`` limits pods
    and deployments to those namespaces; ``all`` lists them cluster-wide."""

    name: str
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] | Literal["all"] = "all"
    interval: Duration | None = None
    timeout: PositiveDuration = 10.0

    _name = field_validator("name")(_check_name)


class CollectorsConfig(Section):
    host: HostCollectorConfig = HostCollectorConfig()
    probes: list[ProbeConfig] = Field(default_factory=list)
    postgres: list[PostgresCollectorConfig] = Field(default_factory=list)
    redis: list[RedisCollectorConfig] = Field(default_factory=list)
    backups: list[BackupCollectorConfig] = Field(default_factory=list)
    mqtt: list[MQTTCollectorConfig] = Field(default_factory=list)
    sql: list[SQLCollectorConfig] = Field(default_factory=list)
    kubernetes: list[KubernetesCollectorConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> CollectorsConfig:
        for kind in ("probes", "postgres", "redis", "backups", "mqtt", "sql", "kubernetes"):
            check_unique_names([c.name for c in getattr(self, kind)], f"{kind} names must be unique",
                               (kind,))
        return self


class WebConfig(Section):
    listen_address: str = DEFAULT_LISTEN
    external_url: str | None = None
    # Every request body the web app reads (remote write, pushes, API v2 alerts and silences,
    # forms ...); a larger one is answered 413.
    max_request_body_size: ByteSize = Field(DEFAULT_MAX_REQUEST_BODY_BYTES, gt=0)
    # Prometheus's web configuration file (TLS, basic auth users), relative to this file;
    # `vigil up --web.config.file` wins. See vigil.access.webconfig.
    config_file: str | None = None

    @field_validator("listen_address")
    @classmethod
    def _listen(cls, addr: str) -> str:
        host, sep, port = addr.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"listen_address {addr!r} must be host:port")
        return addr


class TSDBConfig(Section):
    retention_time: Duration = 15 * 86400.0
    retention_size: ByteSize = 0  # blocks + WAL; 0 = no size limit
    out_of_order_time_window: Duration = 0.0  # 0 = older samples refused, as Prometheus
    wal_fsync: Literal["always", "batch", "off"] = "batch"
    wal_fsync_interval: PositiveDuration = 1.0


class QueryConfig(Section):
    """PromQL query limits, as Prometheus's ``--query.*`` flags: queries the HTTP API runs at
    once (more wait for a slot), samples one query may load, its time budget, and how far
    back an instant selector looks for a sample. Read at start."""

    max_concurrency: int = Field(20, gt=0)
    max_samples: int = Field(50_000_000, gt=0)
    timeout: PositiveDuration = 120.0
    lookback_delta: PositiveDuration = 300.0


class StateConfig(Section):
    """Where alerts, silences, acknowledgements, incidents and the outbox live.

    ``url`` is an SQLAlchemy URL; unset means SQLite at ``<data_dir>/state.db``."""

    url: str | None = None


class StorageConfig(Section):
    tsdb: TSDBConfig = TSDBConfig()
    state: StateConfig = StateConfig()
    # A Prometheus-compatible metrics store (VictoriaMetrics, Prometheus, Mimir, Thanos)
    # that holds the metrics instead of the local TSDB; None: the local TSDB holds them.
    remote: RemoteStorageConfig | None = None


class RateLimit(Section):
    """A token bucket per integration: ``limit`` deliveries per ``per`` seconds on average,
    at most ``burst`` (default ``limit``) at once. Notifications over the limit wait in the
    outbox (nothing is dropped)."""

    limit: int = Field(ge=1)
    per: PositiveDuration = 60.0
    burst: int | None = Field(None, ge=1)


class WebhookConfig(Section):
    url: str
    send_resolved: bool = True
    max_alerts: int = Field(0, ge=0)
    timeout: PositiveDuration = 10.0
    rate_limit: RateLimit | None = None  # at most rate_limit.limit deliveries per rate_limit.per

    _url = field_validator("url")(check_http_url)


# -- receivers' integrations beyond the webhook (A3); see vigil.alerting.notify -------------
#
# Field names follow Alertmanager's slack_configs, pagerduty_configs and email_configs so
# its receivers can be pasted in. Text fields marked "template" are Go templates over
# Alertmanager's notification data (.Status, .Alerts, .GroupLabels, .CommonLabels, ...);
# unset means Vigil's default text. Secrets may be given as a file (read at every send, so
# rotation needs no reload); relative paths resolve against the working directory.


class SlackConfig(Section):
    """A Slack incoming webhook. ``title``/``text``/``username``/``channel``/``icon_emoji``
    and ``color`` are templates; ``color`` is accepted for Alertmanager compatibility but
    messages use Block Kit without attachments, so the status shows as an emoji."""

    api_url: str | None = Field(None, repr=False)  # the URL is the secret
    api_url_file: str | None = None
    channel: str | None = None
    username: str | None = None
    icon_emoji: str | None = None
    title: str | None = None
    text: str | None = None
    color: str | None = None
    send_resolved: bool = False
    timeout: PositiveDuration = 10.0
    rate_limit: RateLimit | None = None  # at most rate_limit.limit deliveries per rate_limit.per

    @field_validator("api_url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        return None if url is None else check_http_url(url)

    @model_validator(mode="after")
    def _one_url(self) -> SlackConfig:
        if (self.api_url is None) == (self.api_url_file is None):
            raise ValueError("set exactly one of api_url and api_url_file")
        return self


class PagerdutyConfig(Section):
    """PagerDuty Events API v2. ``description`` (the event summary), ``severity``,
    ``class``, ``component``, ``group``, ``source``, ``client``, ``client_url`` and the
    values of ``details`` are templates. Unset ``severity`` maps the alerts' ``severity``
    label onto critical/error/warning/info."""

    routing_key: str | None = Field(None, repr=False)
    routing_key_file: str | None = None
    url: str = "https://events.pagerduty.com/v2/enqueue"
    send_resolved: bool = True
    description: str | None = None
    severity: str | None = None
    class_: str | None = Field(None, alias="class")
    component: str | None = None
    group: str | None = None
    source: str | None = None
    client: str = "Vigil"
    client_url: str = "{{ .ExternalURL }}"
    details: dict[str, str] = Field(default_factory=dict)
    timeout: PositiveDuration = 10.0
    rate_limit: RateLimit | None = None  # at most rate_limit.limit deliveries per rate_limit.per

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    _url = field_validator("url")(check_http_url)

    @model_validator(mode="after")
    def _one_key(self) -> PagerdutyConfig:
        if (self.routing_key is None) == (self.routing_key_file is None):
            raise ValueError("set exactly one of routing_key and routing_key_file")
        return self


class EmailConfig(Section):
    """E-mail over SMTP. ``to`` is a comma-separated address list. Port 465 means implicit
    TLS; otherwise ``require_tls`` demands STARTTLS (set false only for a trusted local
    relay). ``headers`` values (``Subject`` among them), ``html`` and ``text`` are
    templates. ``timeout`` is seconds for the whole SMTP conversation."""

    to: str
    from_: str = Field(alias="from")
    smarthost: str
    hello: str = "localhost"
    auth_username: str | None = None
    auth_password_file: str | None = None
    require_tls: bool = True
    headers: dict[str, str] = Field(default_factory=dict)
    html: str | None = None
    text: str | None = None
    send_resolved: bool = False
    timeout: PositiveDuration = 30.0
    rate_limit: RateLimit | None = None  # at most rate_limit.limit deliveries per rate_limit.per

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    _smarthost = field_validator("smarthost")(_check_host_port)

    @field_validator("to")
    @classmethod
    def _to(cls, to: str) -> str:
        if not [a for a in to.split(",") if a.strip()]:
            raise ValueError("to must name at least one address")
        return to


class Receiver(Section):
    name: str
    webhook_configs: list[WebhookConfig] = Field(default_factory=list)
    slack_configs: list[SlackConfig] = Field(default_factory=list)
    pagerduty_configs: list[PagerdutyConfig] = Field(default_factory=list)
    email_configs: list[EmailConfig] = Field(default_factory=list)


class Route(Section):
    receiver: str | None = None
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    matchers: list[str] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, str] = Field(default_factory=dict)
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = Field(default_factory=list)
    # Names of time_intervals; not inherited by child routes (as in Alertmanager).
    mute_time_intervals: list[str] = Field(default_factory=list)
    active_time_intervals: list[str] = Field(default_factory=list)
    # The escalation policy (vigil.config.escalation) of this route's episodes; inherited as receiver is.
    escalation_policy: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    _matchers = field_validator("matchers")(_check_matcher_strings)
    _match_re = field_validator("match_re")(_check_regex_map)


class InhibitRule(Section):
    """Mute alerts matching ``target_*`` while an alert matching ``source_*`` fires with the
    same values of the ``equal`` labels (Alertmanager's inhibit_rules)."""

    source_matchers: list[str] = Field(default_factory=list)
    target_matchers: list[str] = Field(default_factory=list)
    source_match: dict[str, str] = Field(default_factory=dict)
    source_match_re: dict[str, str] = Field(default_factory=dict)
    target_match: dict[str, str] = Field(default_factory=dict)
    target_match_re: dict[str, str] = Field(default_factory=dict)
    equal: list[str] = Field(default_factory=list)

    _matchers = field_validator("source_matchers", "target_matchers")(_check_matcher_strings)
    _regexes = field_validator("source_match_re", "target_match_re")(_check_regex_map)


class TimeIntervalSpec(Section):
    """One entry of a time interval (Alertmanager's format); parsed and checked by
    :mod:`vigil.model.timeinterval`. Values are strings such as ``monday:friday``,
    ``1:7``, ``-1``, ``january:march``, ``2024:2026``; ``location`` an IANA zone."""

    times: list[dict[str, str | int]] = Field(default_factory=list)  # int: unquoted 17:00 in YAML 1.1
    weekdays: list[str] = Field(default_factory=list)
    days_of_month: list[str | int] = Field(default_factory=list)
    months: list[str | int] = Field(default_factory=list)
    years: list[str | int] = Field(default_factory=list)
    location: str | None = None

    @model_validator(mode="after")
    def _parse(self) -> TimeIntervalSpec:


        try:
            compile_interval(self.model_dump(exclude_defaults=True))
        except TimeIntervalError as exc:
            raise LocatedValueError(str(exc), exc.path) from None
        return self


class NamedTimeInterval(Section):
    name: str
    time_intervals: list[TimeIntervalSpec] = Field(default_factory=list)


class AlertingConfig(Section):
    # Set only when the alerting section came from an Alertmanager file (vigil.config.amconfig).
    alertmanager_config: str | None = None
    time_intervals: list[NamedTimeInterval] = Field(default_factory=list)
    mute_time_intervals: list[NamedTimeInterval] = Field(default_factory=list)  # older name
    route: Route = Route(receiver="default")
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    # An alert posted without endsAt is considered resolved this long after its last update.
    resolve_timeout: PositiveDuration = 300.0
    receivers: list[Receiver] = Field(default_factory=lambda: [Receiver(name="default")])
    resend_delay: Duration = 60.0
    # Alertmanager ``templates:``: template files (absolute paths, globs expanded) whose
    # {{define}}d templates receivers' text fields may call; set by vigil.config.amconfig.
    templates: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _not_read_here(cls, data: object) -> object:
        # Reading the Alertmanager file is the loader's job (vigil.config.loader); a section
        # naming one that reaches the model unread would silently be the default instead.
        if isinstance(data, dict) and data.get("alertmanager_config") is not None:
            raise ValueError("alertmanager_config is read by the config loader "
                             "(vigil.config.load_config), not by validation")
        return data

    @model_validator(mode="after")
    def _receivers_exist(self) -> AlertingConfig:
        names = [r.name for r in self.receivers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise LocatedValueError(f"receiver names must be unique: {sorted(dup)}", ("receivers",))
        if self.route.receiver is None:
            raise LocatedValueError("the root route must name a receiver", ("route",))
        intervals = [t.name for t in (*self.time_intervals, *self.mute_time_intervals)]
        for i, name in enumerate(intervals):
            if name in intervals[:i]:
                raise LocatedValueError(f"time interval names must be unique: {name!r}", ("time_intervals",))
        for field in ("mute_time_intervals", "active_time_intervals"):
            if getattr(self.route, field):
                raise LocatedValueError(f"the root route must not have {field}", ("route", field))
        stack: list[tuple[Route, tuple[str | int, ...]]] = [(self.route, ("route",))]
        while stack:
            route, path = stack.pop()
            if route.receiver is not None and route.receiver not in names:
                raise LocatedValueError(f"route refers to undefined receiver {route.receiver!r}",
                                        (*path, "receiver"))
            for field in ("mute_time_intervals", "active_time_intervals"):
                for j, name in enumerate(getattr(route, field)):
                    if name not in intervals:
                        raise LocatedValueError(f"undefined time interval {name!r}", (*path, field, j))
            stack.extend((r, (*path, "routes", i)) for i, r in enumerate(route.routes))
        return self


class RemoteQueueConfig(Section):
    """How samples queue for one remote-write endpoint (Prometheus ``queue_config``)."""

    capacity: int = Field(10000, gt=0)
    max_samples_per_send: int = Field(2000, gt=0)
    batch_send_deadline: PositiveDuration = 5.0
    min_backoff: PositiveDuration = 0.03
    max_backoff: PositiveDuration = 5.0


class RemoteWriteConfig(Section):
    """A ``remote_write`` entry: where committed samples are sent (S2)."""

    url: str
    name: str | None = None
    remote_timeout: PositiveDuration = 30.0
    headers: dict[str, str] = Field(default_factory=dict)
    queue_config: RemoteQueueConfig = RemoteQueueConfig()
    write_relabel_configs: list[RelabelConfig] = Field(default_factory=list)


class RemoteStorageConfig(Section):
    """``storage.remote``: the metrics live in a Prometheus-compatible store. Vigil keeps a
    small local TSDB (``local_retention``) as a buffer, remote-writes every committed sample
    to ``write_url`` and runs every PromQL query (API, UI, rules) against ``query_url``, the
    base of the store's Prometheus HTTP API (``<query_url>/api/v1/query``). Credentials and
    TLS apply to both URLs."""

    write_url: str
    query_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    tls_config: TLSConfig = TLSConfig()
    write_timeout: PositiveDuration = 30.0
    query_timeout: PositiveDuration = 120.0
    # Kept small: the store holds the history. The buffer lets writes missed while the
    # store was unreachable be sent when it is back (vigil.remote.queue).
    local_retention: PositiveDuration = 2 * 3600.0
    # Samples waiting to be sent; a short deadline keeps recording rules' results visible
    # to the next evaluation.
    queue_config: RemoteQueueConfig = RemoteQueueConfig(capacity=100_000, max_samples_per_send=5000,
                                                        batch_send_deadline=1.0)

    @field_validator("write_url")
    @classmethod
    def _write_url(cls, url: str) -> str:
        return check_http_url(url, field="write_url")

    @field_validator("query_url")
    @classmethod
    def _query_url(cls, url: str) -> str:
        check_http_url(url, field="query_url")
        base = url.rstrip("/")
        if re.search(r"/api/v1(/\w+)?$", base):
            raise ValueError(f"query_url {url!r} must be the base of the Prometheus HTTP API "
                             "(the part before /api/v1/query), e.g. http://vm:8428 or "
                             "http://mimir:8080/prometheus")
        return base

    @model_validator(mode="after")
    def _one_auth(self) -> RemoteStorageConfig:
        if self.basic_auth is not None and self.authorization is not None:
            raise ValueError("at most one of basic_auth & authorization must be configured")
        return self


class Config(Section):
    global_: GlobalConfig = Field(GlobalConfig(), alias="global")
    data_dir: str = "data"
    web: WebConfig = WebConfig()
    storage: StorageConfig = StorageConfig()
    # PromQL limits (Prometheus's --query.max-concurrency, max-samples, timeout, lookback-delta).
    query: QueryConfig = QueryConfig()
    collectors: CollectorsConfig = CollectorsConfig()
    scrape_configs: list[ScrapeConfig] = Field(default_factory=list)
    rule_files: list[str] = Field(default_factory=list)
    default_rules: bool = True
    alerting: AlertingConfig = AlertingConfig()
    remote_write: list[RemoteWriteConfig] = Field(default_factory=list)
    # Prometheus's --enable-feature names (vigil.model.features); `vigil up --enable-feature`
    # adds to them.
    enable_features: list[str] = Field(default_factory=list)
    # People and access (vigil.config.access): provisioned users and teams, access settings.
    users: list[UserConfig] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)
    access: AccessConfig = AccessConfig()
    # Replicas sharing storage.state.url (vigil.config.cluster).
    cluster: ClusterConfig = ClusterConfig()
    # Acknowledge deadlines per priority (vigil.config.oncall).
    oncall: OncallConfig = OncallConfig()
    # On-call schedules (vigil.config.schedules); after users:, whose names they check.
    schedules: Schedules = Field(default_factory=list)
    # Escalation policies (vigil.config.escalation); after the people, schedules and receivers they name.
    escalation_policies: EscalationPolicies = Field(default_factory=list)
    # Incidents (vigil.config.incidents): severities and who they page; after the people and schedules.
    incidents: IncidentsSection = Field(default_factory=IncidentsConfig)
    # Incident candidates from related alert groups (vigil.config.correlation).
    correlation: CorrelationConfig = CorrelationConfig()
    # The public status page (vigil.config.status_page); its queries are parsed by vigil.app.check.
    status_page: StatusPageConfig = StatusPageConfig()
    # Dashboard folders (vigil.config.dashboards): Perses files read live and saved from the UI.
    dashboards: DashboardsConfig = DashboardsConfig()
    # Shift checklists (vigil.config.shifts): the runbook's daily lists, their time zone and checks.
    shifts: ShiftsConfig = ShiftsConfig()
    # Reports (vigil.config.reports): schedules, who gets them by e-mail, the archive's retention.
    reports: ReportsConfig = ReportsConfig()
    # Logs (vigil.config.logs): the log store, its retention, syslog listeners, files to tail.
    logs: LogsConfig = LogsConfig()
    # Objectives (vigil.config.objectives): MTTA/MTTR/false-positive/availability targets, services.
    objectives: ObjectivesConfig = ObjectivesConfig()
    # SLOs as code (vigil.config.slo): Sloth prometheus/v1 files whose rules Vigil evaluates.
    slo: SLOConfig = SLOConfig()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("enable_features")
    @classmethod
    def _known_features(cls, names: list[str]) -> list[str]:
        for index, name in enumerate(names):
            try:
                parse_features([name])
            except UnknownFeatureError as exc:
                raise LocatedValueError(str(exc), (index,)) from None
        return names

    # Where the config came from; relative paths in it resolve against this directory.
    source_file: str | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _people(self) -> Config:
        check_people(self.users, self.teams)
        return self

    @model_validator(mode="after")
    def _escalation_routes(self) -> Config:
        check_policy_routes(self.alerting.route, self.escalation_policies)
        return self

    @model_validator(mode="after")
    def _unique_jobs(self) -> Config:
        jobs = [s.job_name for s in self.scrape_configs]
        dup = {j for j in jobs if jobs.count(j) > 1}
        if dup:
            index = max(i for i, j in enumerate(jobs) if j in dup)
            raise LocatedValueError(f"job_name must be unique across scrape_configs: {sorted(dup)}",
                                    ("scrape_configs", index, "job_name"))
        return self

    def scrape_interval(self, scrape: ScrapeConfig) -> float:
        return scrape.scrape_interval or self.global_.scrape_interval

    def scrape_timeout(self, scrape: ScrapeConfig) -> float:
        timeout = scrape.scrape_timeout or self.global_.scrape_timeout
        return min(timeout, self.scrape_interval(scrape))
