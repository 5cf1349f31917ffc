"""The README's first command, run in a clean copy of the project, sets up Vigil and has it
answering PromQL for this machine's metrics (C1) and serving its own /metrics (C11)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.vigil_proc import eventually, wait_ready

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# node_modules and the bundle are left behind too: the first command installs them from the
# npm registry with the lockfile and builds the bundle.
SKIP = {".venv", "data", ".git", "test-artifacts", ".pytest_cache", ".ruff_cache", "__pycache__",
        "node_modules", "dist"}


def first_command() -> str:
    """The first fenced shell command in the README's "Quick start"."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    return [line for line in block.strip().splitlines() if not line.startswith("#")][0]


def test_readme_first_command_answers_host_metrics(tmp_path):
    clean = tmp_path / "vigil"
    shutil.copytree(ROOT, clean, ignore=lambda d, names: [n for n in names if n in SKIP or n.endswith(".egg-info")])
    port = free_port()
    command = f"{first_command()} --listen 127.0.0.1:{port}"
    log = tmp_path / "up.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(command, shell=True, cwd=clean, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "PIP_NO_INPUT": "1"})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, 600, proc, log)  # includes creating the venv and installing
        started = time.monotonic()

        def query(expr: str):
            resp = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
            return resp.json()["data"]["result"]

        for expr in ["node_memory_MemTotal_bytes", "rate(node_cpu_seconds_total[1m])",
                     'node_filesystem_avail_bytes{mountpoint="/"}', "node_network_receive_bytes_total",
                     "node_load1", "up{job=\"node\"} == 1"]:
            eventually(lambda e=expr: query(e), timeout=max(1.0, 60 - (time.monotonic() - started)),
                       what=f"host metric {expr}")
        assert "vigil_build_info" in httpx.get(f"{url}/metrics", timeout=10).text
        # A person sees this machine's figures on the overview page, not only through PromQL.
        overview = eventually(lambda: (lambda html: html if "CPU busy" in html and "Memory used" in html
                                       and "No host metrics" not in html else "")(
            httpx.get(f"{url}/overview", timeout=10).text), timeout=60, what="overview page")
        assert f'id="host-{socket.gethostname()}"' in overview
        assert (clean / "data").is_dir(), "everything lives under one data directory"
        # The front-end packages came from the npm registry and are served by Vigil.
        assert (clean / "node_modules" / "uplot" / "package.json").is_file()
        css = httpx.get(f"{url}/static/dist/uPlot.min.css", timeout=10)
        assert css.status_code == 200 and ".uplot" in css.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
