"""The push endpoint: groups over HTTP, persisted, scraped by the real manager into the TSDB."""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.testclient import TestClient

from tests.remote.conftest import read_all
from tests.web.fakes import make_deps
from vigil.collect.manager import Manager
from vigil.collect.pushgateway import PushGateway
from vigil.config import Config
from vigil.errors import ParseError
from vigil.model import Labels, Matcher
from vigil.selfmetrics import SelfMetrics
from vigil.storage import is_stale
from vigil.web import create_app
from vigil.web.api_ingest import parse_grouping

BATCH = b"# TYPE last_success_timestamp_seconds gauge\nlast_success_timestamp_seconds 1700000000\n"


@pytest.fixture
def gw(tmp_path) -> PushGateway:
    return PushGateway(str(tmp_path / "pushgateway.json"), now=lambda: 1_700_000_123.5)


def test_put_post_delete_over_http_and_restart(gw, tmp_path):
    deps = make_deps()
    deps.pushgateway = gw
    with TestClient(create_app(deps)) as c:
        assert c.put("/metrics/job/backup/instance/db1", content=BATCH).status_code == 200
        assert c.post("/metrics/job/backup/instance/db1",
                      content=b"records_total 5\n").status_code == 200
        r = c.put("/metrics/job/backup", content=b"bad{ line\n")
        assert r.status_code == 400 and "line 1" in r.text
        assert c.put("/metrics/job/x/odd", content=b"a 1\n").status_code == 400
        assert c.put("/metrics/job/x", content=b"a 1 1234\n").status_code == 400  # timestamp
    text = gw.collect()
    assert 'last_success_timestamp_seconds{instance="db1", job="backup"} 1700000000.0' in text
    assert 'records_total{instance="db1", job="backup"} 5.0' in text
    assert 'push_time_seconds{instance="db1", job="backup"} 1700000123.5' in text
    assert "# TYPE last_success_timestamp_seconds gauge" in text
    # PUT replaces the whole group; POST only the families it names.
    gw.push({"job": "backup", "instance": "db1"}, b"records_total 6\n", None, replace=True)
    assert "last_success" not in gw.collect() and "} 6.0" in gw.collect()
    # A restart keeps the groups.
    again = PushGateway(gw.path)
    assert again.collect() == gw.collect()
    with TestClient(create_app(deps)) as c:
        assert c.delete("/metrics/job/backup/instance/db1").status_code == 202
    assert gw.collect() == ""
    assert PushGateway(gw.path).collect() == ""


def test_bad_push_leaves_group_unchanged(gw):
    gw.push({"job": "j"}, b"a 1\n", None, replace=True)
    before = gw.collect()
    with pytest.raises(ParseError):
        gw.push({"job": "j"}, b"a 1\nb{ 2\n", None, replace=True)
    assert gw.collect() == before


def test_grouping_paths():
    assert parse_grouping("job/batch/instance/a") == {"job": "batch", "instance": "a"}
    assert parse_grouping("job@base64/YS9i") == {"job": "a/b"}
    for bad in ("job/x/odd", "job/x/__name__/y", "job/x/a-b/1", "job/"):
        with pytest.raises(ValueError):
            parse_grouping(bad)


def test_pushed_metric_is_scraped_with_its_job_label_and_deleted(gw, db):
    gw.push({"job": "nightly-backup"}, BATCH, None, replace=True)
    config = Config.model_validate({"global": {"scrape_interval": "100ms"}})
    name = Matcher.equal("__name__", "last_success_timestamp_seconds")

    want = Labels({"__name__": "last_success_timestamp_seconds", "job": "nightly-backup",
                   "instance": "localhost:9494"})

    async def wait(cond) -> None:
        deadline = time.monotonic() + 10
        while not cond() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def main() -> None:
        mgr = Manager(config, db, SelfMetrics(), local_targets=[gw.target("localhost:9494", 0.1)])
        await mgr.start()
        try:
            await wait(lambda: bool(read_all(db, name)))
            got = read_all(db, name)
            assert list(got) == [want] and got[want][0][1] == 1.7e9
            assert read_all(db, Matcher.equal("__name__", "push_time_seconds"))
            gw.delete({"job": "nightly-backup"})
            # The next scrape no longer has the series: it is marked stale.
            await wait(lambda: is_stale(read_all(db, name)[want][-1][1]))
        finally:
            await mgr.stop()

    asyncio.run(main())
    assert is_stale(read_all(db, name)[want][-1][1])
