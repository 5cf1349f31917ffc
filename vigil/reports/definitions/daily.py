"""The daily health report (runbook §5.2, P1): the last 24 hours' targets and nodes, critical
services (probes), databases (connections, replication lag), backups, certificate expiry, the
night's alerts and incidents, the objectives and the shifts' checklists."""

from __future__ import annotations

from datetime import datetime, timedelta

from vigil.reports.context import ReportContext
from vigil.reports.definitions import _records
from vigil.reports.definitions._common import ReportDefinition, Sections
from vigil.reports.model import Figure, Item, Report, Status, Table
from vigil.reports.queries import Queries, Row, below, no_data

__all__ = ["DAILY"]

CPU = '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])))'
MEMORY = "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"
LOAD = "node_load1"
FS_FULLEST = ('max by (instance) (100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs"}'
              ' / node_filesystem_size_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs"}))')
PROBES_NOW = "probe_success"
PROBES_DAY = "avg_over_time(probe_success[24h]) * 100"
PG_UP = "pg_up"
PG_CONNECTIONS = "sum by (instance) (pg_stat_activity_count)"
PG_CONNECTIONS_SHARE = "100 * sum by (instance) (pg_stat_activity_count) / max by (instance) (pg_settings_max_connections)"
PG_LAG = "max by (instance) (pg_replication_lag_seconds)"
REDIS_UP = "redis_up"
BACKUP_AGE = "vigil_backup_newest_age_seconds / 3600"
CERT_DAYS = "(probe_ssl_earliest_cert_expiry - time()) / 86400"

SECTIONS = 8


def _key(labels: dict[str, str], *names: str) -> str:
    return " ".join(labels[n] for n in names if labels.get(n)) or "(no labels)"


def _by_instance(rows: list[Row] | None) -> dict[str, float]:
    return {r[0].get("instance", ""): r[1] for r in rows or []}


def _table(title: str, columns: tuple[str, ...], rows: list[tuple], statuses: list[Status], query: str,
           units: tuple[str, ...] = ()) -> Table:
    order = sorted(range(len(rows)), key=lambda i: str(rows[i][0]))
    return Table(title, columns, tuple(rows[i] for i in order), tuple(statuses[i] for i in order), query,
                 units=units)


def nodes(q: Queries, at: datetime) -> list[Item]:
    up = q.vector("up", at)
    items: list[Item] = []
    if up:
        down = [r for r in up if r[1] == 0]
        items.append(Figure("Targets up", sum(1 for r in up if r[1] == 1), "count", f"all {len(up)}",
                            "ok" if not down else "bad", "sum(up)"))
        if down:
            items.append(Table("Targets down", ("job", "instance"),
                               tuple((r[0].get("job", ""), r[0].get("instance", "")) for r in down),
                               tuple("bad" for _ in down), "up == 0"))
    cpu, mem, load, fs = (_by_instance(q.vector(e, at)) for e in (CPU, MEMORY, LOAD, FS_FULLEST))
    hosts = sorted(set(cpu) | set(mem))
    if not hosts:
        return [*items, no_data("hosts", "no node_cpu_seconds_total or node_memory_* series (host metrics).")]
    rows, statuses = [], []
    for h in hosts:
        worst = max((cpu.get(h, 0) / 90, mem.get(h, 0) / 90, fs.get(h, 0) / 90))
        rows.append((h, cpu.get(h), mem.get(h), load.get(h), fs.get(h)))
        statuses.append("bad" if worst >= 1 else "warn" if worst >= 0.8 else "ok")
    items.append(_table("Hosts now", ("host", "CPU", "memory used", "load (1m)", "fullest filesystem"), rows,
                        statuses, f"{CPU}\n{MEMORY}\n{LOAD}\n{FS_FULLEST}", ("", "percent", "percent", "", "percent")))
    return items


