"""Ingest into the real log store: a file tailer in a child process killed with SIGKILL
mid-stream and restarted loses no line (it may repeat the batch in flight), and the syslog
listener's entries read back as sent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

from tests.logs.ingest.listening import listeners
from vigil.logs.model import StreamSelection
from vigil.logs.store import LogStore
from vigil.model.labels import Labels

CHILD = textwrap.dedent("""
    import itertools, sys, time
    from vigil.logs.ingest.tailer import FileTailer
    from vigil.logs.model import LogEntry
    from vigil.logs.store import LogStore, Options
    log, store_path, state = sys.argv[1:4]
    store = LogStore.open(store_path, Options(chunk_bytes=20_000, fsync="off"))

    class Reporting:
        def append(self, entries):
            stored = store.append(entries)
            print("append", stored, flush=True)
            return stored

    ticks = itertools.count(time.time_ns())  # strictly increasing: the store orders by time
    tailer = FileTailer(log, Reporting(), state_path=state, max_line=2048, batch_bytes=2048,
                        to_entry=lambda line, labels, now: LogEntry(next(ticks), labels, line))
    while True:
        print("poll", tailer.poll(), flush=True)
""")


def _run_child(log, store, state, until_stored: int | None) -> None:
    """Runs the tailer until it appended ``until_stored`` entries and SIGKILLs it then (it
    goes on meanwhile, so the kill lands anywhere), or (None) until a poll finds nothing new."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(log), str(store), str(state)],
                             stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        stored = 0
        for report in child.stdout:
            what, count = report.split()
            stored += int(count) if what == "append" else 0
            if (until_stored is not None and stored >= until_stored) or (
                    until_stored is None and what == "poll" and count == "0"):
                break
        else:
            raise AssertionError(f"the tailer exited with {child.wait()}")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def test_a_tailer_killed_with_sigkill_resumes_without_losing_lines(tmp_path):
    log, store, state = tmp_path / "app.log", tmp_path / "store", tmp_path / "app.state"
    expected = [f"line {i:05d} " + "x" * (i % 50) for i in range(6000)]
    with open(log, "w") as f:
        f.writelines(line + "\n" for line in expected[:4000])
    _run_child(log, store, state, until_stored=200)  # killed in the middle of the file
    with open(log, "a") as f:
        f.writelines(line + "\n" for line in expected[4000:])
    _run_child(log, store, state, until_stored=None)
    with LogStore.open(str(store)) as reopened:
        got = [e.line for e in reopened.select(StreamSelection((), 0, 1 << 62, backward=False))]
    # What was acknowledged before the kill, then a replay from the last saved position.
    first_repeat = next((i for i, line in enumerate(got) if i >= len(expected)
                         or line != expected[i]), len(got))
    replay_from = expected.index(got[first_repeat]) if first_repeat < len(got) else first_repeat
    assert replay_from <= first_repeat
    assert got[first_repeat:] == expected[replay_from:]
    assert set(got) == set(expected)


def test_syslog_into_the_store(tmp_path):
    with LogStore.open(str(tmp_path / "store")) as store:
        with listeners(store, Labels({"job": "syslog"})) as (running,):
            with socket.create_connection(("127.0.0.1", running.tcp_port)) as s:
                s.sendall(b"<11>1 2026-12-07T09:00:00.000000001Z h app 1 - "
                          b'[meta@1 user="ann"] payment failed\n'
                          b"<bad\n"
                          b"<14>Dec  7 09:00:01 h app[1]: retried\n")
            deadline = time.monotonic() + 30
            while running.listener.stats.received < 3:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            running.flush()
        got = list(store.select(StreamSelection((), 0, 1 << 62, backward=False)))
    assert [(e.line, e.level, e.labels) for e in got] == [
        ("payment failed", "error", Labels({"job": "syslog", "host": "h", "app": "app"})),
        ("retried", "info", Labels({"job": "syslog", "host": "h", "app": "app"}))]
    assert got[0].ts_ns == 1796634000000000001
    assert ("meta@1.user", "ann") in got[0].fields
