"""The ``shifts:`` section (issue 19, part 4): the shift checklists, their time zone and the
checks Vigil runs itself.

.. code-block:: yaml

    shifts:
      timezone: Europe/Dublin        # shift start times are in this zone (default UTC)
      run_checks: true               # the primary runs each shift's checks once at its start
      checks:                        # change a check's query or condition (or alert priorities)
        critical_services: {query: 'probe_success{critical="true"}', ok_when: "== 1"}
        unacknowledged_alerts: {priorities: [P1]}
      shifts:                        # replaces the runbook's three lists when given
        - name: morning
          title: Morning checklist
          start: "09:00"
          items:
            - {title: Verify all critical services are green, check: critical_services}
            - {title: Check IoT device connectivity}           # a person ticks it with a note
            - {title: Queue drained, check: promql, query: 'sum(celery_queue_length)', ok_when: "< 50"}

A shift lasts from its start until the next shift's start (the last one until the first one
of the next day). Without ``shifts:`` the runbook's lists (section 5: morning 09:00, mid-day
13:00, end of day 18:00) are used. An item with ``check:`` is verified by Vigil: a PromQL
check passes when its query returns at least one series and every series' value meets
``ok_when``; the alert checks read the alert episodes in the state database.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.config.checks import check_unique_names
from vigil.config.located import LocatedValueError

__all__ = ["ALERT_CHECKS", "DEFAULT_PROMQL_CHECKS", "PROMQL_CHECKS", "CheckSpec", "ShiftDef", "ShiftItem",
           "ShiftsConfig", "default_shifts", "parse_condition"]

# Kind -> (query, ok_when, what it verifies). Metric names are the ones Vigil's collectors,
# probes and rule pack use (capacity.yml, database.yml).
DEFAULT_PROMQL_CHECKS: dict[str, tuple[str, str, str]] = {
    "critical_services": ("probe_success", "== 1", "every probed service answers"),
    "backups_done": ("vigil_backup_newest_age_seconds", "< 93600",
                     "the newest backup is younger than 26 h (as the BackupTooOld rule)"),
    "certificates_valid": ("(probe_ssl_earliest_cert_expiry - time()) / 86400", ">= 30",
                           "every TLS certificate is valid for 30 days or more"),
    "scheduled_jobs_ran": ('time() - max by (job) ({__name__=~".+_last_success_timestamp_seconds"})', "< 90000",
                           "every job's last success (textfile *_last_success_timestamp_seconds) is under 25 h old"),
    "replication_healthy": ("pg_replication_lag_seconds", "<= 5",
                            "replication lag at most 5 s (the ReplicationLag warning)"),
    "monitoring_healthy": ("up", "== 1", "every scrape target and collector is up"),
}
PROMQL_CHECKS = (*DEFAULT_PROMQL_CHECKS, "promql")
# Checks on the alert episodes in the state database: unresolved episodes of these
# priorities that are unacknowledged (unacknowledged_alerts) or merely unresolved (open_alerts).
ALERT_CHECKS: dict[str, tuple[list[str], str]] = {
    "unacknowledged_alerts": (["P1", "P2"], "no unacknowledged alert of these priorities"),
    "open_alerts": (["P1"], "no unresolved alert of these priorities"),
}
CHECK_KINDS = (*PROMQL_CHECKS, *ALERT_CHECKS)
_CONDITION = re.compile(r"^\s*(==|!=|<=|>=|<|>)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,47}$")


def parse_condition(text: str) -> tuple[str, float]:
    """``"< 93600"`` -> ("<", 93600.0); ValueError naming the accepted forms."""
    m = _CONDITION.match(text)
    if m is None:
        raise ValueError(f"ok_when {text!r} must be a comparison and a number, e.g. '== 1' or '< 300' "
                         "(==, !=, <, <=, >, >=)")
    return m.group(1), float(m.group(2))


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:48] or "item"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckSpec(Section):
    """A check kind's parameters: a PromQL query and condition, or alert priorities."""

    query: str | None = None
    ok_when: str | None = None
    priorities: list[str] | None = None

    @field_validator("ok_when")
    @classmethod
    def _condition(cls, text: str | None) -> str | None:
        if text is not None:
            parse_condition(text)
        return text


class ShiftItem(Section):
    title: str = Field(min_length=1, max_length=512)
    key: str = ""  # default: from the title
    check: str | None = None  # a kind of CHECK_KINDS; None: a person ticks it
    # For check: promql (or to change a kind's default for this item only).
    query: str | None = None
    ok_when: str | None = None
    priorities: list[str] | None = None

    @model_validator(mode="after")
    def _valid(self) -> ShiftItem:
        if self.check is not None and self.check not in CHECK_KINDS:
            raise LocatedValueError(f"unknown check {self.check!r}; known: {', '.join(CHECK_KINDS)}", ("check",))
        if self.check == "promql" and not (self.query and self.ok_when):
            raise LocatedValueError("check: promql needs query and ok_when", ("query",))
        if self.ok_when is not None:
            try:
                parse_condition(self.ok_when)
            except ValueError as exc:
                raise LocatedValueError(str(exc), ("ok_when",)) from None
        if (self.query or self.ok_when) and self.check not in PROMQL_CHECKS:
            raise LocatedValueError("query/ok_when need a PromQL check (check: promql or a PromQL kind)", ("query",))
        if self.priorities is not None and self.check not in ALERT_CHECKS:
            raise LocatedValueError(f"priorities need an alert check ({', '.join(ALERT_CHECKS)})", ("priorities",))
        if self.key and not _NAME.match(self.key):
            raise LocatedValueError("key must be lower-case letters, digits and _ (up to 48)", ("key",))
        return self

    @property
    def item_key(self) -> str:
        return self.key or _slug(self.title)


