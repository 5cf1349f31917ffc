"""kill -9 of a writing process: every acknowledged sample must be there after reopening."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from vigil.model import Matcher
from vigil.tsdb import DB

WRITER = os.path.join(os.path.dirname(__file__), "_crash_writer.py")
SERIES = 20


@pytest.mark.parametrize("kill_after", [30, 300, 900])
def test_sigkill_loses_no_acknowledged_sample(tmp_path, kill_after: int) -> None:
    path = str(tmp_path / "d")
    proc = subprocess.Popen([sys.executable, WRITER, path, str(SERIES)],
                            stdout=subprocess.PIPE, text=True)
    acked = -1
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acked = int(line)
            if acked >= kill_after:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # Read through the same buffered file: communicate() would skip lines it buffered.
        rest = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for line in rest.splitlines():  # printed before the kill landed: acknowledged too
        acked = int(line)
    assert acked >= kill_after, "writer died on its own"

    db = DB.open(path, block_range_ms=40, compact_interval_s=3600)
    got = list(db.querier(0, 10**9).select([Matcher.equal("job", "t")]))
    assert len(got) == SERIES
    for s in got:
        n = acked + 1
        # Everything acknowledged is there; a commit cut short by the kill may be too.
        assert s.timestamps[:n].tolist() == list(range(n))
        assert s.values[:n].tolist() == [float(r) for r in range(n)]
        assert len(s.timestamps) <= n + 1
    assert db.stats()["blocks"] > 0 or kill_after < 60
    db.close()
