"""``vigil dashboards import-grafana``: a Grafana dashboard JSON file to a Perses dashboard.

Registered on the ``dashboards`` command group (:mod:`vigil.cli.dashboards`); works offline,
without a running Vigil. The conversion is :func:`vigil.dashboards.grafana.convert_grafana`.

Output: with ``-o OUT.yaml`` (``.json`` for JSON) the dashboard is written there and the summary
printed; without it the dashboard's YAML goes to stdout and the summary to stderr, so
``vigil dashboards import-grafana x.json > x.yaml`` works. ``--json`` prints the summary as
JSON instead (with the dashboard under ``dashboard`` when no ``-o`` is given).

Exit status: 0 when the dashboard was converted, placeholders included (they are visible in
the dashboard and listed in the summary); 1 when the file cannot be read or is not a Grafana
dashboard of schema 16+, when it has panels and none could be converted, or, with
``--strict``, when any panel became a placeholder (for CI gates); 2 on bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli._common import echo_json, fail
from vigil.cli.dashboards import dashboards_app

__all__ = ["import_grafana"]


@dashboards_app.command("import-grafana")
def import_grafana(
    file: Annotated[str, typer.Argument(help="Grafana dashboard JSON (an export, or Grafana's API answer); - for stdin.")],
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the Perses dashboard here (.yaml/.yml, or .json).")] = None,
    name: Annotated[str | None, typer.Option(help="metadata.name of the result (default: from the title).")] = None,
    project: Annotated[str | None, typer.Option(help="metadata.project of the result.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any panel became a placeholder.")] = False,
) -> None:
    """Convert a Grafana dashboard to a Perses dashboard and print what was converted."""
    import json
    import sys

    from vigil.dashboards.grafana import GrafanaImportError, convert_grafana
    from vigil.dashboards.model import parse_dashboard
    from vigil.dashboards.store import dashboard_yaml

    if output is not None and not output.endswith((".yaml", ".yml", ".json")):
        from vigil.cli._common import usage_error

        usage_error(f"--output {output}: name a .yaml, .yml or .json file")
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: {exc}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        fail(f"{file}: not JSON: {exc}")
    try:
        result = convert_grafana(data, name=name, project=project)
    except GrafanaImportError as exc:
        fail(f"{file}: {exc}")
    dashboard_text = (json.dumps(result.dashboard, indent=2) + "\n" if output and output.endswith(".json")
                      else dashboard_yaml(parse_dashboard(result.dashboard)))
    if output is not None:
        try:
            Path(output).write_text(dashboard_text, encoding="utf-8")
        except OSError as exc:
            fail(f"{output}: {exc}")
    summary = result.summary
    if as_json:
        echo_json(summary.to_json() | ({"file": output} if output else {"dashboard": result.dashboard}))
    elif output is not None:
        typer.echo(summary.text())
        typer.echo(f"wrote {output}")
    else:
        typer.echo(dashboard_text, nl=False)
        typer.echo(summary.text(), err=True)
    if summary.panels and not summary.converted:
        typer.echo(f"error: {file}: none of its {summary.panels} panels could be converted", err=True)
        raise typer.Exit(1)
    if strict and summary.placeholders:
        typer.echo(f"error: {file}: {len(summary.placeholders)} panel(s) became placeholders (--strict)", err=True)
        raise typer.Exit(1)