class ShiftDef(Section):
    name: str
    title: str = ""
    start: time
    items: list[ShiftItem] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("name must be lower-case letters, digits and _ (up to 48), e.g. morning")
        return name

    @field_validator("items")
    @classmethod
    def _unique_keys(cls, items: list[ShiftItem]) -> list[ShiftItem]:
        keys = [i.item_key for i in items]
        for n, key in enumerate(keys):
            if key in keys[:n]:
                raise LocatedValueError(f"two items have the key {key!r} (give one a key:)", (n, "title"))
        return items

    @property
    def display_title(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()


def default_shifts() -> list[ShiftDef]:
    """The runbook's section 5 lists, with the checks Vigil can make itself."""
    def item(title: str, key: str, check: str | None = None) -> dict[str, Any]:
        return {"title": title, "key": key, "check": check}
    return [ShiftDef.model_validate(s) for s in (
        {"name": "morning", "title": "Morning checklist", "start": "09:00", "items": [
            item("Review overnight alerts (PagerDuty/Slack)", "overnight_alerts"),
            item("No unacknowledged P1/P2 alerts", "unacknowledged_alerts", "unacknowledged_alerts"),
            item("Check system health dashboard", "health_dashboard"),
            item("Verify all critical services are green", "critical_services", "critical_services"),
            item("Review backup completion status", "backups", "backups_done"),
            item("SSL certificates valid for 30 days or more", "certificates", "certificates_valid"),
            item("Database replication healthy", "replication", "replication_healthy"),
            item("Check disk space trends", "disk_space"),
            item("Review failed login attempts (security)", "failed_logins"),
            item("Check IoT device connectivity", "iot_connectivity")]},
        {"name": "midday", "title": "Mid-day check", "start": "13:00", "items": [
            item("Check alert queue for any new issues", "alert_queue", "unacknowledged_alerts"),
            item("Review application performance metrics", "app_performance"),
            item("Verify scheduled jobs ran successfully", "scheduled_jobs", "scheduled_jobs_ran"),
            item("Check pending Celery tasks", "celery_tasks")]},
        {"name": "end_of_day", "title": "End-of-day check", "start": "18:00", "items": [
            item("Confirm no critical alerts pending", "critical_alerts", "open_alerts"),
            item("Review day's incident log", "incident_log"),
            item("Check tomorrow's maintenance windows", "maintenance_windows"),
            item("Verify monitoring systems are healthy", "monitoring", "monitoring_healthy")]},
    )]


class ShiftsConfig(Section):
    timezone: str = "UTC"
    run_checks: bool = True
    checks: dict[str, CheckSpec] = Field(default_factory=dict)
    shifts: list[ShiftDef] = Field(default_factory=default_shifts)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (an IANA name such as Europe/Dublin or UTC)") from None
        return name

    @field_validator("checks")
    @classmethod
    def _kinds(cls, checks: dict[str, CheckSpec]) -> dict[str, CheckSpec]:
        for kind, spec in checks.items():
            if kind not in DEFAULT_PROMQL_CHECKS and kind not in ALERT_CHECKS:
                raise LocatedValueError(f"unknown check {kind!r}; known: "
                                        f"{', '.join((*DEFAULT_PROMQL_CHECKS, *ALERT_CHECKS))}", (kind,))
            if kind in ALERT_CHECKS and (spec.query or spec.ok_when):
                raise LocatedValueError(f"{kind} reads alert episodes: only priorities can be set", (kind, "query"))
            if kind in DEFAULT_PROMQL_CHECKS and spec.priorities is not None:
                raise LocatedValueError(f"{kind} is a PromQL check: set query/ok_when", (kind, "priorities"))
        return checks

    @field_validator("shifts")
    @classmethod
    def _shifts(cls, shifts: list[ShiftDef]) -> list[ShiftDef]:
        if not shifts:
            raise ValueError("at least one shift is needed (leave shifts out for the runbook's three)")
        check_unique_names([s.name for s in shifts], "shift names must be unique")
        starts = [s.start for s in shifts]
        for n, start in enumerate(starts):
            if start in starts[:n]:
                raise LocatedValueError(f"two shifts start at {start:%H:%M}", (n, "start"))
        return shifts

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def check_spec(self, item: ShiftItem) -> dict[str, Any] | None:
        """The parameters ``item``'s check runs with: the item's own, else the section's
        ``checks:`` entry, else the default (None for an item a person ticks)."""
        if item.check is None:
            return None
        section = self.checks.get(item.check, CheckSpec())
        if item.check in ALERT_CHECKS:
            return {"priorities": list(item.priorities or section.priorities or ALERT_CHECKS[item.check][0])}
        default_query, default_ok, _ = DEFAULT_PROMQL_CHECKS.get(item.check, (None, None, ""))
        return {"query": item.query or section.query or default_query,
                "ok_when": item.ok_when or section.ok_when or default_ok}
