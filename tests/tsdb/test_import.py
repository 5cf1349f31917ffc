"""Backfill (``vigil tsdb import``) and ``vigil tsdb stats``, through the CLI and the API."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vigil.cli import cli
from vigil.collect.exposition import OPENMETRICS_CONTENT_TYPE, parse
from vigil.errors import ParseError
from vigil.model import Labels, Matcher
from vigil.tsdb import DB
from vigil.tsdb.importer import import_openmetrics

H = 3600  # seconds
T0 = 1_700_000_000 // 7200 * 7200  # a block-range boundary, seconds


def parse_om(data):
    return parse(data, OPENMETRICS_CONTENT_TYPE).samples


def om(rows: list[tuple[str, float, float]]) -> str:
    lines = ["# TYPE temp gauge"] + [f"{s} {v} {t}" for s, v, t in rows] + ["# EOF", ""]
    return "\n".join(lines)


def read(db: DB, name: str) -> dict[Labels, list[tuple[int, float]]]:
    q = db.querier(-(2**62), 2**62)
    try:
        return {s.labels: list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
                for s in q.select([Matcher.equal("__name__", name)])}
    finally:
        q.close()


def test_import_into_blocks_then_head(tmp_path):
    # OpenMetrics wants each series' samples together and ascending; series in any order.
    rows = [(f'temp{{room="{r}"}}', float(i), T0 + i * 600) for r in "ba" for i in range(30)]
    db = DB.open(str(tmp_path / "tsdb"), wal_fsync="off")
    try:
        r = import_openmetrics(db, om(rows), parse_om, name="in.om")
        assert (r.series, r.samples, r.rejected) == (2, 60, 0)
        # 30 samples at 10 min span 5 h = windows 0,1 in blocks; the newest window -> head.
        assert len(r.blocks) == 2 and r.head_samples == 2 * 6
        got = read(db, "temp")
        assert got[Labels({"__name__": "temp", "room": "a"})] == [
            ((T0 + i * 600) * 1000, float(i)) for i in range(30)]
    finally:
        db.close()
    db = DB.open(str(tmp_path / "tsdb"), wal_fsync="off")  # survives a restart
    try:
        assert len(read(db, "temp")[Labels({"__name__": "temp", "room": "b"})]) == 30
    finally:
        db.close()


def test_old_data_goes_to_blocks_when_head_has_newer(tmp_path):
    db = DB.open(str(tmp_path / "tsdb"), wal_fsync="off")
    try:
        app = db.appender()
        app.append(Labels({"__name__": "temp", "room": "a"}), (T0 + 10 * H) * 1000, 99.0)
        app.commit()
        text = om([('temp{room="a"}', 1.0, T0), ('temp{room="a"}', 2.0, T0 + H)])
        r = import_openmetrics(db, text, parse_om)
        assert len(r.blocks) == 1 and r.head_samples == 0
        assert read(db, "temp")[Labels({"__name__": "temp", "room": "a"})] == [
            (T0 * 1000, 1.0), ((T0 + H) * 1000, 2.0), ((T0 + 10 * H) * 1000, 99.0)]
    finally:
        db.close()


@pytest.mark.parametrize(("text", "message"), [
    ("# TYPE temp gauge\ntemp 1 100\ntemp{a=b} 2 200\n# EOF\n", "x.om:3:"),
    ("# TYPE temp gauge\ntemp{a=\"1\"} 1 100\ntemp 2\n# EOF\n",
     'x.om:3: expected timestamp for series temp'),
    ("# TYPE temp gauge\ntemp 1 100\ntemp 2 100\n# EOF\n", "x.om:3: duplicate sample for timestamp"),
    ("# TYPE temp gauge\ntemp 1 100\n", "x.om:"),  # no # EOF
])
def test_bad_input_names_the_line_and_writes_nothing(tmp_path, text, message):
    db = DB.open(str(tmp_path / "tsdb"), wal_fsync="off")
    try:
        with pytest.raises(ParseError) as exc:
            import_openmetrics(db, text, parse_om, name="x.om")
        assert str(exc.value).startswith(message)
        assert read(db, "temp") == {} and db.stats()["blocks"] == 0
    finally:
        db.close()


def test_cli_import_and_stats(tmp_path):
    f = tmp_path / "in.om"
    rows = [(f'http_requests_total{{code="{c}",path="/{p}"}}', 1.0, T0 + 60)
            for c in (200, 500) for p in range(5)] + [("up", 1.0, T0 + 60)]
    f.write_text(om(rows).replace("# TYPE temp gauge\n", ""))
    runner = CliRunner()
    res = runner.invoke(cli, ["tsdb", "import", str(f), "--data-dir", str(tmp_path / "d")])
    # data dir must exist
    assert res.exit_code == 1 and "no such directory" in res.output
    (tmp_path / "d").mkdir()
    res = runner.invoke(cli, ["tsdb", "import", str(f), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "imported 11 samples of 11 series" in res.output
    res = runner.invoke(cli, ["tsdb", "stats", "--data-dir", str(tmp_path / "d"), "--json"])
    assert res.exit_code == 0, res.output
    st = json.loads(res.output)
    assert st["series"] == 11 and st["samples"] == 11
    assert st["top_metrics_by_series"][0] == ["http_requests_total", 10]
    assert ["path", 5] in st["top_labels_by_values"]
    res = runner.invoke(cli, ["tsdb", "stats", "--data-dir", str(tmp_path / "d")])
    assert "Highest cardinality metric names" in res.output and "http_requests_total" in res.output


def test_cli_import_keeps_data_older_than_the_default_retention(tmp_path):
    """A backfill of 30 days is the server's to keep or drop with its own retention; the
    import tool (which knows no config) must not delete it with the 15-day default."""
    day = 86400
    rows = [("temp", float(d), T0 + d * day) for d in range(31)]
    f = tmp_path / "month.om"
    f.write_text(om(rows))
    (tmp_path / "d").mkdir()
    res = CliRunner().invoke(cli, ["tsdb", "import", str(f), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    path = str(tmp_path / "d" / "tsdb")
    with DB.open(path, retention_ms=60 * day * 1000, compact_interval_s=3600) as db:
        assert len(read(db, "temp")[Labels.of(__name__="temp")]) == 31
    # A server configured with the default retention drops what is older than it.
    with DB.open(path, compact_interval_s=3600) as db:
        db.compact()
        kept = read(db, "temp")[Labels.of(__name__="temp")]
        assert 15 <= len(kept) <= 20 and kept[-1] == ((T0 + 30 * day) * 1000, 30.0)


def test_cli_reports_line_of_bad_input(tmp_path):
    f = tmp_path / "bad.om"
    f.write_text("up 1 100\nup{ 2 200\n# EOF\n")
    (tmp_path / "d").mkdir()
    res = CliRunner().invoke(cli, ["tsdb", "import", str(f), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 1
    assert f"error: {f}:2:" in res.output


def test_corrupt_block_is_named_and_other_blocks_untouched(tmp_path):
    (tmp_path / "d").mkdir()
    f = tmp_path / "in.om"
    f.write_text(om([("temp", float(i), T0 + i * 600) for i in range(30)]))
    runner = CliRunner()
    assert runner.invoke(cli, ["tsdb", "import", str(f), "--data-dir", str(tmp_path / "d")]).exit_code == 0
    blocks = sorted((tmp_path / "d" / "tsdb" / "blocks").iterdir())
    assert len(blocks) == 2
    before = {p: p.read_bytes() for p in blocks[1].iterdir()}
    index = blocks[0] / "index"
    data = bytearray(index.read_bytes())
    data[10:20] = b"garbage!!!"
    index.write_bytes(bytes(data))
    res = runner.invoke(cli, ["tsdb", "stats", "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 0  # the store opens without the bad block
    moved = tmp_path / "d" / "tsdb" / "corrupted" / blocks[0].name
    assert f"warning: {blocks[0]}: cannot load block" in res.output
    assert f"moved to {moved}" in res.output and moved.is_dir()
    assert "blocks:                   1" in res.output
    assert {p: p.read_bytes() for p in blocks[1].iterdir()} == before
