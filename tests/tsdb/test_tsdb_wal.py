"""Durability: restart recovery, torn and corrupt WAL records, crashes without close."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vigil.errors import StorageError
from vigil.model import Labels
from vigil.storage import STALE_NAN, is_stale
from vigil.tsdb import DB


def commit_round(db: DB, r: int) -> dict[Labels, tuple[int, float]]:
    """Commit round ``r``: one new series per round plus the ones before; returns what it wrote."""
    app = db.appender()
    wrote = {}
    for k in range(r % 4 + 1):
        lb = Labels.of(job="t", k=str(k), born=str(r - r % 4))
        wrote[lb] = (r * 1000, float(r * 10 + k))
        app.append(lb, *wrote[lb])
    app.commit()
    return wrote


def expected_after(rounds: list[dict[Labels, tuple[int, float]]]) -> dict[Labels, list]:
    out: dict[Labels, list] = {}
    for wrote in rounds:
        for lb, sample in wrote.items():
            out.setdefault(lb, []).append(sample)
    return out


def test_close_and_reopen_keeps_everything(tmp_path, read_all) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path)
    rounds = [commit_round(db, r) for r in range(50)]
    app = db.appender()
    app.append(Labels.of(job="t", k="stale"), 10**6, STALE_NAN)
    app.commit()
    db.close()
    db = DB.open(path)
    got = read_all(db)
    stale = got.pop(Labels.of(job="t", k="stale"))
    assert is_stale(np.array([stale[0][1]], dtype=np.uint64).view(np.float64)[0])
    assert got == {lb: [(t, int(np.float64(v).view(np.uint64))) for t, v in samples]
                   for lb, samples in expected_after(rounds).items()}
    # Appending continues after the recovered samples; refs stay consistent.
    commit_round(db, 50)
    db.close()
    db = DB.open(path)
    assert db.stats()["samples"] == sum(len(w) for w in rounds) + 1 + 3
    db.close()


def _as_values(got: dict) -> dict:
    return {lb: [(t, float(np.uint64(b).view(np.float64))) for t, b in s] for lb, s in got.items()}


def test_truncation_at_random_offsets_recovers_all_earlier_commits(tmp_path, read_all,
                                                                   caplog) -> None:
    src = str(tmp_path / "src")
    db = DB.open(src, wal_fsync="off")
    seg = os.path.join(src, "wal", "00000000")
    rounds, ends = [], []
    for r in range(40):
        rounds.append(commit_round(db, r))
        ends.append(os.path.getsize(seg))
    db.close()
    record_ends = _record_ends(seg)
    assert set(ends) <= set(record_ends)
    rng = np.random.default_rng(7)
    offsets = sorted(set(rng.integers(0, ends[-1] + 1, 25).tolist()) | {0, ends[3], ends[-1]})
    for x in offsets:
        dst = str(tmp_path / f"cut{x}")
        shutil.copytree(src, dst)
        os.truncate(os.path.join(dst, "wal", "00000000"), x)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="vigil.tsdb"):
            db = DB.open(dst)
        complete = [w for w, end in zip(rounds, ends, strict=True) if end <= x]
        assert _as_values(read_all(db)) == expected_after(complete), f"cut at {x}"
        at_boundary = x == 0 or x in record_ends  # e.g. between series and samples record
        torn = [r for r in caplog.records if "torn WAL record" in r.getMessage()]
        assert bool(torn) == (not at_boundary), f"cut at {x}"
        if torn:
            assert "00000000" in torn[0].getMessage() and "offset" in torn[0].getMessage()
        # The tail was cut off, so new commits land cleanly and survive another restart.
        extra = commit_round(db, 1000)
        db.close()
        db = DB.open(dst)
        assert _as_values(read_all(db)) == expected_after(complete + [extra])
        db.close()
        shutil.rmtree(dst)


def _record_ends(seg: str) -> list[int]:
    data = open(seg, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        pos += 8 + int.from_bytes(data[pos:pos + 4], "little")
        out.append(pos)
    return out


def _two_commit_wal(tmp_path) -> tuple[str, str]:
    path = str(tmp_path / "d")
    db = DB.open(path)
    commit_round(db, 0)
    commit_round(db, 1)
    db.close()
    return path, os.path.join(path, "wal", "00000000")


def test_corrupt_record_before_the_last_raises_naming_segment_and_offset(tmp_path) -> None:
    path, seg = _two_commit_wal(tmp_path)
    with open(seg, "r+b") as f:
        f.seek(12)  # inside the first record's payload
        b = f.read(1)
        f.seek(12)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(StorageError, match=r"wal/00000000: corrupt WAL record at offset 0"):
        DB.open(path)


def test_corrupt_last_record_is_treated_as_torn(tmp_path, read_all) -> None:
    path, seg = _two_commit_wal(tmp_path)
    size = os.path.getsize(seg)
    with open(seg, "r+b") as f:
        f.seek(size - 1)
        b = f.read(1)
        f.seek(size - 1)
        f.write(bytes([b[0] ^ 0xFF]))
    db = DB.open(path)
    # Round 1 made series k=1 (its series record survives) but its samples are gone.
    assert [lb.get("k") for lb in read_all(db)] == ["0"]
    assert all(len(v) == 1 for v in read_all(db).values())
    db.close()


def test_zero_filled_tail_is_tolerated(tmp_path, read_all) -> None:
    path, seg = _two_commit_wal(tmp_path)
    with open(seg, "ab") as f:
        f.write(b"\0" * 4096)
    db = DB.open(path)
    assert sum(len(v) for v in read_all(db).values()) == 3
    db.close()
    assert os.path.getsize(seg) < 4096 + 100  # zeros truncated away


def test_copy_of_directory_while_open_recovers_commits(tmp_path, read_all) -> None:
    src = str(tmp_path / "src")
    db = DB.open(src, wal_fsync="always")
    rounds = [commit_round(db, r) for r in range(20)]
    dst = str(tmp_path / "copy")
    shutil.copytree(src, dst)  # a snapshot of a live DB, as a crash would leave it
    commit_round(db, 20)
    db.close()
    copy = DB.open(dst)
    assert _as_values(read_all(copy)) == expected_after(rounds)
    copy.close()


def test_process_exiting_without_close_loses_nothing(tmp_path, read_all) -> None:
    path = str(tmp_path / "d")
    script = textwrap.dedent(f"""
        import os
        from vigil.model import Labels
        from vigil.tsdb import DB
        db = DB.open({path!r}, wal_fsync="off")
        for r in range(30):
            app = db.appender()
            app.append(Labels.of(job="t", k="a"), r, float(r))
            app.commit()
        os._exit(0)  # no close(), no fsync: the records are in the kernel already
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    db = DB.open(path)
    assert [t for t, _ in read_all(db)[Labels.of(job="t", k="a")]] == list(range(30))
    db.close()


def test_directory_is_locked_while_open(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path)
    with pytest.raises(StorageError, match="in use"):
        DB.open(path)
    db.close()
    DB.open(path).close()


def test_many_segments_replay_in_order(tmp_path, read_all) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, wal_segment_bytes=1024)
    rounds = [commit_round(db, r) for r in range(60)]
    db.close()
    segments = [n for n in os.listdir(os.path.join(path, "wal")) if n.isdigit()]
    assert len(segments) > 3
    db = DB.open(path)
    assert _as_values(read_all(db)) == expected_after(rounds)
    db.close()
    os.remove(os.path.join(path, "wal", sorted(segments)[1]))
    with pytest.raises(StorageError, match="segment missing"):
        DB.open(path)
