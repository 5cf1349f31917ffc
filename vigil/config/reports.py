"""The ``reports:`` section (issue 19): when reports run on their own, who gets them by
e-mail, the SMTP server that sends them, and how long the archive keeps runs.

.. code-block:: yaml

    reports:
      timezone: Europe/Helsinki        # of runs asked for without one (default UTC)
      keep: 400d                       # the archive's retention (0: keep every run)
      pdf_timeout: 60s                 # how long Chromium may take to print one PDF
      http_status_label: code          # the HTTP status label of http_requests_total (or status)
      forecast:                        # days until full (weekly capacity report)
        window: 7d                     # fitted over this much history
        step: 1h                       # one point per step
        confidence: 0.9                # of the range given around the estimate
        horizon: 730d                  # further than this is "not within the horizon"
      smtp:                            # optional: else the first receiver's email_configs
        from: vigil@example.org
        smarthost: mail.example.org:587
        auth_username: vigil
        auth_password_file: /etc/vigil/smtp-password
      schedules:
        - report: daily
          cron: "30 8 * * *"           # minute hour day-of-month month day-of-week
          timezone: Europe/Helsinki    # the cron's clock (default: reports.timezone)
          email: [ops@example.org]
          formats: [pdf]               # attached to the e-mail: pdf, html, json (default pdf)
        - report: weekly-capacity
          cron: "0 9 * * MON"

Each occurrence of a schedule runs once, on the primary, whatever the number of replicas; an
occurrence missed while Vigil was down runs at the next start (only the newest one, and only
with ``catch_up: true``, the default). The report names are checked against the registry of
reports when the configuration is loaded (:func:`vigil.reports.schedule.check_report_schedules`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vigil.config.durations import Duration, PositiveDuration
from vigil.config.located import LocatedValueError
from vigil.model.labels import is_label_name

__all__ = ["REPORT_FORMATS", "ReportSchedule", "ReportsConfig", "ReportsForecast", "ReportsSmtp",
           "check_timezone"]

REPORT_FORMATS = ("pdf", "html", "json")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_timezone(name: str) -> str:
    """An IANA time zone name (``Europe/Helsinki``, ``UTC``)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Europe/Helsinki or UTC)") from None
    return name


class ReportsSmtp(_Section):
    """The SMTP server report e-mails go through (the fields of a receiver's
    ``email_configs`` that concern the server)."""

    from_: str = Field(alias="from")
    smarthost: str
    hello: str = "localhost"
    auth_username: str | None = None
    auth_password_file: str | None = None
    require_tls: bool = True
    timeout: PositiveDuration = 30.0

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"smarthost must be host:port, not {value!r}")
        return value


class ReportSchedule(_Section):
    report: str
    cron: str
    timezone: str | None = None  # None: reports.timezone
    email: list[str] = Field(default_factory=list)
    formats: list[str] = Field(default_factory=lambda: ["pdf"])
    catch_up: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"cron must be five fields (minute hour day-of-month month day-of-week), not {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return value if value is None else check_timezone(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: list[str]) -> list[str]:
        for i, address in enumerate(value):
            if "@" not in address or any(c.isspace() for c in address.strip()) or not address.strip():
                raise LocatedValueError(f"{address!r} is not an e-mail address", (i,))
        return [a.strip() for a in value]

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        for i, fmt in enumerate(value):
            if fmt not in REPORT_FORMATS:
                raise LocatedValueError(f"format must be one of {', '.join(REPORT_FORMATS)}, not {fmt!r}", (i,))
        return value

    def key(self, default_timezone: str) -> str:
        """What names the schedule in its occurrences' keys: report, cron and time zone
        (two entries with the same three would be the same schedule)."""
        return f"{self.report}|{self.cron}|{self.timezone or default_timezone}"


class ReportsForecast(_Section):
    """How the weekly capacity report forecasts days until full: a straight line fitted over
    ``window`` at one point per ``step``, with a ``confidence`` prediction interval."""

    window: PositiveDuration = 7 * 86400.0
    step: PositiveDuration = 3600.0
    confidence: float = Field(0.9, gt=0.5, lt=1.0)
    horizon: PositiveDuration = 730 * 86400.0


class ReportsConfig(_Section):
    timezone: str = "UTC"
    keep: Duration = 400 * 86400.0
    pdf_timeout: PositiveDuration = 60.0
    # Prometheus's client libraries call it ``code`` (as Vigil's rule pack and demo do); some
    # applications export ``status``.
    http_status_label: str = "code"
    forecast: ReportsForecast = Field(default_factory=ReportsForecast)
    smtp: ReportsSmtp | None = None
    schedules: list[ReportSchedule] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("http_status_label")
    @classmethod
    def _label(cls, value: str) -> str:
        if not is_label_name(value):
            raise ValueError(f"{value!r} is not a label name")
        return value

    @field_validator("schedules")
    @classmethod
    def _unique(cls, value: list[ReportSchedule]) -> list[ReportSchedule]:
        seen: dict[tuple[str, str, str | None], int] = {}
        for i, s in enumerate(value):
            key = (s.report, s.cron, s.timezone)
            if key in seen:
                raise LocatedValueError(f"the same report, cron and time zone as schedules[{seen[key]}]", (i,))
            seen[key] = i
        return value
