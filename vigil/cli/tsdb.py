"""``vigil tsdb``: backfill and inspect the embedded TSDB, as ``promtool tsdb
create-blocks-from openmetrics`` and ``promtool tsdb analyze`` do. Both open the data
directory exclusively: stop a running Vigil first (or point them at a copy)."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from vigil.cli._common import fail
from vigil.errors import VigilError

tsdb_cli = typer.Typer(help="Backfill and inspect the TSDB.", no_args_is_help=True)

DataDirOption = Annotated[str, typer.Option("--data-dir", help="Vigil data directory (the TSDB is its tsdb/ subdirectory).")]


def _open(data_dir: str):
    from vigil.tsdb import DB

    path = os.path.join(data_dir, "tsdb")
    if not os.path.isdir(data_dir):
        fail(f"{data_dir}: no such directory")
    # Retention is the server's to apply, with its configured limits: a backfill of data
    # older than the default 15 days must not be deleted by the tool that loaded it.
    return DB.open(path, compact_interval_s=3600.0, apply_retention=False)


@tsdb_cli.command("import")
def import_(
    file: Annotated[str, typer.Argument(help="OpenMetrics text file with timestamps, ending in # EOF.")],
    data_dir: DataDirOption,
) -> None:
    """Load OpenMetrics text into blocks (older data) or the head. Errors read file:line."""
    from vigil.collect.exposition import OPENMETRICS_CONTENT_TYPE, parse
    from vigil.tsdb.importer import import_openmetrics

    try:
        with open(file, "rb") as f:
            data = f.read()
    except OSError as e:
        fail(f"{file}: {e.strerror}")
    try:
        db = _open(data_dir)
        try:
            r = import_openmetrics(db, data, lambda d: parse(d, OPENMETRICS_CONTENT_TYPE).samples,
                                   name=file)
        finally:
            db.close()
    except VigilError as e:
        fail(e)
    typer.echo(f"{file}: imported {r.samples} samples of {r.series} series "
               f"({r.min_time_ms}..{r.max_time_ms} ms) into {len(r.blocks)} blocks and the head "
               f"({r.head_samples} samples, {r.rejected} refused as out of order)")


@tsdb_cli.command("stats")
def stats(
    data_dir: DataDirOption,
    top: Annotated[int, typer.Option(help="How many entries in each top list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Series, samples, blocks, bytes per sample, top cardinality by metric and by label."""
    from vigil.tsdb.stats import summary

    try:
        db = _open(data_dir)
        try:
            st = summary(db, top)
            problems = list(db.corrupted_blocks)
        finally:
            db.close()
    except VigilError as e:
        fail(e)
    for problem in problems:
        typer.echo(f"warning: {problem}", err=True)
    if as_json:
        typer.echo(json.dumps(st, indent=2))
        return
    for key in ("series", "samples", "head_series", "head_samples", "blocks", "block_samples",
                "block_bytes", "block_bytes_per_sample", "wal_bytes"):
        typer.echo(f"{key + ':':26}{st[key]}")
    for key, title in (("top_metrics_by_series", "Highest cardinality metric names"),
                       ("top_labels_by_series", "Label names in most series"),
                       ("top_labels_by_values", "Label names with most values")):
        typer.echo(f"\n{title}:")
        for name, n in st[key]:
            typer.echo(f"{n:>10} {name}")
