"""A full disk under a live TSDB: writes fail with a clear StorageError and nothing of them
shows; what was acknowledged stays readable; compaction fails cleanly at whatever point the
space runs out; once space is freed, writes and compaction work again without a restart,
and a reopen finds every acknowledged sample.

The disk is a real one: a small tmpfs mounted for each test (we run as root), filled by
a filler file (no space) or by empty files (no inodes). Where mounting is not permitted, and
always as a second variant, the scenario runs in a child process whose file size limit
(``RLIMIT_FSIZE``, SIGXFSZ ignored) makes every write past it fail with EFBIG as a full disk
fails it with ENOSPC, and whose descriptor limit (``RLIMIT_NOFILE``) stands in for inodes.
"""

from __future__ import annotations

import errno
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tsdb.test_tsdb_blocks import block_dirs, check_all, fill
from vigil.errors import StorageError
from vigil.model import Labels, Matcher
from vigil.tsdb import DB

ROOT = Path(__file__).resolve().parents[2]
SERIES = 5
STEP = 100
PAGE = os.sysconf("SC_PAGE_SIZE")


class TmpfsDisk:
    """A small tmpfs: full means a filler file took every free page; no new file means
    empty files took every inode."""

    space_reason = "No space left on device"
    files_reason = "No space left on device"  # out of inodes

    @staticmethod
    def more(budget: int) -> int:
        """The next space to leave: every page counts, as every file takes whole pages."""
        return budget + PAGE

    def __init__(self, root: Path) -> None:
        self.root = root
        self._filler = root / "filler"
        self._inode_dir = root / "inodes"

    def fill(self, leave: int = 0) -> None:
        """Take all free space but ``leave`` bytes (a multiple of the page size)."""
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            chunk = b"\0" * (64 << 10)
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as e:
                    assert e.errno == errno.ENOSPC
                    break
            os.ftruncate(fd, os.fstat(fd).st_size - leave)
        finally:
            os.close(fd)
        st = os.statvfs(self.root)
        assert st.f_bavail * st.f_frsize == leave

    def free(self) -> None:
        os.remove(self._filler)

    def refuse_new_files(self) -> None:
        self._inode_dir.mkdir()
        n = 0
        while True:
            try:
                os.close(os.open(self._inode_dir / str(n), os.O_WRONLY | os.O_CREAT, 0o644))
            except OSError as e:
                assert e.errno == errno.ENOSPC
                return
            n += 1

    def allow_new_files(self) -> None:
        shutil.rmtree(self._inode_dir)


class RlimitDisk:
    """This process's limits: full means no file may grow past ``leave`` bytes, and no new
    file means no new file descriptor. Only for a child process (pytest writes files)."""

    space_reason = "File too large"
    files_reason = "Too many open files"

    @staticmethod
    def more(budget: int) -> int:
        """The next file size limit: the files written range from ~100 bytes to a few KB."""
        return max(64, budget * 2)

    def __init__(self, root: Path) -> None:
        self.root = root
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        self._fsize = resource.getrlimit(resource.RLIMIT_FSIZE)
        self._nofile = resource.getrlimit(resource.RLIMIT_NOFILE)

    def fill(self, leave: int = 0) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (leave, self._fsize[1]))

    def free(self) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, self._fsize)

    def refuse_new_files(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (0, self._nofile[1]))

    def allow_new_files(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, self._nofile)


Disk = TmpfsDisk | RlimitDisk
Scenario = Callable[[Disk], None]


def _mount_tmpfs(mnt: Path) -> bool:
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=2000", "tmpfs",
                            str(mnt)], capture_output=True)
    except FileNotFoundError:  # no mount(8)
        return False
    return r.returncode == 0


def _umount(mnt: Path) -> None:
    if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], check=True)  # a DB left open by a failure


def run(scenario: Scenario, kind: str, tmp_path: Path) -> None:
    if kind == "tmpfs":
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        if _mount_tmpfs(mnt):
            try:
                scenario(TmpfsDisk(mnt))
            finally:
                _umount(mnt)
            return
    # The limit must not hit pytest's own files: set it in a child running the scenario.
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.tsdb.test_full_disk import child_main; "
         "child_main(sys.argv[1], sys.argv[2])", scenario.__name__, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"scenario failed in the child:\n{proc.stdout}\n{proc.stderr}"


def child_main(name: str, root: str) -> None:
    globals()[name](RlimitDisk(Path(root)))


