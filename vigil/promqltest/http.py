"""The black-box runner: the scripts' data loaded with ``vigil tsdb import``, queried from a
``vigil up`` server through ``/api/v1/query`` and ``/api/v1/query_range``.

A *data state* is the loads since the last ``clear`` up to an eval; consecutive evals of one
state share one server. For each state: the float samples are written as OpenMetrics text
with timestamps (:func:`openmetrics_text`), imported into an empty data directory by the
real command, and a server is started on it with :func:`server_config` and every PromQL
``--enable-feature``. The evals are then checked exactly as in-process
(:func:`vigil.promqltest.cases.run_case`), with the same identities and outcome style;
cases that need what OpenMetrics cannot carry are unsupported
(:data:`vigil.promqltest.classify.HTTP_ONLY_REASONS`). States run ``jobs`` at a time.

Comparing errors: the API reports a query that does not parse as ``bad_data`` with
``invalid parameter "query": `` before the parser's message (as Prometheus's API does);
that prefix is removed before the message is compared with the script's.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from vigil.model.features import ALL_FEATURES
from vigil.model.labels import Labels
from vigil.promql.value import Matrix, RangeSeries, Sample, Scalar, String, Value, Vector
from vigil.promqltest.cases import QueryFailed, run_case
from vigil.promqltest.classify import DataState, openmetrics_writable, unsupported_reason
from vigil.promqltest.compare import Answer
from vigil.promqltest.report import FileReport
from vigil.promqltest.script import Clear, EvalCase, Load, parse_script
from vigil.storage.interface import is_stale

__all__ = ["HttpBackend", "Server", "State", "data_states", "escape_label_value",
           "openmetrics_sample", "openmetrics_text", "run_files", "run_state", "server_config"]

_PARSE_ERROR_PREFIX = 'invalid parameter "query": '
_READY_TIMEOUT_S = 60.0


@dataclass
class State:
    """One data state of a script and the evals that read it."""

    file: str
    data: DataState
    evals: list[EvalCase] = field(default_factory=list)


def data_states(path: str | Path) -> list[State]:
    """The data states of one script, in order; a state without evals is left out."""
    script = parse_script(path)
    states: list[State] = []
    current = State(script.name, DataState())
    for cmd in script.commands:
        if isinstance(cmd, Clear | Load):
            if current.evals:
                states.append(current)
                current = State(script.name, _copy(current.data))
            if isinstance(cmd, Clear):
                current.data = DataState()
            else:
                current.data.add(cmd)
        elif isinstance(cmd, EvalCase):
            current.evals.append(cmd)
    if current.evals:
        states.append(current)
    return states


def _copy(data: DataState) -> DataState:
    return DataState({lb: dict(pts) for lb, pts in data.floats.items()},
                     set(data.histogram_series), set(data.start_timestamp_series))


def openmetrics_text(data: DataState) -> str:
    """The state's float samples as OpenMetrics text, every sample with its timestamp.
    Left out, because OpenMetrics 1.0 cannot say them: staleness markers, and series without
    a metric name or with names outside its character sets (cases reading those are
    unsupported over HTTP)."""
    lines = []
    for lb in sorted(data.floats, key=lambda lb: (lb.get("__name__") or "", str(lb))):
        if not openmetrics_writable(lb):
            continue
        rest = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in lb if k != "__name__")
        series = f"{lb.get('__name__')}{{{rest}}}"
        for ts in sorted(data.floats[lb]):
            v = data.floats[lb][ts]
            if is_stale(v):
                continue
            lines.append(openmetrics_sample(series, v, ts))
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def escape_label_value(v: str) -> str:
    """``v`` as a quoted label value in OpenMetrics text holds it: backslash, double quote and
    newline escaped."""
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics_sample(series: str, value: float, ts_ms: int) -> str:
    """One OpenMetrics sample line, without its newline: ``series value seconds.millis``."""
    return f"{series} {_float(value)} {ts_ms // 1000}.{ts_ms % 1000:03d}"


def _float(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def server_config(data_dir: str) -> str:
    """The smallest configuration for a query server over imported 1970 data: no host
    collector, no rule pack, no scrape configs, and a retention that keeps the data (it
    counts back from the newest sample, and the server's own metrics are stamped now)."""
    return json.dumps({
        "data_dir": data_dir,
        "storage": {"tsdb": {"retention_time": "200y"}},
        "collectors": {"host": {"enabled": False}},
        "scrape_configs": [],
        "default_rules": False,
    })


class HttpBackend:
    """Queries answered by a server's HTTP API."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def instant(self, query: str, ts_ms: int) -> Answer:
        return self._ask("/api/v1/query", {"query": query, "time": _seconds(ts_ms)})

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> Answer:
        return self._ask("/api/v1/query_range", {
            "query": query, "start": _seconds(start_ms), "end": _seconds(end_ms),
            "step": _seconds(step_ms)})

    def _ask(self, path: str, form: dict[str, str]) -> Answer:
        r = self.client.post(path, data=form)
        try:
            body = r.json()
        except ValueError:
            raise QueryFailed(f"HTTP {r.status_code} with a body that is not JSON: "
                              f"{r.text[:200]!r}") from None
        if body.get("status") != "success":
            if r.status_code >= 500 and body.get("errorType") not in ("execution", "timeout"):
                raise QueryFailed(f"HTTP {r.status_code}: {body}")
            msg = str(body.get("error", ""))
            if body.get("errorType") == "bad_data":
                msg = msg.removeprefix(_PARSE_ERROR_PREFIX)
            raise QueryFailed(msg)
        return Answer(_value(body["data"]), tuple(body.get("warnings", ())),
                      tuple(body.get("infos", ())))


def _seconds(ms: int) -> str:
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    return f"{sign}{ms // 1000}.{ms % 1000:03d}"


def _ms(t: float) -> int:
    return round(float(t) * 1000)


def _value(data: dict) -> Value:
    kind, result = data["resultType"], data["result"]
    if kind == "scalar":
        return Scalar(_ms(result[0]), float(result[1]))
    if kind == "string":
        return String(_ms(result[0]), result[1])
    if kind == "vector":
        return Vector([Sample(Labels(s["metric"]), _ms(s["value"][0]), float(s["value"][1]))
                       for s in result if "value" in s])
    series = []
    for s in result:
        pts = s.get("values", [])
        series.append(RangeSeries(Labels(s["metric"]),
                                  np.array([_ms(p[0]) for p in pts], dtype=np.int64),
                                  np.array([float(p[1]) for p in pts], dtype=np.float64)))
    return Matrix(series)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``vigil up`` on one imported data directory. :meth:`start` returns a client once the
    server is ready; :meth:`stop` asks it to stop and returns at once (a thread waits for
    the exit, then removes ``root``): the next state need not wait for the shutdown."""

    def __init__(self, root: str, data_dir: str) -> None:
        self.root = root
        self.data_dir = data_dir
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = os.path.join(root, "server.log")

    def start(self) -> httpx.Client:
        config = os.path.join(self.root, "vigil.yml")
        Path(config).write_text(server_config(self.data_dir))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vigil", "up", "--config", config, "--listen",
                 f"127.0.0.1:{self.port}", "--log-level", "warning",
                 "--enable-feature", ",".join(sorted(ALL_FEATURES))],
                stdout=log, stderr=subprocess.STDOUT)
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=120.0)
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vigil up exited: {Path(self.log_path).read_text()[-2000:]}")
            try:
                if client.get("/-/ready").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("vigil up did not become ready")
            time.sleep(0.05)

    def stop(self) -> threading.Thread:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

        def reap() -> None:
            if proc is not None:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            shutil.rmtree(self.root, ignore_errors=True)

        thread = threading.Thread(target=reap, name=f"reap-{self.port}")
        thread.start()
        return thread


