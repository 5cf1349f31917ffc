"""A real Elasticsearch client against Vigil: elasticsearch-ruby 7.17 (Debian's
ruby-elasticsearch, what Fluentd's Elasticsearch output is built on) refuses to send until
``GET /`` proves it talks to Elasticsearch; then its ``_bulk`` lands in the log store."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.browser import serve_app
from tests.web.fakes import make_deps
from vigil.config.logs import LogsConfig
from vigil.logs.runtime import LogsRuntime
from vigil.web import create_app

SCRIPT = Path(__file__).parent / "clients" / "es_bulk.rb"


def test_elasticsearch_ruby_passes_its_product_check_and_bulk_indexes(tmp_path):
    ruby = shutil.which("ruby")
    assert ruby and Path("/usr/lib/ruby/vendor_ruby/elasticsearch.rb").exists(), \
        "scripts/test installs ruby-elasticsearch"
    runtime = LogsRuntime(LogsConfig(), store_path=str(tmp_path / "logs"),
                          state_dir=str(tmp_path / "tail"))
    try:
        with serve_app(lambda _: create_app(dataclasses.replace(make_deps(), logs=runtime))) as url:
            done = subprocess.run([ruby, str(SCRIPT), url, "sent by elasticsearch-ruby"],
                                  capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        response = json.loads(done.stdout)
        assert response["errors"] is False
        assert [item["index"]["status"] for item in response["items"]] == [201]
        now = time.time_ns()
        streams = runtime.engine.select_logs('{index="ruby-app"} |= "elasticsearch-ruby"',
                                             now - 600 * 1_000_000_000, now + 1)
        assert [line for s in streams for _, line in s.entries] == ["sent by elasticsearch-ruby"]
    finally:
        runtime.close()
