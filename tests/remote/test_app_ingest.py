"""The ingest paths wired in a real ``vigil up``: remote write in, push endpoint, remote
write out to a real Prometheus 2.42 — one chain, end to end."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.prometheus import running_prometheus
from tests.support.vigil_proc import VigilProcess, eventually
from vigil.remote import compress, encode_write_request

pytestmark = pytest.mark.e2e


def test_remote_write_in_push_and_remote_write_out(tmp_path):
    (tmp_path / "prom").mkdir()
    with running_prometheus(tmp_path / "prom", extra_args=["--web.enable-remote-write-receiver"]) as prom:
        cfg = tmp_path / "vigil.yml"
        cfg.write_text(
            "global: {scrape_interval: 1s}\ndefault_rules: false\n"
            "collectors: {host: {enabled: false}}\n"
            f"remote_write:\n  - url: {prom.url}/api/v1/write\n"
            "    queue_config: {batch_send_deadline: 200ms}\n"
            "    write_relabel_configs:\n"
            "      - {source_labels: [__name__], regex: 'rw_in|last_success_timestamp_seconds',"
            " action: keep}\n")
        vigil = VigilProcess(cfg, tmp_path / "data").start()
        try:
            now = int(time.time() * 1000)
            r = httpx.post(f"{vigil.url}/api/v1/write", content=compress(encode_write_request(
                [([("__name__", "rw_in"), ("src", "test")], [now], [42.0])])),
                headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"})
            assert r.status_code == 204
            r = httpx.post(f"{vigil.url}/api/v1/write", content=b"not snappy")
            assert r.status_code == 400
            assert vigil.query("rw_in")[0]["value"][1] == "42"

            r = httpx.put(f"{vigil.url}/metrics/job/nightly/instance/db1",
                          content=b"last_success_timestamp_seconds 1.7e+09\n")
            assert r.status_code == 200
            got = eventually(lambda: vigil.query('last_success_timestamp_seconds{job="nightly"}'),
                             what="pushed metric scraped")
            assert got[0]["metric"]["instance"] == "db1" and got[0]["value"][1] == "1700000000"

            # Both reached Prometheus through the remote-write queue; nothing else did.
            eventually(lambda: prom.api("query", query="rw_in")["data"]["result"],
                       what="rw_in forwarded")
            eventually(lambda: prom.api("query", query="last_success_timestamp_seconds")
                       ["data"]["result"], what="pushed metric forwarded")
            assert prom.api("query", query="up")["data"]["result"] == []
        finally:
            vigil.stop()
        restarted = time.time()
        vigil = VigilProcess(cfg, tmp_path / "data").start()  # pushed groups survive a restart
        try:
            eventually(lambda: vigil.query(
                f'timestamp(push_time_seconds{{job="nightly"}}) > {restarted}'),
                what="pushed group scraped after the restart")
            assert httpx.delete(f"{vigil.url}/metrics/job/nightly/instance/db1").status_code == 202
            assert httpx.delete(f"{vigil.url}/metrics/job/nightly/instance/db1").status_code == 202
        finally:
            vigil.stop()
        assert (tmp_path / "data" / "pushgateway.json").read_text() == '{"groups": []}'