def run_state(state: State, stopping: list[threading.Thread]) -> FileReport:
    """Import one data state, start a server on it and check its evals; the thread that
    waits for the server's exit is appended to ``stopping``."""
    report = FileReport(state.file)
    runnable = []
    for case in state.evals:
        reason = unsupported_reason(case, state.data, http=True)
        if reason is None:
            runnable.append(case)
        else:
            report.unsupported(case.identity, reason)
    if not runnable:
        return report
    root = tempfile.mkdtemp(prefix="promqltest-http-")
    data_file = os.path.join(root, "data.om")
    Path(data_file).write_text(openmetrics_text(state.data))
    data_dir = os.path.join(root, "data")
    os.mkdir(data_dir)
    if any(openmetrics_writable(lb) for lb in state.data.floats):
        done = subprocess.run([sys.executable, "-m", "vigil", "tsdb", "import", data_file,
                               "--data-dir", data_dir], capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            for case in runnable:
                report.failed(case.identity, case.expr,
                              f"vigil tsdb import failed: {done.stderr.strip()[-500:]}")
            return report
    server = Server(root, data_dir)
    try:
        try:
            client = server.start()
        except RuntimeError as e:
            for case in runnable:
                report.failed(case.identity, case.expr, str(e))
            return report
        try:
            backend = HttpBackend(client)
            for case in runnable:
                try:
                    err = run_case(backend, case)
                except Exception as e:  # noqa: BLE001 - one failed case, not a failed run
                    err = f"crash: {type(e).__name__}: {e}"
                if err is None:
                    report.passed(case.identity)
                else:
                    report.failed(case.identity, case.expr, err)
        finally:
            client.close()
    finally:
        stopping.append(server.stop())
    return report


def run_files(paths: list[str] | list[Path], *, jobs: int = 2) -> list[FileReport]:
    """Run every data state of the given scripts, ``jobs`` servers at a time; one report
    per file, outcomes in script order."""
    states = [s for p in paths for s in data_states(p)]
    stopping: list[threading.Thread] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            parts = list(pool.map(lambda st: run_state(st, stopping), states))
    finally:
        for thread in stopping:
            thread.join()
    reports: dict[str, FileReport] = {Path(p).name: FileReport(Path(p).name) for p in paths}
    for part in parts:
        rep = reports[part.name]
        rep.outcomes.update(part.outcomes)
        rep.failures.update(part.failures)
    for rep in reports.values():
        rep.outcomes = dict(sorted(rep.outcomes.items(), key=lambda kv: _line(kv[0])))
    return list(reports.values())


def _line(identity: str) -> int:
    return int(identity.rpartition(":")[2])