def services(q: Queries, at: datetime) -> list[Item]:
    now, day = q.vector(PROBES_NOW, at), _by_instance(q.vector(PROBES_DAY, at))
    if not now:
        return [no_data("critical services", "no probe_success series; configure probes (blackbox-style checks).")]
    rows, statuses = [], []
    for labels, v in now:
        inst = labels.get("instance", "")
        rows.append((_key(labels, "job", "instance"), "up" if v == 1 else "DOWN", day.get(inst)))
        statuses.append("ok" if v == 1 and day.get(inst, 100) >= 99.9 else "warn" if v == 1 else "bad")
    return [_table("Critical services (probes)", ("service", "now", "success over 24 h"), rows, statuses,
                   f"{PROBES_NOW}\n{PROBES_DAY}", ("", "", "percent"))]


def databases(q: Queries, at: datetime) -> list[Item]:
    pg = q.vector(PG_UP, at)
    items: list[Item] = []
    if not pg:
        items.append(no_data("PostgreSQL", "no pg_up series; configure the postgres collector."))
    else:
        conns, share, lag = (_by_instance(q.vector(e, at)) for e in (PG_CONNECTIONS, PG_CONNECTIONS_SHARE, PG_LAG))
        rows, statuses = [], []
        for labels, v in pg:
            i = labels.get("instance", "")
            status: Status = "bad" if v != 1 else below(80)(share[i]) if i in share else "ok"
            if lag.get(i, 0) > 30:
                status = "bad"
            rows.append((i, "up" if v == 1 else "DOWN", conns.get(i), share.get(i),
                         lag.get(i) if i in lag else "primary / n/a"))
            statuses.append(status)
        items.append(_table("PostgreSQL", ("instance", "state", "connections", "of max", "replication lag"),
                            rows, statuses, f"{PG_UP}\n{PG_CONNECTIONS}\n{PG_CONNECTIONS_SHARE}\n{PG_LAG}",
                            ("", "", "count", "percent", "seconds")))
    redis = q.vector(REDIS_UP, at)
    if redis:
        items.append(_table("Redis", ("instance", "state"), [(r[0].get("instance", ""), "up" if r[1] == 1 else "DOWN")
                                                           for r in redis],
                            ["ok" if r[1] == 1 else "bad" for r in redis], REDIS_UP))
    return items


def backups(q: Queries, at: datetime) -> list[Item]:
    rows = q.vector(BACKUP_AGE, at)
    if not rows:
        return [no_data("backups", "no vigil_backup_newest_age_seconds series; configure the backup collector.")]
    return [_table("Newest backup", ("backup", "age"), [(_key(r[0], "job", "instance", "name"), r[1]) for r in rows],
                   [below(26, 24 / 26)(r[1]) for r in rows], BACKUP_AGE, ("", "hours"))]


def certificates(q: Queries, at: datetime) -> list[Item]:
    rows = q.vector(CERT_DAYS, at)
    if not rows:
        return [no_data("certificates", "no probe_ssl_earliest_cert_expiry series; probe the HTTPS endpoints.")]
    return [_table("Certificate expiry", ("endpoint", "days left"), [(_key(r[0], "instance"), r[1]) for r in rows],
                   ["bad" if r[1] < 14 else "warn" if r[1] < 30 else "ok" for r in rows], CERT_DAYS, ("", "days"))]


def build(ctx: ReportContext, at: datetime) -> Report:
    q, out = Queries(ctx), Sections(ctx)
    start = at - timedelta(days=1)
    out.add("Nodes", nodes(q, at))
    out.add("Critical services", services(q, at))
    out.add("Databases", databases(q, at))
    out.add("Backups", backups(q, at))
    out.add("Certificates", certificates(q, at))
    out.add("Alerts and incidents (last 24 hours)", _records.alerts_and_incidents(ctx, start, at),
            page_break_before=True)
    out.add("Objectives", _records.objectives(ctx, start, at))
    out.add("Shift checklists", _records.shifts(ctx, start, at))
    return out.report("daily", "Daily health report", start, at)


DAILY = ReportDefinition("daily", "Daily health report", SECTIONS, build,
                         "Nodes, services, databases, backups, certificates, the night's alerts and incidents")
