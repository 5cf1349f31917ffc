"""``vigil objectives``: a running Vigil's objectives, through its API
(:mod:`vigil.web.objectives_api`), for a terminal or a script (the runbook's monthly
assessment, a CI gate).

    vigil objectives [--start T] [--end T] [--by priority|severity|team|month] [--json]

Prints each target (met, MISSED or no data), each service's availability and error budget
left, and MTTA/MTTR per group. ``--url`` (else ``$VIGIL_URL``) and ``--token`` (else
``$VIGIL_TOKEN``, a viewer's is enough). Exit 1 when a target is missed or Vigil refuses or
cannot be asked; 2 on bad usage.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vigil.cli._common import api_call, echo_json, time_option, utc_text
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["objectives", "objectives_text"]

MARKS = {True: "met", False: "MISSED", None: "no data"}


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    s = round(value)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "seconds":
        return _seconds(value)
    return f"{value * 100:.2f}%" if unit == "ratio" else f"{value:.3f}%"


def objectives_text(data: dict[str, Any]) -> str:
    """The API's answer as the terminal shows it."""
    f = data["figures"]
    lines = [f"Objectives {f['start']} .. {f['end']}", ""]
    for t in data["targets"]:
        sign = "<=" if t["direction"] == "below" else ">="
        lines.append(f"  {MARKS[t['met']]:<8} {t['name']:<28} {_value(t['actual'], t['unit']):>10} "
                     f"(target {sign} {_value(t['target'], t['unit'])}; {t['measuredOn']})")
    if data["availability"]:
        lines += ["", "Availability"]
        for a in data["availability"]:
            left = a["errorBudgetRemainingRatio"]
            ratio = a["availabilityRatio"]
            lines.append(f"  {a['service']:<20} {'-' if ratio is None else f'{ratio * 100:.3f}%':>9}  "
                         f"budget left {'-' if left is None else f'{left * 100:.1f}%'}"
                         + (f"  error: {a['error']}" if a["error"] else ""))
    lines += ["", f"Alert episodes by {f['by']}:  episodes  MTTA  MTTR  false positives"]
    for g in [*f["alerts"], {**f["alertsTotal"], "key": "total"}]:
        false = "-" if g["falsePositiveRatio"] is None else f"{g['falsePositives']} of {g['classified']}"
        lines.append(f"  {g['key']:<16} {g['episodes']:>5}  {_seconds(g['acknowledge']['meanSeconds']):>8}  "
                     f"{_seconds(g['resolve']['meanSeconds']):>8}  {false}")
    return "\n".join(lines)


def objectives(
    start: Annotated[str | None, typer.Option(help="Window start (RFC 3339); default: the availability window before --end.")] = None,
    end: Annotated[str | None, typer.Option(help="Window end (RFC 3339); default: now.")] = None,
    by: Annotated[str, typer.Option(help="Group MTTA/MTTR by priority, severity, team or month.")] = "priority",
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """MTTA, MTTR, false positives and availability against their targets; exit 1 if one is missed."""
    params = {"by": by}
    if start is not None:
        params["start"] = utc_text(time_option(start, "--start"))
    if end is not None:
        params["end"] = utc_text(time_option(end, "--end"))
    data = api_call("GET", "/api/vigil/v1/objectives", url, token, params=params, name_path=False).json()["data"]
    if as_json:
        echo_json(data)
    else:
        typer.echo(objectives_text(data))
    if any(t["met"] is False for t in data["targets"]):
        raise typer.Exit(1)
