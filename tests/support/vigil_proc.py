"""Run ``vigil`` as a real subprocess, as a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import free_port


class VigilProcess:
    def __init__(self, config: Path | None, data_dir: Path, *, port: int | None = None,
                 log: Path | None = None) -> None:
        self.config = config
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or data_dir.parent / f"vigil-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> VigilProcess:
        args = [sys.executable, "-m", "vigil", "up", "--data-dir", str(self.data_dir),
                "--listen", f"127.0.0.1:{self.port}"]
        if self.config:
            args += ["--config", str(self.config)]
        self._logfile = open(self.log, "a")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(args, stdout=self._logfile, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wait_ready(self.url, timeout, self.proc, self.log)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc:
            stop_process(self.proc, sig)
            self._logfile.close()
        self.proc = None

    def query(self, expr: str) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        resp.raise_for_status()
        return resp.json()["data"]["result"]

    def get(self, path: str, **params: Any) -> Any:
        resp = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        resp.raise_for_status()
        return resp.json()["data"]


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Send a running ``proc`` ``sig`` and wait for it to end; killed after 30 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(url: str, timeout: float, proc: subprocess.Popen | None = None,
               log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            text = log.read_text() if log else ""
            raise AssertionError(f"vigil exited with {proc.returncode}:\n{text[-3000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"vigil at {url} not ready after {timeout}s")


def eventually(check, timeout: float = 30.0, interval: float = 0.25, what: str = "condition"):
    """Poll ``check()`` until it returns a truthy value; return it. Fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the server may be restarting
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s (last error: {last_exc!r})")
