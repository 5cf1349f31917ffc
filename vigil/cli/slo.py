"""``vigil slo``: SLO files in Sloth's ``prometheus/v1`` format, on files (no running Vigil).

``generate FILE [-o RULES.yml]`` writes the recording rules and multi-window multi-burn-rate
alerts Sloth writes for the same file; ``validate FILE...`` reports every problem as
``file:line:col: path: message`` and exits 1 when there is one (warnings — fields Sloth
ignores — are printed but do not fail).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vigil.cli._common import FeaturesOption, fail, usage_error

slo_app = typer.Typer(help="SLOs as code (Sloth prometheus/v1 files): generate rules, validate.",
                      no_args_is_help=True)


def _labels(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            usage_error(f"--extra-labels wants NAME=VALUE, not {pair!r}")
        out[name] = value
    return out


@slo_app.command("generate")
def generate(
    file: Annotated[str, typer.Argument(help="SLO file (prometheus/v1), one or more documents.")],
    output: Annotated[str | None, typer.Option("--output", "-o", help="Rule file to write (default: stdout).")] = None,
    period: Annotated[str, typer.Option("--default-slo-period", help="SLO period: 30d or 28d (Sloth's windows).")] = "30d",
    extra_labels: Annotated[list[str] | None, typer.Option("--extra-labels", "-l", help="NAME=VALUE added to every rule (repeatable).")] = None,
    disable_alerts: Annotated[bool, typer.Option("--disable-alerts", help="Only the recording rules.")] = False,
    disable_recordings: Annotated[bool, typer.Option("--disable-recordings", help="Only the alerts.")] = False,
    enable_feature: FeaturesOption = None,
) -> None:
    """Write the recording and alerting rules Sloth generates for FILE."""
    from vigil import __version__
    from vigil.errors import VigilError
    from vigil.model.features import parse_features
    from vigil.slo.generate import GenerateOptions, render_rules
    from vigil.slo.loader import load_slo_file
    from vigil.slo.windows import WINDOWS_BY_PERIOD

    if period not in WINDOWS_BY_PERIOD:
        usage_error(f"--default-slo-period must be one of {', '.join(WINDOWS_BY_PERIOD)}")
    opts = GenerateOptions(windows=WINDOWS_BY_PERIOD[period], extra_labels=_labels(extra_labels),
                           version=f"vigil-{__version__}", disable_alerts=disable_alerts,
                           disable_recordings=disable_recordings)
    try:
        text = render_rules(load_slo_file(file, features=parse_features(enable_feature or [])),
                            file, opts)
    except VigilError as exc:
        fail(exc)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")


@slo_app.command("validate")
def validate(
    files: Annotated[list[str], typer.Argument(help="SLO files to validate.")],
    enable_feature: FeaturesOption = None,
) -> None:
    """Validate SLO files: the spec, the PromQL of the SLI queries, SLO ids used twice.
    Errors read file:line:col: path: message; exit 1 when there is one."""
    from vigil.model.features import parse_features
    from vigil.slo.loader import check_slo_file

    features = parse_features(enable_feature or [])
    failed = False
    for f in files:
        result = check_slo_file(f, features=features)
        for warning in result.warnings:
            typer.echo(f"warning: {warning}", err=True)
        for problem in result.problems:
            typer.echo(str(problem), err=True)
        if result.problems:
            failed = True
        else:
            count = sum(len(s.slos) for s in result.specs)
            typer.echo(f"{f}: {count} SLO{'s' if count != 1 else ''} valid")
    if failed:
        raise typer.Exit(1)
