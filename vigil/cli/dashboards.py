"""``vigil dashboards``: Perses dashboards as code.

    vigil dashboards lint FILE...            offline: schema, PromQL, variables, layout
    vigil dashboards list [--url --token --json]

``lint`` reads YAML (``.yaml``/``.yml``, or ``-`` for stdin) and JSON (``.json``) files and
prints one ``file:path: message`` line per finding (``file:line: message`` for a file that is
not valid YAML/JSON), where ``path`` is the dotted place in the document, e.g.
``spec.panels.cpu.spec.queries[0].spec.plugin.spec.query``; ``--json`` prints
``{file: [{path, message, line}]}``. Exit status: 0 when every file is clean, 1 on any
finding (so CI can gate on it), 2 on bad usage (no file, a file that cannot be read).

``list`` asks a running Vigil (``--url``, else ``$VIGIL_URL``; ``--token``, else
``$VIGIL_TOKEN``) for its dashboards: name, title, source (folder or shipped) and file.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vigil.cli._common import api_call, echo_json, usage_error
from vigil.cli.silence import TokenOption, UrlOption

__all__ = ["dashboards_app", "lint", "list_dashboards"]

dashboards_app = typer.Typer(help="Dashboards as code (Perses): lint files, list a Vigil's dashboards.",
                             no_args_is_help=True)


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    try:
        with open(file, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        usage_error(f"{file}: cannot read: {exc.strerror}")
    except UnicodeDecodeError:
        usage_error(f"{file}: not UTF-8 text")


@dashboards_app.command("lint")
def lint(
    files: Annotated[list[str] | None, typer.Argument(metavar="FILE...", help="Dashboard files (YAML or JSON; - for stdin).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check dashboard files offline; exit 1 when anything is found."""
    from vigil.dashboards.lint import iter_messages, lint_text

    if not files:
        usage_error("give at least one dashboard file")
    texts = {file: _read(file) for file in files}  # unreadable files are usage errors, first
    report = {}
    for file, text in texts.items():
        _, errors = lint_text(text, file, json_only=file.endswith(".json"))
        report[file] = errors
    if as_json:
        echo_json({f: [e.as_dict() for e in errs] for f, errs in report.items()})
    else:
        for file, errors in report.items():
            for line in iter_messages(file, errors):
                typer.echo(line)
    if any(report.values()):
        raise typer.Exit(1)


@dashboards_app.command("list")
def list_dashboards(
    url: UrlOption = None, token: TokenOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")] = False,
) -> None:
    """The dashboards a running Vigil serves."""
    answer = api_call("GET", "/api/vigil/v1/dashboards", url, token).json()
    found = answer["data"]
    if as_json:
        echo_json(found)
        return
    for warning in answer.get("warnings") or ():
        typer.echo(f"warning: {warning}", err=True)
    if not found:
        typer.echo("no dashboards")
        return
    width = max(len(d["name"]) for d in found)
    for d in found:
        typer.echo(f"{d['name']:<{width}}  {d['source']:<7}  {d['title']}  ({d['file']})")
