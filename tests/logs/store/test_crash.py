"""Acknowledged lines survive ``kill -9``: a real child process appends and reports each
acknowledged batch, the test kills it with SIGKILL at an arbitrary moment (often in the
middle of a write or a cut into chunks), reopens the store and checks that every
acknowledged batch is there exactly once. Three rounds on the same store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from vigil.logs.model import StreamSelection
from vigil.logs.store import LogStore, Options

CHILD = textwrap.dedent("""
    import sys
    from vigil.logs.model import LogEntry
    from vigil.logs.store import LogStore, Options
    from vigil.model.labels import Labels
    path, first = sys.argv[1], int(sys.argv[2])
    store = LogStore.open(path, Options(chunk_bytes=4000, fsync="off"))
    batch = first
    while True:
        store.append([LogEntry(1_700_000_000_000_000_000 + batch * 1000 + i,
                               Labels.of(app="crash", part=str(batch % 3)),
                               f"batch {batch} line {i} " + "x" * (batch % 40), "info",
                               (("batch", str(batch)),))
                      for i in range(7)])
        print(batch, flush=True)
        batch += 1
""")


def stored_batches(path: str) -> list[int]:
    store = LogStore.open(path, Options(chunk_bytes=4000))
    try:
        got = list(store.select(StreamSelection((), 0, 1 << 62, backward=False)))
    finally:
        store.close()
    batches = [int(e.fields[0][1]) for e in got]
    for b in set(batches):  # a batch is stored whole or not at all, and once
        assert sorted(e.line for e in got if e.fields[0][1] == str(b)) == sorted(
            f"batch {b} line {i} " + "x" * (b % 40) for i in range(7))
    return sorted(set(batches))


def test_acknowledged_batches_survive_sigkill(tmp_path):
    path = str(tmp_path / "logs")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    next_batch = 0
    for round_ in range(3):
        child = subprocess.Popen([sys.executable, "-c", CHILD, path, str(next_batch)],
                                 stdout=subprocess.PIPE, text=True, env=env)
        assert child.stdout is not None
        acked = -1
        for line in child.stdout:
            acked = int(line)
            if acked >= next_batch + 150 + 37 * round_:
                break
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        stored = stored_batches(path)
        # everything acknowledged is there; beyond that at most what the child wrote
        # before it could print (no gaps, no duplicates)
        assert stored[:acked + 1] == list(range(acked + 1))
        assert stored == list(range(len(stored)))
        next_batch = len(stored)
    with LogStore.open(path, Options()) as store:
        assert store.stats().chunks > 3
