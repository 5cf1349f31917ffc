"""The ``vigil`` command. Thin: parse arguments, call :mod:`vigil.app`, report errors.

Each command group lives in its own module in this package and is registered below with
one ``cli.add_typer`` line. Group modules import their heavy dependencies inside the
commands, so ``vigil --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated

import typer

from vigil import __version__
from vigil.cli._common import FeaturesOption
from vigil.cli._common import fail as _fail
from vigil.cli.access import audit, tokens_cli, users_cli
from vigil.cli.alerts import alerts_cli
from vigil.cli.cluster import cluster_cli
from vigil.cli.dashboards import dashboards_app
from vigil.cli.dashboards_import import import_grafana as _import_grafana  # noqa: F401 (registers import-grafana on dashboards_app)
from vigil.cli.incident_response import checklist as _checklist  # noqa: F401 (registers checklist, task, update on incidents_app)
from vigil.cli.incident_review import postmortem as _postmortem  # noqa: F401 (registers postmortem, action-items, candidates on incidents_app)
from vigil.cli.incidents import incidents_app
from vigil.cli.objectives import objectives
from vigil.cli.oncall import oncall_cli
from vigil.cli.report import report
from vigil.cli.rules import rules_cli
from vigil.cli.shifts import shifts_app
from vigil.cli.silence import silence_cli
from vigil.cli.slo import slo_app
from vigil.cli.status_page import status_page_cli
from vigil.cli.tsdb import tsdb_cli
from vigil.errors import VigilError
from vigil.model.features import parse_features

cli = typer.Typer(help="Vigil: monitoring, alerting and incident response.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
check_cli = typer.Typer(help="Validate files without starting anything.", no_args_is_help=True)
cli.add_typer(check_cli, name="check")
cli.add_typer(alerts_cli, name="alerts")
cli.add_typer(cluster_cli, name="cluster")
cli.add_typer(dashboards_app, name="dashboards")
cli.add_typer(incidents_app, name="incidents")
cli.add_typer(oncall_cli, name="oncall")
cli.add_typer(rules_cli, name="rules")
cli.add_typer(shifts_app, name="shifts")
cli.add_typer(silence_cli, name="silence")
cli.add_typer(slo_app, name="slo")
cli.add_typer(status_page_cli, name="status-page")
cli.add_typer(tsdb_cli, name="tsdb")
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")
cli.command("audit")(audit)
cli.command("report")(report)
cli.command("objectives")(objectives)

ConfigOption = Annotated[str | None, typer.Option("--config", "-c", help="Configuration file (YAML). Without it, the embedded default.")]


@cli.command()
def up(
    config: ConfigOption = None,
    data_dir: Annotated[str | None, typer.Option(help="Data directory (overrides the config's data_dir).")] = None,
    listen: Annotated[str | None, typer.Option(help="host:port to serve on (overrides web.listen_address).")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    demo: Annotated[bool, typer.Option("--demo", help="Also run simulated sources (a web app, milk meters) with demo alerts, labelled demo=\"true\".")] = False,
    enable_feature: FeaturesOption = None,  # added to the config's enable_features
    web_config_file: Annotated[str | None, typer.Option("--web.config.file", help="Prometheus's web configuration file: TLS and basic auth users (overrides web.config_file).")] = None,
) -> None:
    """Start Vigil: collect, store, evaluate rules, notify, serve the UI and API."""
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from vigil.app import App, check, data_dir_of, web_config_of

    try:
        checked = check(config, parse_features(enable_feature or []))
        web_config = web_config_of(checked.config, web_config_file)
        app = App(checked, data_dir=data_dir_of(checked.config, data_dir), listen=listen,
                  config_file=config, demo=demo, web_config=web_config)
    except VigilError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(exc)
    asyncio.run(app.serve())


@check_cli.command("config")
def check_config(file: Annotated[str, typer.Argument(help="Configuration file to validate.")]) -> None:
    """Validate a configuration file and every rule file it names."""
    from vigil.app import check

    try:
        checked = check(file)
    except VigilError as exc:
        _fail(exc)
    rules = sum(len(g.rules) for g in checked.rule_groups)
    typer.echo(f"{file}: OK ({len(checked.config.scrape_configs)} scrape configs, "
               f"{len(checked.rule_groups)} rule groups, {rules} rules)")


@check_cli.command("web-config")
def check_web_config(file: Annotated[str, typer.Argument(help="Web configuration file to validate.")]) -> None:
    """Validate a web configuration file (TLS, basic auth users), as promtool check web-config."""
    from vigil.access.webconfig import load_web_config

    try:
        loaded = load_web_config(file)
    except VigilError as exc:
        _fail(exc)
    typer.echo(f"{file}: OK (TLS {'on' if loaded.tls else 'off'}, "
               f"{len(loaded.basic_auth_users)} basic auth users)")


@cli.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"vigil {__version__}")


def main() -> None:
    cli()