@pytest.fixture(params=["tmpfs", "rlimit"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def _open(path: Path, **kw: object) -> DB:
    opts: dict = dict(block_range_ms=1000, compact_interval_s=3600, retention_ms=100_000,
                      wal_segment_bytes=16 << 10)
    opts.update(kw)
    return DB.open(path, **opts)


def _commit_round(db: DB, t: int, extra: Labels | None = None) -> None:
    app = db.appender()
    for k in range(SERIES):
        app.append(Labels.of(job="t", k=str(k)), t, float(t * 10 + k))
    if extra is not None:
        app.append(extra, t, 1.0)
    app.commit()


def _commit_until_refused(db: DB, t: int) -> tuple[int, StorageError]:
    """Commit rounds from ``t`` until one is refused (a tmpfs takes writes into the WAL's
    last, partly used page); returns the refused round's time and the error."""
    for _ in range(10_000):
        try:
            _commit_round(db, t)
        except StorageError as e:
            return t, e
        t += STEP
    raise AssertionError("the full disk never refused a commit")


def _leftovers(path: Path) -> list[str]:
    return [n for sub in ("blocks", "wal") for n in os.listdir(path / sub) if n.endswith(".tmp")]


def _assert_names(err: StorageError, path: Path, reason: str) -> None:
    assert str(path) in str(err) and reason in str(err), str(err)


# ---- scenarios (each runs against either disk) ------------------------------------------


def writes_fail_clearly_and_resume_when_space_is_freed(disk: Disk) -> None:
    path = disk.root / "db"
    db = _open(path)
    fill(db, SERIES, 10_000, STEP)
    db.compact()
    fill(db, SERIES, 11_000, STEP, start_ms=10_000)  # the head now spans more than 1.5 blocks
    blocks = block_dirs(str(path))
    disk.fill()

    refused, err = _commit_until_refused(db, 11_000)
    _assert_names(err, path / "wal", disk.space_reason)
    check_all(db, SERIES, refused, STEP)  # what was acknowledged, and not the refused round
    with pytest.raises(StorageError, match=disk.space_reason):
        _commit_round(db, refused)  # still full: the same again
    new = Labels.of(job="t", k="new")
    with pytest.raises(StorageError, match=disk.space_reason):
        _commit_round(db, refused, extra=new)
    assert new not in db.series_labels()
    assert not list(db.querier(0, 10**9).select([Matcher.equal("k", "new")]))

    # Cutting the head into a block needs space too: a clear error, nothing left behind.
    with pytest.raises(StorageError) as exc:
        db.compact()
    _assert_names(exc.value, path / "blocks", disk.space_reason)
    assert block_dirs(str(path)) == blocks and _leftovers(path) == []
    check_all(db, SERIES, refused, STEP)

    disk.free()
    until = refused + 2000
    for t in range(refused, until, STEP):  # no restart needed
        _commit_round(db, t)
    assert db.compact() >= 1
    check_all(db, SERIES, until, STEP)
    db.close()

    db = _open(path)
    try:
        assert db.corrupted_blocks == [] and _leftovers(path) == []
        check_all(db, SERIES, until, STEP)
    finally:
        db.close()


def _sweep(disk: Disk, due: Callable[[Path], DB]) -> set[str]:
    """Give compaction a little more space each time until it completes. Wherever it runs
    out, it fails with a clear error and leaves no partial block or checkpoint; nothing is
    lost or doubled, and with space back it completes. Returns the failed stages."""
    stages = set()
    budget = 0
    while True:
        path = disk.root / f"db{budget}"
        db = due(path)
        disk.fill(leave=budget)
        try:
            db.compact()
            done = True
        except StorageError as e:
            _assert_names(e, path, disk.space_reason)
            stages.add(str(e).split(": ")[1])
            done = False
        finally:
            leftovers = _leftovers(path)
            disk.free()
        assert leftovers == []
        check_all(db, SERIES, 8000, STEP)
        db.compact()
        check_all(db, SERIES, 8000, STEP)
        db.close()
        db = _open(path)
        try:
            assert db.corrupted_blocks == []
            check_all(db, SERIES, 8000, STEP)
            spans = sorted((m["minTime"], m["maxTime"]) for m in _metas(path))
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans
        finally:
            db.close()
        shutil.rmtree(path)
        if done:
            assert budget > 0
            return stages
        budget = disk.more(budget)


def _metas(path: Path) -> list[dict]:
    return [json.loads((path / "blocks" / n / "meta.json").read_text())
            for n in block_dirs(str(path))]


def _cut_due(path: Path) -> DB:
    # The head spans 8 blocks: compaction cuts 7, checkpoints the WAL and merges
    # [0, 3 s) and [3 s, 6 s) into a block each.
    db = _open(path)
    fill(db, SERIES, 8000, STEP)
    # A series only the head holds, with a label zstd cannot shrink much: the WAL is
    # compressed, and without it the checkpoint would be smaller than a block's files, so a
    # per-file size limit (RlimitDisk) would never stop the checkpoint first.
    app = db.appender()
    app.append(Labels.of(job="head-only", blob=random.Random(5).randbytes(1500).hex()), 7950, 1.0)
    app.commit()
    return db


def _merge_due(path: Path) -> DB:
    # Blocks cut under a retention too short for larger ranges; reopened with a longer
    # one, [0, 3 s) and [3 s, 6 s) are due for merging.
    db = _open(path, retention_ms=20_000)
    fill(db, SERIES, 8000, STEP)
    db.compact()
    db.close()
    assert len(block_dirs(str(path))) == 7
    return _open(path)


def cutting_and_checkpointing_run_out_of_space(disk: Disk) -> None:
    assert _sweep(disk, _cut_due) >= {"cannot write block", "cannot write WAL checkpoint"}


def merging_runs_out_of_space(disk: Disk) -> None:
    assert _sweep(disk, _merge_due) == {"cannot write block"}


def close_on_a_full_disk_and_reopen_while_still_full(disk: Disk) -> None:
    path = disk.root / "db"
    db = _open(path)
    fill(db, SERIES, 3000, STEP)  # a cut is due at close
    disk.fill()
    with pytest.raises(StorageError) as exc:
        db.close()
    _assert_names(exc.value, path / "blocks", disk.space_reason)

    db = _open(path)  # still full: the store opens and reads
    try:
        assert db.corrupted_blocks == [] and _leftovers(path) == []
        check_all(db, SERIES, 3000, STEP)
        refused, err = _commit_until_refused(db, 3000)
        _assert_names(err, path / "wal", disk.space_reason)
        disk.free()
        for t in range(refused, refused + 1000, STEP):
            _commit_round(db, t)
    finally:
        db.close()
    db = _open(path)
    try:
        check_all(db, SERIES, refused + 1000, STEP)
        assert block_dirs(str(path))
    finally:
        db.close()


def no_file_for_the_next_wal_segment(disk: Disk) -> None:
    """When the next WAL segment cannot be created, a commit that returned is kept and a
    commit that raised is not, even after a reopen."""
    path = disk.root / "db"
    # Blocks of an hour: no cut (and WAL checkpoint) at close, so the reopen replays the
    # WAL as a crash would leave it.
    db = _open(path, wal_segment_bytes=2048, block_range_ms=3600_000, wal_fsync="always")
    fill(db, SERIES, 1000, STEP)
    disk.refuse_new_files()
    acked, refused = [], []
    t = 1000
    try:
        while len(refused) < 3:
            try:
                _commit_round(db, t)
                acked.append(t)
            except StorageError as e:
                refused.append((t, str(e)))
            t += STEP
    finally:
        disk.allow_new_files()
    assert all(disk.files_reason in msg for _, msg in refused), refused
    _commit_round(db, t)
    acked.append(t)
    db.close()

    db = _open(path, block_range_ms=3600_000)
    try:
        want = list(range(0, 1000, STEP)) + acked
        for s in db.querier(0, 10**9).select([Matcher.equal("job", "t")]):
            assert s.timestamps.tolist() == want, (refused, s.labels)
    finally:
        db.close()


def remote_write_on_a_full_disk_answers_5xx(disk: Disk) -> None:
    # Imported here: the web app takes a second to import, in every child process.
    from starlette.testclient import TestClient

    from tests.web.fakes import make_deps
    from vigil.remote import Receiver, compress, encode_write_request
    from vigil.web import create_app

    db = _open(disk.root / "db")
    deps = make_deps()
    deps.remote_write = Receiver(db)

    def body(t: int) -> bytes:
        return compress(encode_write_request([([("__name__", "rw"), ("job", "t")], [t],
                                               [float(t)])]))

    try:
        with TestClient(create_app(deps)) as c:
            assert c.post("/api/v1/write", content=body(0)).status_code == 204
            disk.fill()
            t = 1
            while (r := c.post("/api/v1/write", content=body(t))).status_code == 204:
                t += 1
                assert t < 10_000, "the full disk never refused a write"
            # A sender retries 5xx; a 4xx would make it drop the samples.
            assert 500 <= r.status_code < 600 and disk.space_reason in r.text, (r.status_code,
                                                                                 r.text)
            got = list(db.querier(0, 10**9).select([Matcher.equal("__name__", "rw")]))
            assert got[0].timestamps.tolist() == list(range(t))
            disk.free()
            assert c.post("/api/v1/write", content=body(t)).status_code == 204
            got = list(db.querier(0, 10**9).select([Matcher.equal("__name__", "rw")]))
            assert got[0].timestamps.tolist() == list(range(t + 1))
    finally:
        db.close()


# ---- tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [
    writes_fail_clearly_and_resume_when_space_is_freed,
    cutting_and_checkpointing_run_out_of_space,
    merging_runs_out_of_space,
    close_on_a_full_disk_and_reopen_while_still_full,
    no_file_for_the_next_wal_segment,
    remote_write_on_a_full_disk_answers_5xx,
], ids=lambda f: f.__name__)
def test_full_disk(scenario: Scenario, kind: str, tmp_path: Path) -> None:
    run(scenario, kind, tmp_path)
