"""``vigil oncall simulate`` and ``vigil oncall lint``: the on-call configuration checked
offline, from the file alone (no running Vigil, no database: overrides made at run time are
not included), so both work in CI.

``vigil oncall simulate LABEL=VALUE... [--at T] [--alerts N] [--config F] [--json]``: the
routes an alert with these labels takes, each route's receiver and escalation policy, then
every step with its time (relative to ``--at`` and absolute), the conditions decided at their
time, the repeats, and who each step reaches and how. Exit 1 when a step reaches nobody.

``vigil oncall lint [--config F] [--at T] [--json]``: gaps in the next 4 weeks, steps that
reach nobody, users without a sendable contact method, policies no route names. Exit 1 on
findings, 0 when clean.

Both exit 2 on bad usage (a label or time that does not parse, an invalid configuration).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from vigil.cli._common import time_option, usage_error, utc_text

__all__ = ["lint", "simulate"]

ConfigOption = Annotated[str | None, typer.Option(
    "--config", "-c", help="Configuration file (YAML) with users, schedules, escalation_policies and routes.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _offset(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}"


def _load(config: str | None) -> tuple[Any, Any]:
    """The configuration and its marks (for file:line in findings); exit 2 when invalid."""
    from vigil.config.loader import load_config, parse_config
    from vigil.config.yamlmarks import load_yaml_file
    from vigil.errors import VigilError

    try:
        if config is None:
            return load_config(None), None
        data, marks = load_yaml_file(config)
        return parse_config(data, marks), marks
    except (VigilError, OSError) as exc:
        usage_error(str(exc))


def _page_json(page: Any) -> dict[str, Any]:
    return {"user": page.user, "kind": page.kind, "address": page.shown_address, "label": page.label,
            "after": page.delay_s, "via": page.via, "sendable": page.sendable,
            "problem": page.problem or None}


def simulate(
    labels: Annotated[list[str], typer.Argument(help="Labels of the alert: name=value ...")],
    at: Annotated[str | None, typer.Option("--at", help="When the episode opens (RFC 3339). Default: now.")] = None,
    alerts: Annotated[int, typer.Option("--alerts", min=0,
                                        help="Alerts an if_alerts condition counts in its window.")] = 1,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The route, receiver and escalation policy an alert takes, then each step with its
    time and the people it reaches (offline: run-time overrides are not included). Exit 1
    when a step reaches nobody."""
    from vigil.cli.alerts import parse_label_args
    from vigil.oncall.simulate import simulate as run

    try:
        label_set = parse_label_args(labels)
    except ValueError as exc:
        usage_error(str(exc))
    when = time_option(at, "--at")
    cfg, _ = _load(config)
    result = run(cfg, label_set, when, alerts=alerts)
    if as_json:
        typer.echo(json.dumps({
            "labels": result.labels, "at": utc_text(result.at), "priority": result.priority,
            "urgency": result.urgency, "overrides_included": False,
            "routes": [{"route": r.path, "receiver": r.receiver, "escalation_policy": r.policy,
                        "steps": [{"cycle": s.cycle + 1, "step": s.index + 1, "level": s.level,
                                   "kind": s.kind, "detail": s.detail, "offset": s.offset_s,
                                   "at": utc_text(s.due_at), "outcome": s.outcome,
                                   "reaches_nobody": s.reaches_nobody,
                                   "pages": [_page_json(p) for p in s.pages]} for s in r.steps]}
                       for r in result.routes]}, indent=2))
    else:
        labels_text = ", ".join(f"{k}={v}" for k, v in result.labels.items())
        typer.echo(f"alert {{{labels_text}}} at {utc_text(result.at)}: priority {result.priority}, "
                   f"{result.urgency} urgency")
        typer.echo("(offline, from the configuration: overrides made at run time are not included; "
                   "nobody acknowledges)")
        for route in result.routes:
            policy = route.policy or "none (the receiver is notified, nobody is paged)"
            typer.echo(f"route {route.path}: receiver {route.receiver}, escalation policy {policy}")
            for s in route.steps:
                typer.echo(f"  {_offset(s.offset_s)}  {utc_text(s.due_at)}  cycle {s.cycle + 1} "
                           f"step {s.index + 1} (level {s.level}): {s.detail}"
                           + ("" if s.outcome == "notify" else f" -> {s.outcome}"))
                for page in s.pages:
                    mark = "" if page.sendable else "NOT SENT "
                    typer.echo(f"      {mark}{page.describe()}")
                if s.reaches_nobody:
                    typer.echo("      FINDING: this step reaches nobody")
    if result.steps_reaching_nobody:
        raise typer.Exit(1)


def lint(
    config: ConfigOption = None,
    at: Annotated[str | None, typer.Option("--at", help="Start of the 4 weeks checked (RFC 3339). Default: now.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Findings in the on-call configuration: schedule gaps in the next 4 weeks, steps that
    reach nobody, users without a sendable contact method, policies no route names. Exit 1
    on findings."""
    from vigil.oncall.lint import lint as run

    when = time_option(at, "--at")
    cfg, marks = _load(config)
    findings = run(cfg, marks, now=when)
    if as_json:
        typer.echo(json.dumps({"at": utc_text(when), "findings": [
            {"kind": f.kind, "where": f.where, "message": f.message} for f in findings]}, indent=2))
    else:
        for finding in findings:
            typer.echo(str(finding))
        if not findings:
            typer.echo("no findings")
    if findings:
        raise typer.Exit(1)
