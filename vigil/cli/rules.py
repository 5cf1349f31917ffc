"""``vigil rules``: check rule files and run rule unit tests, as ``promtool check rules``
and ``promtool test rules`` do (same report shape, exit 0 on success and 1 otherwise)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from vigil.cli._common import FeaturesOption, fail, usage_error
from vigil.errors import VigilError
from vigil.storage import Storage

rules_cli = typer.Typer(help="Check rule files and run rule unit tests (R1, R2).",
                        no_args_is_help=True)


# The unit-test store holds one test group's series for seconds and is then thrown away:
# nothing is ever worth cutting into blocks (a group may span centuries: promtool's
# long-period.yml does, and a day per block as in Prometheus's teststorage cost a thousand
# block writes on close), no retention, no fsync.
_NEVER_CUT_MS = 2**62


@contextmanager
def temporary_tsdb() -> Iterator[Storage]:
    """An empty TSDB in a new temporary directory, closed and removed on exit: the store
    each rule unit-test group runs on, as promtool runs its groups on a real TSDB."""
    from vigil.tsdb import DB

    with tempfile.TemporaryDirectory(prefix="vigil-rules-test-") as path:
        with DB.open(path, wal_fsync="off", block_range_ms=_NEVER_CUT_MS,
                     retention_ms=_NEVER_CUT_MS, compact_interval_s=3600.0) as db:
            yield db


@rules_cli.command("check")
def check(
    files: Annotated[list[str], typer.Argument(help="Rule files to validate.")],
    ignore_unknown_fields: Annotated[bool, typer.Option(
        "--ignore-unknown-fields", help="Accept fields Prometheus does not know.")] = False,
    enable_feature: FeaturesOption = None,
    logql: Annotated[bool, typer.Option(
        "--logql", help="The files are Loki ruler files: their expressions are LogQL.")] = False,
) -> None:
    """Validate rule files: YAML shape, PromQL (LogQL with --logql), templates, names. Errors
    read file:line:col."""
    from vigil.model.features import parse_features
    from vigil.rules.rulefmt import load_rule_files

    features = parse_features(enable_feature or [])
    language: dict[str, Any] = {}
    if logql:
        from vigil.logs.rules import LOGQL, parse_rule_expr

        language = {"language": LOGQL, "parse": parse_rule_expr}
    failed = False
    for f in files:
        typer.echo(f"Checking {f}")
        try:
            groups = load_rule_files([f], ignore_unknown_fields=ignore_unknown_fields,
                                     features=features, **language)
        except (VigilError, OSError) as exc:
            typer.echo("  FAILED:", err=True)
            typer.echo(str(exc), err=True)
            failed = True
        else:
            n = sum(len(g.rules) for g in groups)
            typer.echo(f"  SUCCESS: {n} rules found")
        typer.echo("")
    if failed:
        raise typer.Exit(1)


@rules_cli.command("test")
def test(
    files: Annotated[list[str] | None, typer.Argument(help="Unit-test files (promtool format).")] = None,
    pack: Annotated[bool, typer.Option(
        "--pack", help="Also run the unit tests of the shipped rule pack.")] = False,
    run: Annotated[list[str] | None, typer.Option(
        "--run", help="Only run test groups whose name matches this regular expression "
                      "(repeatable).")] = None,
    ignore_unknown_fields: Annotated[bool, typer.Option(
        "--ignore-unknown-fields", help="Accept unknown fields in the rule files.")] = False,
    enable_feature: FeaturesOption = None,
    logql: Annotated[bool, typer.Option(
        "--logql", help="The files test Loki ruler files: lines per stream as input, "
                        "logql_expr_test for expressions (docs/logs.md).")] = False,
) -> None:
    """Run rule unit tests written in promtool's format against Vigil's engines. Exit 0 when
    all pass, 1 when a test fails or a file is bad, 2 on bad usage."""
    from vigil.model.features import parse_features
    from vigil.rules.pack import pack_test_files
    from vigil.rules.unittest import UnitTestOptions, run_test_files

    if logql:
        if pack or run:
            usage_error("--logql runs the named files only (no --pack or --run)")
        if not files:
            usage_error("no test files given")
        raise typer.Exit(_run_logql_tests(files))
    paths = [*(files or ()), *(pack_test_files() if pack else ())]
    if not paths:
        fail("no test files given (name some, or use --pack)")

    # A failing rule is reported in the test output; the engine's own warning would repeat it.
    logging.getLogger("vigil.rules").setLevel(logging.ERROR)
    code = run_test_files(paths, UnitTestOptions(run=tuple(run or ()),
                                                 ignore_unknown_fields=ignore_unknown_fields,
                                                 features=parse_features(enable_feature or [])),
                          storage=temporary_tsdb, out=typer.echo, err=lambda s: typer.echo(s, err=True))
    raise typer.Exit(code)


def _run_logql_tests(paths: list[str]) -> int:
    """promtool's report for LogQL unit-test files; 0 if all passed, else 1."""
    from vigil.cli._logql_rules_test import run_logql_test_file

    logging.getLogger("vigil.rules").setLevel(logging.ERROR)
    failed = False
    for path in paths:
        typer.echo(f"Unit Testing:  {path}")
        errors, warnings = run_logql_test_file(path, temporary_tsdb)
        for w in warnings:
            typer.echo(f"  WARNING: {w}", err=True)
        if errors:
            typer.echo("  FAILED:", err=True)
            for e in errors:
                typer.echo(e, err=True)
                typer.echo("")
            failed = True
        else:
            typer.echo("  SUCCESS")
        typer.echo("")
    return 1 if failed else 0
