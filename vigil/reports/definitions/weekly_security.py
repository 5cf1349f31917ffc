"""The weekly security review (runbook §6.3, P3): refused and failed authentication
attempts (Vigil's own access gate and the applications' 401/403 answers), blocked requests
(429), certificates under 30 days, secrets Vigil's log ingestion found and masked, and the
runbook's Friday checklist with the lines Vigil verified marked."""

from __future__ import annotations

from datetime import datetime, timedelta

from vigil.reports.context import ReportContext
from vigil.reports.definitions._common import ReportDefinition, Sections
from vigil.reports.definitions.weekly_performance import week_over_week
from vigil.reports.model import Checklist, ChecklistLine, Figure, Item, Note, Report, Table
from vigil.reports.queries import Queries, no_data

__all__ = ["WEEKLY_SECURITY"]

VIGIL_REFUSED = "sum by (reason) (increase(vigil_http_access_denied_total[1w]))"
SECRETS = "sum by (kind, job) (increase(vigil_logs_secrets_detected_total[1w]))"
CERT_DAYS = "(probe_ssl_earliest_cert_expiry - time()) / 86400"
CERT_SOON = f"count(({CERT_DAYS}) < 30)"
SECTIONS = 5


def answered(status_label: str, code: str) -> str:
    """The week's requests per job answered with HTTP ``code`` (``reports.http_status_label``)."""
    return f'sum by (job) (increase(http_requests_total{{{status_label}="{code}"}}[1w]))'


def access(q: Queries, at: datetime, status_label: str) -> list[Item]:
    items: list[Item] = []
    for title, expr, key in (("Requests Vigil refused, by reason", VIGIL_REFUSED, "reason"),
                             ("Failed authentication (401)", answered(status_label, "401"), "job"),
                             ("Unauthorized access attempts (403)", answered(status_label, "403"), "job")):
        t = week_over_week(q, title, expr, at, key, "count")
        if t is not None:
            items.append(t)
    return items or [no_data("authentication", "no vigil_http_access_denied_total or http_requests_total series.")]


def blocked(q: Queries, at: datetime, status_label: str) -> list[Item]:
    t = week_over_week(q, "Blocked requests (429)", answered(status_label, "429"), at, "job", "count")
    return [t] if t else [no_data("blocked requests", f'no http_requests_total{{{status_label}="429"}} series '
                                  "(a WAF or rate limiter's answers).")]


def certificates(q: Queries, at: datetime) -> tuple[list[Item], bool | None]:
    rows = q.vector(CERT_DAYS, at)
    if not rows:
        return [no_data("certificates", "no probe_ssl_earliest_cert_expiry series; probe the HTTPS endpoints.")], None
    soon = [r for r in rows if r[1] < 30]
    items: list[Item] = [
        Figure("Certificates expiring within 30 days", len(soon), "count", "0", "ok" if not soon else "bad",
               CERT_SOON),
        Table("Certificates", ("endpoint", "days left"),
              tuple((lb.get("instance", ""), v) for lb, v in sorted(rows, key=lambda r: r[1])),
              tuple("bad" if v < 14 else "warn" if v < 30 else "ok" for _, v in sorted(rows, key=lambda r: r[1])),
              CERT_DAYS, units=("", "days"))]
    return items, not soon


def secrets(q: Queries, at: datetime) -> tuple[list[Item], bool | None]:
    """Secrets Vigil's log ingestion found (and masked) this week, by pattern and stream."""
    rows = q.vector(SECRETS, at)
    if not rows:
        return [Note("No secrets counted in logs: vigil_logs_secrets_detected_total has no series (none was "
                     "ever found, or Vigil ingests no logs).", "unknown")], None
    found = [(lb.get("kind", ""), lb.get("job", ""), v) for lb, v in sorted(rows, key=lambda r: -r[1])]
    total = sum(v for _, _, v in found)
    items: list[Item] = [
        Figure("Secrets found in logs this week (masked before storing)", total, "count", "0",
               "ok" if total == 0 else "bad", f"sum({SECRETS})"),
        Table("Secrets found in logs, by pattern and stream", ("pattern", "job", "found"), tuple(found),
              tuple("bad" if v > 0 else "ok" for _, _, v in found), SECRETS, units=("", "", "count"))]
    return items, total == 0


def build(ctx: ReportContext, at: datetime) -> Report:
    q, out = Queries(ctx), Sections(ctx)
    start = at - timedelta(days=7)
    status_label = ctx.config.reports.http_status_label
    out.add("Authentication and access", access(q, at, status_label))
    out.add("Blocked requests", blocked(q, at, status_label))
    certs, certs_ok = certificates(q, at)
    out.add("Certificates", certs)
    leaked, secrets_ok = secrets(q, at)
    out.add("Secrets in logs", leaked)
    evidence = "" if certs_ok is None else f"{CERT_DAYS} >= 30 for every endpoint" if certs_ok else "see Certificates"
    out.add("Checklist", [
        Checklist("Friday security review (runbook §6.3)", (
            ChecklistLine("Review failed authentication attempts", None),
            ChecklistLine("Check for unauthorized access attempts", None),
            ChecklistLine("Review WAF blocked requests", None),
            ChecklistLine("Verify SSL certificate validity (> 30 days)", certs_ok, "vigil" if certs_ok is not None
                          else "", evidence),
            ChecklistLine("Check for exposed secrets in logs", secrets_ok, "vigil" if secrets_ok is not None else "",
                          "" if secrets_ok is None else f"sum({SECRETS}) == 0" if secrets_ok
                          else "see Secrets in logs")))])
    return out.report("weekly-security", "Weekly security review", start, at)


WEEKLY_SECURITY = ReportDefinition("weekly-security", "Weekly security review", SECTIONS, build,
                                   "Failed logins, blocked requests, certificates under 30 days, secrets in logs")
