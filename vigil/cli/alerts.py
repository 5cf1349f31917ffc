"""``vigil alerts``: offline tools for the alerting configuration, and acknowledging and
resolving alert episodes of a running Vigil (:mod:`vigil.cli.oncall_alerts`).

``vigil alerts routes test [--config FILE] label=value ...`` prints the receivers an alert
with those labels reaches, comma-separated, exactly as ``amtool config routes test`` does.
FILE is a Vigil configuration or an Alertmanager file (told apart by a top-level ``route``).
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from vigil.cli import oncall_alerts
from vigil.cli._common import fail
from vigil.errors import VigilError
from vigil.model.labels import LABEL_NAME_PATTERN

alerts_cli = typer.Typer(help="Alerting tools (routing tree tests; ack, unack and resolve).",
                         no_args_is_help=True)
routes_cli = typer.Typer(help="The routing tree.", no_args_is_help=True)
alerts_cli.add_typer(routes_cli, name="routes")
alerts_cli.command("ack")(oncall_alerts.ack)
alerts_cli.command("unack")(oncall_alerts.unack)
alerts_cli.command("resolve")(oncall_alerts.resolve)

_LABEL = re.compile(rf'^\s*({LABEL_NAME_PATTERN})\s*=\s*(.*?)\s*$')


def parse_label_args(args: list[str]) -> dict[str, str]:
    """``name=value`` arguments (the value may be double-quoted) as a label dict."""
    labels: dict[str, str] = {}
    for arg in args:
        m = _LABEL.match(arg)
        if not m:
            raise ValueError(f"bad label {arg!r}: expected name=value")
        value = m.group(2)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        labels[m.group(1)] = value
    return labels


def load_alerting(config: str | None):
    """The alerting section of a Vigil config or of an Alertmanager file."""
    from vigil.config import load_config, load_yaml_file
    from vigil.config.amconfig import alerting_from_alertmanager, looks_like_alertmanager

    if config is None:
        return load_config(None).alerting
    data, marks = load_yaml_file(config)
    if looks_like_alertmanager(data):
        return alerting_from_alertmanager(data, marks)
    return load_config(config).alerting


@routes_cli.command("test")
def routes_test(
    labels: Annotated[list[str] | None, typer.Argument(help="Labels of the alert: name=value ...")] = None,
    config: Annotated[str | None, typer.Option("--config", "-c", help="Vigil or Alertmanager configuration file.")] = None,
    verify_receivers: Annotated[str | None, typer.Option(help="Expected receivers, comma-separated; exit 1 if they differ.")] = None,
) -> None:
    """Print the receivers an alert with these labels is routed to."""
    from vigil.alerting.dispatch import build_routes
    from vigil.model import Labels

    try:
        alerting = load_alerting(config)
        label_set = Labels(parse_label_args(labels or []))
    except (VigilError, ValueError) as exc:
        fail(exc)
    receivers = ",".join(r.options.receiver for r in build_routes(alerting.route).match(label_set))
    typer.echo(receivers)
    if verify_receivers is not None and verify_receivers != receivers:
        typer.echo("WARNING: Expected receivers did not match resolved receivers.")
        raise typer.Exit(1)
