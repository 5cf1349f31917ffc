"""Real servers for the exporter tests, each on 127.0.0.1, a free port and a temp dir.

``postgres_server`` (session): a PostgreSQL primary from the Debian ``postgresql`` package,
with a password-protected superuser. ``postgres_replica`` (session): a streaming replica of
it made with ``pg_basebackup -R``. ``redis_server`` (module): ``redis-server`` with
``requirepass``. PostgreSQL refuses to run as root, so as root the servers run as the
``postgres`` system user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

PG_PASSWORD = "s3cret-pg"
REDIS_PASSWORD = "s3cret-redis"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        pytest.fail("PostgreSQL is not installed: scripts/test installs Debian's postgresql")
    return Path(found[-1]).parent


@dataclass
class PostgresServer:
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    user: str = "vigil"
    password: str = PG_PASSWORD

    @property
    def dsn(self) -> str:
        """Without the password, as collectors are configured."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def connect(self, dbname: str = "postgres", **kw: object) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.user,
                               password=self.password, dbname=dbname, **kw)


class _Runner:
    """Runs PostgreSQL programs as a non-root user when we are root."""

    def __init__(self, base: Path) -> None:
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root without a 'postgres' user (Debian's postgresql package creates it)")
            self.user = "postgres"
            os.chown(base, pw.pw_uid, pw.pw_gid)

    def kw(self) -> dict[str, object]:
        return {"user": self.user} if self.user else {}

    def run(self, *args: str | Path, env: dict[str, str] | None = None) -> None:
        subprocess.run([str(a) for a in args], check=True, capture_output=True,
                       env={**os.environ, **(env or {})}, cwd="/", **self.kw())

    def start(self, data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
        bin_dir = _pg_bin()
        with open(log, "wb") as out:
            return subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data_dir),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"port={port}",
                 "-c", f"unix_socket_directories={data_dir.parent}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "deadlock_timeout=100ms",
                 "-c", "shared_buffers=16MB"],
                stdout=out, stderr=subprocess.STDOUT, cwd="/", **self.kw())


def _wait_ready(server: PostgresServer, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            server.connect(connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def _pg_base() -> Iterator[tuple[Path, _Runner]]:
    base = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
    runner = _Runner(base)
    try:
        yield base, runner
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(_pg_base: tuple[Path, _Runner]) -> Iterator[PostgresServer]:
    base, runner = _pg_base
    data = base / "primary"
    pwfile = base / "pwfile"
    pwfile.write_text(PG_PASSWORD + "\n")
    if runner.user:
        pw = pwd.getpwnam(runner.user)
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    runner.run(_pg_bin() / "initdb", "-D", data, "-U", "vigil", f"--pwfile={pwfile}",
               "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")
    port, log = free_port(), base / "primary.log"
    server = PostgresServer(port, data, runner.start(data, port, log))
    try:
        _wait_ready(server, log)
        yield server
    finally:
        _stop(server.process)


@pytest.fixture(scope="session")
def postgres_replica(postgres_server: PostgresServer,
                     _pg_base: tuple[Path, _Runner]) -> Iterator[PostgresServer]:
    base, runner = _pg_base
    data = base / "replica"
    runner.run(_pg_bin() / "pg_basebackup", "-h", "127.0.0.1", "-p", str(postgres_server.port),
               "-U", "vigil", "-D", data, "-R", "-X", "stream", "--no-sync",
               env={"PGPASSWORD": PG_PASSWORD})
    port, log = free_port(), base / "replica.log"
    server = PostgresServer(port, data, runner.start(data, port, log))
    try:
        _wait_ready(server, log)
        yield server
    finally:
        _stop(server.process)


@dataclass
class LoopbackServer:
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class RedisServer(LoopbackServer):
    password: str = REDIS_PASSWORD


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: scripts/test installs Debian's redis-server")
    import redis

    work = Path(tempfile.mkdtemp(prefix="vigil-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(work),
         "--save", "", "--appendonly", "no", "--requirepass", REDIS_PASSWORD,
         "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port, password=REDIS_PASSWORD, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield RedisServer(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


MQTT_USER, MQTT_PASSWORD = "vigil", "s3cret-mqtt"


@dataclass
class MQTTBroker(LoopbackServer):
    user: str = MQTT_USER
    password: str = MQTT_PASSWORD


@pytest.fixture(scope="module")
def mqtt_broker() -> Iterator[MQTTBroker]:
    """mosquitto requiring a user name and password."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                           if os.path.exists("/usr/sbin/mosquitto") else None)
    if binary is None or shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto is not installed: scripts/test installs Debian's mosquitto")
    work = Path(tempfile.mkdtemp(prefix="vigil-mqtt-"))
    port = free_port()
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(work / "passwd"), MQTT_USER,
                    MQTT_PASSWORD], check=True, capture_output=True)
    (work / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {work / 'passwd'}\npersistence false\n"
        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n")
    process = subprocess.Popen([binary, "-c", str(work / "mosquitto.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield MQTTBroker(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
