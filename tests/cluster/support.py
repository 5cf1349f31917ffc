"""Real parts for the replica tests: a PostgreSQL the test may stop and start, a webhook
receiver that counts deliveries by notification id (and can answer slowly, so a sender can
be killed mid-delivery), and a pair of real ``vigil up`` processes on one state database."""

from __future__ import annotations

import json
import signal
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.collect.exporters.conftest import (
    PG_PASSWORD,
    PostgresServer,
    _pg_bin,
    _Runner,
    _stop,
    _wait_ready,
    free_port,
)
from tests.support.vigil_proc import VigilProcess, eventually

NOTIFICATION_ID = "X-Vigil-Notification-Id"
HEARTBEAT, MEMBER_TIMEOUT = "500ms", "2s"


@dataclass
class Delivery:
    notification_id: str
    group: str  # the alertname the route groups by
    body: dict[str, Any]
    arrived_at: float  # monotonic
    sender_port: int  # the client side of the connection (see process_with_port)
    answered: bool = False  # the receiver's 200 was written


class CountingReceiver:
    """Records every webhook POST with its notification id. ``delay_s`` holds each answer
    back (a slow receiver); a delivery whose sender died meanwhile stays ``answered=False``."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.delay_s = 0.0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                delivery = Delivery(self.headers.get(NOTIFICATION_ID, ""),
                                    body.get("groupLabels", {}).get("alertname", ""), body, time.monotonic(),
                                    self.client_address[1])
                with receiver._cond:
                    receiver.deliveries.append(delivery)
                    receiver._cond.notify_all()
                time.sleep(receiver.delay_s)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.wfile.flush()
                except OSError:
                    return  # the sender is gone
                delivery.answered = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def groups(self) -> dict[str, set[str]]:
        """group -> the distinct notification ids it was notified under."""
        with self._cond:
            out: dict[str, set[str]] = {}
            for d in self.deliveries:
                out.setdefault(d.group, set()).add(d.notification_id)
            return out

    def wait_groups(self, names: list[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not set(names) <= {d.group for d in self.deliveries}:
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = set(names) - {d.group for d in self.deliveries}
                    raise AssertionError(f"groups never notified: {sorted(missing)}")
                self._cond.wait(left)


def process_with_port(local_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` has a TCP socket bound to 127.0.0.1:``local_port`` (read from /proc:
    the socket's inode in /proc/net/tcp, then the process holding that inode)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                inodes.add(fields[9])
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = fd.readlink().name
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    return None


class RestartablePostgres:
    """A PostgreSQL of the test's own (not the session's shared one), so it can be stopped
    and started again on the same port and data directory."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.runner = _Runner(base)
        self.data = base / "data"
        pwfile = base / "pwfile"
        pwfile.write_text(PG_PASSWORD + "\n")
        if self.runner.user:
            import os
            import pwd

            pw = pwd.getpwnam(self.runner.user)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        self.runner.run(_pg_bin() / "initdb", "-D", self.data, "-U", "vigil", f"--pwfile={pwfile}",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")
        self.port = free_port()
        self.server: PostgresServer | None = None
        self.start()

    def start(self) -> None:
        log = self.base / "postgres.log"
        self.server = PostgresServer(self.port, self.data, self.runner.start(self.data, self.port, log))
        _wait_ready(self.server, log)

    def stop(self) -> None:
        assert self.server is not None
        _stop(self.server.process)

    def new_database(self, name: str) -> str:
        assert self.server is not None
        with self.server.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://vigil:{PG_PASSWORD}@127.0.0.1:{self.port}/{name}"


def replica_config(path: Path, state_url: str, hook_url: str, *, group_wait: str = "2s",
                   rule_file: Path | None = None) -> Path:
    rules = (f'global: {{evaluation_interval: 1s}}\nrule_files: ["{rule_file}"]\n'
             if rule_file is not None else "")
    path.write_text(rules + textwrap.dedent(f"""
        default_rules: false
        collectors: {{host: {{enabled: false}}}}
        storage:
          state: {{url: "{state_url}"}}
        cluster:
          heartbeat_interval: {HEARTBEAT}
          member_timeout: {MEMBER_TIMEOUT}
        alerting:
          receivers:
            - name: hook
              webhook_configs: [{{url: "{hook_url}"}}]
          route:
            receiver: hook
            group_by: [alertname]
            group_wait: {group_wait}
            group_interval: 1s
            repeat_interval: 1h
    """))
    return path


class Pair:
    """Two ``vigil up`` replicas with one config (and so one state database)."""

    def __init__(self, tmp: Path, config: Path) -> None:
        self.replicas = [VigilProcess(config, tmp / f"data-{i}") for i in range(2)]

    def __enter__(self) -> Pair:
        # Both start at once (each start waits until its replica is ready).
        with ThreadPoolExecutor(len(self.replicas)) as pool:
            for started in [pool.submit(r.start) for r in self.replicas]:
                started.result()
        eventually(lambda: self.primary() is not None and all(
            len(self.view(r)["members"]) == 2 for r in self.replicas), timeout=30, what="a primary among two")
        return self

    def __exit__(self, *exc: object) -> None:
        for r in self.replicas:
            r.stop(signal.SIGKILL)

    @staticmethod
    def view(replica: VigilProcess) -> dict[str, Any]:
        return replica.get("/api/vigil/v1/cluster")

    def primary(self) -> VigilProcess | None:
        for r in self.replicas:
            if r.proc is not None and any(m["self"] and m["role"] == "primary" for m in self.view(r)["members"]):
                return r
        return None

    def other(self, replica: VigilProcess) -> VigilProcess:
        return next(r for r in self.replicas if r is not replica)

    def post_alerts(self, names: list[str], to: list[VigilProcess] | None = None) -> None:
        """Post one alert per name to every replica (as a Prometheus pair does)."""
        body = [{"labels": {"alertname": n, "instance": "db-1"}, "annotations": {"summary": n}} for n in names]
        for r in to or self.replicas:
            httpx.post(f"{r.url}/api/v2/alerts", json=body, timeout=10).raise_for_status()

    def alive(self) -> bool:
        return all(r.proc is not None and r.proc.poll() is None for r in self.replicas)

