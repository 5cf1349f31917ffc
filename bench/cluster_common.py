"""Shared harness for the cluster benchmarks (``bench/cluster_*.py``, issue 15).

Real parts only: a throw-away PostgreSQL (started with the exporter tests' helpers), ``vigil
up`` replicas on it, a 2-node Alertmanager 0.25 cluster gossiping on loopback, and a webhook
receiver that counts notifications per group. Results are printed as a Markdown table and
written as JSON under ``test-artifacts/bench/``.

``VIGIL_BENCH_SRC=<dir>`` runs the Vigil processes from another checkout of the source (e.g.
``git archive <commit> | tar -x -C <dir>``), for before/after figures while the working tree
changes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.collect.exporters.conftest import (  # noqa: E402
    PG_PASSWORD,
    PostgresServer,
    _pg_bin,
    _Runner,
    _stop,
    _wait_ready,
)
from tests.support.ports import free_port  # noqa: E402
from tests.support.vigil_proc import eventually  # noqa: E402

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
NOTIFICATION_ID_HEADER = "X-Vigil-Notification-Id"  # vigil.alerting.notify.integration
RESULTS_DIR = ROOT / "test-artifacts" / "bench"
VIGIL_SRC = Path(os.environ.get("VIGIL_BENCH_SRC", ROOT)).resolve()


def route_yaml(url: str, *, group_wait: float, group_interval: str = "1h",
               repeat_interval: str = "4h") -> str:
    """The one Alertmanager configuration both systems load: one webhook receiver, grouped by
    alertname, so every distinct alertname is one group and should be one notification."""
    return textwrap.dedent(f"""\
        route:
          receiver: hook
          group_by: [alertname]
          group_wait: {int(group_wait * 1000)}ms
          group_interval: {group_interval}
          repeat_interval: {repeat_interval}
        receivers:
          - name: hook
            webhook_configs: [{{url: "{url}", send_resolved: false}}]
    """)


# --- a counting webhook receiver ---------------------------------------------------------

class CountingReceiver:
    """Counts notifications per group (its ``alertname`` group label) with arrival times.

    ``delay_s`` makes each answer that slow, so that a kill can land mid-delivery."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.counts: Counter[str] = Counter()
        self.arrivals: dict[str, list[float]] = {}
        # Repeats carrying a notification id already seen for the group (Vigil's
        # X-Vigil-Notification-Id): a receiver can drop them. Alertmanager sends no id.
        self.same_id_repeats: Counter[str] = Counter()
        self._ids: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                except ValueError:  # cut off by a sender killed mid-request: not received
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                group = body.get("groupLabels", {}).get("alertname", "?")
                notification_id = self.headers.get(NOTIFICATION_ID_HEADER)
                with receiver._lock:  # counted on arrival: a sender killed now still sent it
                    receiver.counts[group] += 1
                    receiver.arrivals.setdefault(group, []).append(time.monotonic())
                    if notification_id:
                        seen = receiver._ids.setdefault(group, set())
                        if notification_id in seen:
                            receiver.same_id_repeats[group] += 1
                        seen.add(notification_id)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # http.server's default backlog of 5 drops connection attempts when a sender
            # delivers many notifications at once; they are retried after 1 s, 3 s ...
            request_queue_size = 1024

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def first_arrival(self, group: str) -> float | None:
        with self._lock:
            times = self.arrivals.get(group)
            return times[0] if times else None

    def wait_quiet(self, quiet_s: float, timeout: float) -> None:
        """Return once no notification arrived for ``quiet_s`` (or after ``timeout``)."""
        deadline = time.monotonic() + timeout
        last, last_change = self.total(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.total()
            if now != last:
                last, last_change = now, time.monotonic()
            elif time.monotonic() - last_change >= quiet_s:
                return

    def tally(self, groups: Sequence[str]) -> dict[str, int]:
        """Distinct groups notified, duplicate notifications (and how many of them repeated a
        notification id already received), and groups never notified."""
        with self._lock:
            counts = [self.counts.get(g, 0) for g in groups]
            same_id = sum(self.same_id_repeats.get(g, 0) for g in groups)
        return {"groups": len(groups), "notified": sum(1 for c in counts if c),
                "duplicates": sum(c - 1 for c in counts if c > 1), "same_id_repeats": same_id,
                "lost": sum(1 for c in counts if c == 0)}


# --- server processes --------------------------------------------------------------------

@dataclass
class Node:
    """One server process (a Vigil replica or an Alertmanager) on loopback."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    restart: Callable[[], Node] | None = field(default=None, repr=False)
    killed: bool = False

    def kill(self) -> None:
        """``kill -9``: no shutdown, no draining, no goodbye to the peers."""
        self.killed = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        died = self.proc.poll() is not None and not self.killed
        text = self.log.read_text(errors="replace")
        if died or any(mark in text for mark in ("Traceback", "level=warn", "level=error")):
            # Keep the log of a failure: the work dir is removed at the end.
            kept = RESULTS_DIR / "logs" / f"{self.name}-{time.strftime('%H%M%S')}.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.log, kept)
            how = f"exited by itself ({self.proc.returncode})" if died else "logged errors"
            print(f"NOTE: {self.name} {how}; log: {kept}")
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.proc.pid)


def process_cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU of a process from /proc (plus its reaped children's if asked)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _wait_http_ok(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s; log: {log}")


def start_vigil(work: Path, name: str, *, am_yaml: str, state_url: str | None = None,
                cluster: dict[str, Any] | None = None, port: int | None = None) -> Node:
    """``vigil up`` with its own data dir under ``work``; state on ``state_url`` (SQLite when
    None). ``cluster`` is written as the ``cluster:`` section (its name is always set)."""
    home = work / name
    home.mkdir(parents=True, exist_ok=True)
    (home / "am.yml").write_text(am_yaml)
    config: dict[str, Any] = {
        "default_rules": False, "collectors": {"host": {"enabled": False}},
        "alerting": {"alertmanager_config": "am.yml"},
        "cluster": {"name": name, **(cluster or {})},
    }
    if state_url:
        config["storage"] = {"state": {"url": state_url}}
    (home / "vigil.yml").write_text(json.dumps(config))  # JSON is YAML
    port = port or free_port()
    log = home / "vigil.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "up", "--config", str(home / "vigil.yml"),
             "--data-dir", str(home / "data"), "--listen", f"127.0.0.1:{port}",
             "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, cwd=VIGIL_SRC,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(VIGIL_SRC)})
    url = f"http://127.0.0.1:{port}"
    _wait_http_ok(f"{url}/-/ready", proc, log)
    node = Node(name, url, proc, log)
    node.restart = lambda: start_vigil(work, name, am_yaml=am_yaml, state_url=state_url,
                                       cluster=cluster, port=port)
    return node


def start_alertmanagers(work: Path, count: int, am_yaml: str) -> list[Node]:
    """``count`` Alertmanager 0.25 processes forming one gossip cluster on loopback; returns
    once every node reports the cluster ``ready`` with all peers (gossip settled)."""
    web = [free_port() for _ in range(count)]
    gossip = [free_port() for _ in range(count)]
    nodes = []
    for i in range(count):
        nodes.append(_start_alertmanager(work, f"am-{i}", am_yaml, web[i], gossip[i],
                                         [g for j, g in enumerate(gossip) if j != i]))
    for node in nodes:
        eventually(lambda n=node: _am_cluster(n)["status"] == "ready"
                   and len(_am_cluster(n)["peers"]) == count,
                   timeout=90, interval=0.5, what=f"{node.name} gossip settled")
    return nodes


def _start_alertmanager(work: Path, name: str, am_yaml: str, port: int, gossip_port: int,
                        peers: list[int]) -> Node:
    home = work / name
    home.mkdir(parents=True, exist_ok=True)
    (home / "am.yml").write_text(am_yaml)
    log = home / "alertmanager.log"
    args = [ALERTMANAGER, f"--config.file={home / 'am.yml'}", f"--storage.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--cluster.listen-address=127.0.0.1:{gossip_port}",
            f"--cluster.advertise-address=127.0.0.1:{gossip_port}", "--log.level=warn"]
    args += [f"--cluster.peer=127.0.0.1:{p}" for p in peers]
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait_http_ok(f"{url}/-/ready", proc, log)
    node = Node(name, url, proc, log)
    node.restart = lambda: _start_alertmanager(work, name, am_yaml, port, gossip_port, peers)
    return node


def _am_cluster(node: Node) -> dict[str, Any]:
    return httpx.get(f"{node.url}/api/v2/status", timeout=5).json()["cluster"]


def alertmanager_first_sender(nodes: list[Node]) -> Node:
    """The node at position 0 (peers sorted by name): it notifies at once, the others wait
    ``--cluster.peer-timeout`` per position and send only what the first did not log."""
    names = sorted(p["name"] for p in _am_cluster(nodes[0])["peers"])
    return next(n for n in nodes if _am_cluster(n)["name"] == names[0])


def vigil_primary(nodes: list[Node]) -> tuple[Node, bool]:
    """The replica ``/api/vigil/v1/cluster`` names primary, and whether the API answered
    (before the cluster API exists every replica is equal: the first is returned)."""
    for node in nodes:
        role = vigil_role(node)
        if role == "primary":
            return node, True
        if role is None:
            return nodes[0], False
    return nodes[0], True


def vigil_role(node: Node) -> str | None:
    """This replica's role from its own cluster API; None when there is no such API."""
    try:
        resp = httpx.get(f"{node.url}/api/vigil/v1/cluster", timeout=2)
    except httpx.HTTPError:
        return "unreachable"
    if resp.status_code == 404:
        return None
    members = resp.json()["data"]["members"]
    return next((str(m["role"]) for m in members if m.get("self")), "unknown")


def stop_all(nodes: Sequence[Node]) -> None:
    for node in nodes:
        node.stop()


# --- PostgreSQL --------------------------------------------------------------------------

class Postgres:
    """A PostgreSQL primary in a temp dir (as the tests start it: fsync off, loopback)."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="vigil-bench-pg-"))
        self.runner = _Runner(self.base)
        self.server: PostgresServer | None = None

    def __enter__(self) -> Postgres:
        data, pwfile = self.base / "data", self.base / "pwfile"
        pwfile.write_text(PG_PASSWORD + "\n")
        if self.runner.user:
            shutil.chown(pwfile, self.runner.user, self.runner.user)
        self.runner.run(_pg_bin() / "initdb", "-D", data, "-U", "vigil", f"--pwfile={pwfile}",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                        "--no-sync")
        port, log = free_port(), self.base / "postgres.log"
        self.server = PostgresServer(port, data, self.runner.start(data, port, log))
        _wait_ready(self.server, log)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server:
            _stop(self.server.process)
        shutil.rmtree(self.base, ignore_errors=True)

    def stop(self) -> None:
        """A fast shutdown (as ``pg_ctl stop -m fast``): sessions are cut."""
        assert self.server
        _stop(self.server.process)

    def start(self) -> None:
        """Start it again on the same port and data (after :meth:`stop`)."""
        assert self.server
        log = self.base / "postgres.log"
        self.server.process = self.runner.start(self.server.data_dir, self.server.port, log)
        _wait_ready(self.server, log)

    def database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        assert self.server
        with self.server.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return (f"postgresql+psycopg://vigil:{PG_PASSWORD}@127.0.0.1:{self.server.port}/{name}")

    def connections(self, database: str) -> int:
        """Backends connected to ``database`` now (the replicas' pools)."""
        assert self.server
        with self.server.connect() as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                               (database,)).fetchone()
        return int(row[0]) if row else 0

    def cpu_seconds(self) -> float:
        """The postmaster's and all its backends' CPU (live and exited)."""
        assert self.server
        pid = self.server.process.pid
        total = process_cpu_seconds(pid, children=True)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    total += process_cpu_seconds(int(stat.parent.name), children=True)
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass  # a backend that just exited
        return total


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- load and results --------------------------------------------------------------------

def post_to_all(urls: Sequence[str], alerts: list[dict[str, Any]], *, clients: int = 4,
                batch: int = 64) -> tuple[float, int]:
    """POST ``alerts`` in batches of ``batch`` to every URL, as a Prometheus HA pair sends
    each alert to every Alertmanager; ``clients`` threads. Returns the seconds it took and
    how many POSTs were refused (not 2xx, or no answer; Prometheus logs and drops such a
    batch)."""
    work = [(url, alerts[i:i + batch]) for i in range(0, len(alerts), batch) for url in urls]
    chunks = [work[i::clients] for i in range(clients)]

    def send(chunk: list[tuple[str, list[dict[str, Any]]]]) -> int:
        failed = 0
        with httpx.Client(timeout=60) as client:
            for url, body in chunk:
                try:
                    if not client.post(f"{url}/api/v2/alerts", json=body).is_success:
                        failed += 1
                except httpx.HTTPError:  # the node died (the old code could crash under load)
                    failed += 1
        return failed

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        failed = sum(pool.map(send, chunks))
    return time.perf_counter() - started, failed


def alert(group: str, instance: str = "i0", **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": group, "instance": instance, **labels},
            "annotations": {"summary": f"{group} on {instance}"}}


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
    for row in rows:
        print("| " + " | ".join(_cell(v) for v in row) + " |")


def duplicates_cell(result: dict[str, Any]) -> str:
    """"3" or "3 (2 same id)": repeats of an id already received can be dropped by the
    receiver; the others are distinct sends."""
    same = result.get("same_id_repeats", 0)
    return f"{result['duplicates']} ({same} same id)" if same else str(result["duplicates"])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_results(bench: str, args: Any, results: Any) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = "" if VIGIL_SRC == ROOT.resolve() else f"-{VIGIL_SRC.name}"
    path = RESULTS_DIR / f"{bench}{suffix}.json"
    path.write_text(json.dumps({"bench": bench, "args": vars(args), "argv": sys.argv,
                                "vigil_src": str(VIGIL_SRC),
                                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "results": results}, indent=2))
    print(f"\nJSON: {path}  (Vigil from {VIGIL_SRC})")
    return path
