"""The narrow interfaces the web layer reads the rest of Vigil through.

``vigil/app.py`` builds a :class:`WebDeps` from the running stages and hands it to
:func:`vigil.web.create_app`. Nothing in ``vigil.web`` imports the engine, the TSDB, the
scrape manager or the rule manager; tests swap every field for a fake.

Units: ``*_ms`` arguments are int milliseconds since the Unix epoch; ``now`` returns float
seconds since the epoch.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from vigil.alerting.service import AlertView, GroupView
from vigil.alerting.silence import Silences
from vigil.collect.target import DroppedTarget, TargetStatus
from vigil.config.model import DEFAULT_MAX_REQUEST_BODY_BYTES
from vigil.dashboards.store import DashboardStore
from vigil.incidents.response import IncidentResponse
from vigil.incidents.review import IncidentReview
from vigil.incidents.service import IncidentService
from vigil.incidents.status_page_service import StatusPageService
from vigil.logs.runtime import LogsRuntime
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.objectives.service import ObjectivesService
from vigil.oncall.escalation import Escalation
from vigil.oncall.lifecycle import Lifecycle
from vigil.oncall.schedules import ScheduleService
from vigil.promql.value import QueryResult
from vigil.reports.service import ReportService
from vigil.rules.status import ActiveAlert, GroupStatus
from vigil.selfmetrics import SelfMetrics
from vigil.shifts.service import ShiftService
from vigil.slo.source import SLOStatusSource
from vigil.state import OutboxEntry
from vigil.storage import Querier
from vigil.web.access_gate import AccessPolicy
from vigil.web.query_gate import QueryGate

__all__ = ["AlertmanagerBackend", "ClusterView", "PushGateway", "QueryEngine", "RemoteWriteReceiver", "RulesRetriever", "SeriesReader", "TSDBStats", "TargetRetriever", "WebDeps"]


class QueryEngine(Protocol):
    """Synchronous, CPU-bound PromQL evaluation; the web layer calls it from a worker thread.

    Both methods raise :class:`vigil.errors.ParseError` for text that does not parse (shown
    to API clients as ``bad_data``/400) and :class:`vigil.errors.QueryError` when evaluation
    fails (``execution``/422). A ``QueryError`` whose message starts with
    ``"query timed out"`` (Prometheus's wording) is reported as ``timeout``/503.
    ``range_query`` returns a :class:`~vigil.promql.value.Matrix` (a scalar expression is
    returned as a one-series matrix, as Prometheus does).
    """

    def instant_query(self, query: str, ts_ms: int) -> QueryResult: ...

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult: ...


class TargetRetriever(Protocol):
    """The scrape targets currently active, in a stable order (job, then instance), and
    the discovered targets that relabelling dropped."""

    def targets(self) -> list[TargetStatus]: ...

    def dropped_targets(self) -> list[DroppedTarget]: ...


class RulesRetriever(Protocol):
    """The loaded rule groups with their last evaluation, and the alerts rules now hold."""

    def groups(self) -> list[GroupStatus]: ...

    def alerts(self) -> list[ActiveAlert]: ...


class SeriesReader(Protocol):
    """Read access to stored series (``/api/v1/series``, ``labels``, ``label/<name>/values``).

    The caller closes the returned querier."""

    def querier(self, mint_ms: int, maxt_ms: int) -> Querier: ...


class TSDBStats(Protocol):
    """Storage statistics for ``/api/v1/status/tsdb``, ``runtimeinfo`` and ``flags``
    (:class:`vigil.tsdb.DB`). ``stats()`` has at least ``head_series``, ``head_samples``,
    ``head_min_time`` and ``head_max_time`` (int ms or None); ``series_labels()`` is every
    stored label set (head and blocks). ``path`` is the data directory; ``retention_ms`` the
    time retention in milliseconds."""

    path: str
    retention_ms: int

    def stats(self) -> Mapping[str, Any]: ...

    def series_labels(self) -> set[Labels]: ...


class RemoteWriteReceiver(Protocol):
    """Stores one snappy-compressed remote-write request (``vigil.remote.Receiver``);
    CPU-bound, called from a worker thread. Returns the samples stored; raises
    :class:`vigil.remote.RemoteWriteError` whose ``status`` is the HTTP answer."""

    def write(self, body: bytes) -> int: ...


class PushGateway(Protocol):
    """Pushed metric groups (``vigil.collect.pushgateway.PushGateway``). ``grouping`` is
    the group's labels including ``job``. ``push`` raises :class:`vigil.errors.ParseError`
    for a body that does not parse; ``replace`` False merges by metric name (POST)."""

    def push(self, grouping: dict[str, str], body: bytes, content_type: str | None, *,
             replace: bool) -> None: ...

    def delete(self, grouping: dict[str, str]) -> bool: ...


class AlertmanagerBackend(Protocol):
    """What the Alertmanager v2 API needs: the alerting stage's facade
    (:class:`vigil.alerting.service.Alerting`). Silence methods raise
    :class:`vigil.alerting.silence.SilenceNotFound` / ``SilenceError`` (a ValueError)."""

    silences: Silences

    def put_alerts(self, alerts: list[Alert]) -> None: ...

    def alerts(self) -> list[AlertView]: ...

    def groups(self) -> list[GroupView]: ...

    def receivers(self) -> list[str]: ...

    def notifications(self, *, status: str | None = None, receiver: str | None = None,
                      limit: int = 200) -> list[OutboxEntry]: ...


class ClusterView(Protocol):
    """This replica's view of its cluster (:class:`vigil.cluster.Membership`), JSON-ready:
    ``self`` (this member's id), ``lease`` (name, holder or None when expired, epoch,
    ``expires_in_seconds``) or None, ``database`` (``reachable``, ``error``), and
    ``members``: each with id, name, url, version, role (primary or replica), healthy,
    ``heartbeat_age_seconds``, ``started_at`` (RFC 3339), ``shard`` ([index, count] or None),
    ``self``. Cheap: it returns the last heartbeat's reading, never queries."""

    def view(self) -> dict[str, Any]: ...


def _always_ready() -> bool:
    return True


@dataclass
class WebDeps:
    """Everything the HTTP API and UI need, owned by the app assembly.

    ``parse_matchers`` turns a series selector (``up{job="x"}``) into matchers and raises
    :class:`vigil.errors.ParseError`. ``config_yaml`` returns the loaded configuration as
    YAML. ``reload`` re-reads configuration (``None`` disables ``POST /-/reload``) and raises
    :class:`vigil.errors.VigilError` with a located message on failure. ``ready`` is False
    until storage has been replayed. ``now`` is the clock (unix seconds), injectable for tests. ``tsdb`` and
    ``format_query`` are optional; see their comments.
    """

    engine: QueryEngine
    targets: TargetRetriever
    rules: RulesRetriever
    storage: SeriesReader
    metrics: SelfMetrics
    parse_matchers: Callable[[str], list[Matcher]]
    version: str
    config_yaml: Callable[[], str]
    reload: Callable[[], Awaitable[None]] | None = None
    ready: Callable[[], bool] = _always_ready
    now: Callable[[], float] = time.time
    alerting: AlertmanagerBackend | None = None  # None: no Alertmanager API
    remote_write: RemoteWriteReceiver | None = None  # None: POST /api/v1/write answers 404
    pushgateway: PushGateway | None = None  # None: no /metrics/job/... endpoint
    tsdb: TSDBStats | None = None  # None: /api/v1/status/tsdb answers 404 unavailable
    # Parses a query and prints it back in canonical form (``/api/v1/format_query``); raises
    # ParseError. None: the endpoint answers 404.
    format_query: Callable[[str], str] | None = None
    # Larger request bodies are answered 413 (web.max_request_body_size; read at start).
    max_request_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_BYTES
    # Who may call what (vigil.web.access_gate). None: no access database, everyone acts
    # as the local admin (tests of other stages); the app passes its policy.
    access: AccessPolicy | None = None
    # Replicas and their roles (/api/vigil/v1/cluster, /cluster). None: both answer 404.
    cluster: ClusterView | None = None
    # Alert episodes: acknowledge, resolve, deadlines (vigil.oncall). None: the on-call API
    # answers 404.
    oncall: Lifecycle | None = None
    # On-call schedules with their overrides and calendar feeds (vigil.oncall.schedules).
    # None: the schedule API, page and feeds answer 404.
    schedules: ScheduleService | None = None
    # Escalation policies and where each episode is in its policy (vigil.oncall.escalation).
    # None: the escalation API answers 404.
    escalation: Escalation | None = None
    # The public status page and its overrides (vigil.incidents.status_page_service). None:
    # /status and the override API answer 404.
    status_page: StatusPageService | None = None
    # Post-mortems, figures, action items and incident candidates (vigil.incidents.review).
    # None: their API answers 404.
    incident_review: IncidentReview | None = None
    # The incidents' response checklist and communications (vigil.incidents.response). None:
    # their API answers 404.
    incident_response: IncidentResponse | None = None
    # Incidents: declare, status, severity, roles, timeline (vigil.incidents.service). None:
    # the incidents API answers 404.
    incidents: IncidentService | None = None
    # Dashboards: the Perses files of the configured folders and the shipped ones, re-read on
    # each request (vigil.dashboards.store). None: the dashboards API answers 404.
    dashboards: DashboardStore | None = None
    # Shift checklists: today's shift, ticks, hand-over, history (vigil.shifts.service). None:
    # the shifts API and pages answer 404.
    shifts: ShiftService | None = None
    # Reports: what there is, the archive, run one now (vigil.reports.service). None: the
    # reports API and page answer 404.
    reports: ReportService | None = None
    # Logs: the store, ingest and LogQL (vigil.logs.runtime). None: the Loki API and the log
    # ingest endpoints answer 404.
    logs: LogsRuntime | None = None
    # Objectives: MTTA/MTTR, false positives, availability (vigil.objectives.service). None:
    # the objectives API and page answer 404.
    objectives: ObjectivesService | None = None
    # SLOs (vigil.slo.source): the config's Sloth files and their statuses. None: the SLO API
    # and page answer 404.
    slos: SLOStatusSource | None = None
    # Where /api/v1/query and query_range run (query.max_concurrency threads, query.timeout).
    # None: a gate with Prometheus's defaults (20 at once, 2 minutes) and no metrics.
    query_gate: QueryGate | None = None
