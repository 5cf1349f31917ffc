"""The reports Vigil makes (P1–P3), by name: each a :class:`ReportDefinition` whose
``build(ctx, at)`` computes the report for the period ending at ``at`` from a
:class:`vigil.reports.context.ReportContext`."""

from __future__ import annotations

from vigil.reports.definitions._common import ReportDefinition
from vigil.reports.definitions.daily import DAILY
from vigil.reports.definitions.monthly import MONTHLY
from vigil.reports.definitions.weekly_capacity import WEEKLY_CAPACITY
from vigil.reports.definitions.weekly_performance import WEEKLY_PERFORMANCE
from vigil.reports.definitions.weekly_security import WEEKLY_SECURITY

__all__ = ["REPORTS", "ReportDefinition"]

REPORTS: dict[str, ReportDefinition] = {d.name: d for d in (DAILY, WEEKLY_CAPACITY, WEEKLY_PERFORMANCE, WEEKLY_SECURITY, MONTHLY)}
