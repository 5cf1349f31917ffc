import asyncio
import os
import shutil

import pytest

from tests.logs.ingest.memappender import MemoryAppender
from vigil.errors import StorageError
from vigil.logs.ingest.tailer import FileTailer
from vigil.model.labels import Labels


def _tailer(tmp_path, appender, clock=lambda: 1):
    return FileTailer(tmp_path / "app.log", appender, state_path=tmp_path / "app.state",
                      labels=Labels({"job": "app"}), clock=clock)


def _write(path, text, mode="a"):
    with open(path, mode) as f:
        f.write(text)


def _lines(appender):
    return [e.line for e in appender.entries]


def test_whole_lines_only_and_labels(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    tailer = _tailer(tmp_path, appender, clock=lambda: 42)
    assert tailer.poll() == 0  # no file yet
    _write(log, "one\r\ntwo\npart")
    assert tailer.poll() == 2
    _write(log, "ial\n")
    assert tailer.poll() == 1
    assert tailer.poll() == 0
    assert _lines(appender) == ["one", "two", "partial"]
    assert appender.entries[0].labels == Labels({"job": "app", "filename": str(log)})
    assert appender.entries[0].ts_ns == 42


def test_rotation_by_rename_reads_the_old_file_to_its_end_first(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    tailer = _tailer(tmp_path, appender)
    _write(log, "a1\n")
    tailer.poll()
    _write(log, "a2\na3 without newline")  # written just before logrotate renames it
    os.rename(log, tmp_path / "app.log.1")
    _write(log, "b1\n")
    tailer.poll()
    _write(log, "b2\n")
    tailer.poll()
    assert _lines(appender) == ["a1", "a2", "a3 without newline", "b1", "b2"]


def test_copytruncate_and_truncation_start_over(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    tailer = _tailer(tmp_path, appender)
    _write(log, "old line 1\nold line 2\n")
    tailer.poll()
    shutil.copy(log, tmp_path / "app.log.1")  # logrotate's copytruncate
    os.truncate(log, 0)
    _write(log, "new\n")
    tailer.poll()
    # Truncated and written past the old position before the next poll: the head changed.
    os.truncate(log, 0)
    _write(log, "rewritten line that is longer than before\n")
    tailer.poll()
    assert _lines(appender) == ["old line 1", "old line 2", "new",
                                "rewritten line that is longer than before"]


def test_position_is_kept_across_restarts(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    tailer = _tailer(tmp_path, appender)
    _write(log, "1\n2\n")
    tailer.poll()
    tailer.close()
    _write(log, "3\n")
    restarted = _tailer(tmp_path, appender)
    restarted.poll()
    assert _lines(appender) == ["1", "2", "3"]


def test_a_file_rotated_while_down_is_finished_then_the_new_one_read(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    tailer = _tailer(tmp_path, appender)
    _write(log, "before\n")
    tailer.poll()
    tailer.close()
    _write(log, "missed while down\n")
    os.rename(log, tmp_path / "app.log.1")
    _write(log, "new file\n")
    _tailer(tmp_path, appender).poll()
    assert _lines(appender) == ["before", "missed while down", "new file"]


def test_a_different_file_under_the_same_name_is_read_from_the_start(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    tailer = _tailer(tmp_path, appender)
    _write(log, "first file, long enough\n")
    tailer.poll()
    tailer.close()
    os.remove(log)
    _write(log, "second\n")
    _tailer(tmp_path, appender).poll()
    assert _lines(appender) == ["first file, long enough", "second"]


def test_a_failed_append_is_retried_by_the_next_poll(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    tailer = _tailer(tmp_path, appender)
    _write(log, "x\n")
    appender.fail_next = True
    with pytest.raises(StorageError):
        tailer.poll()
    assert tailer.poll() == 1
    assert _lines(appender) == ["x"]


def test_a_corrupt_state_file_starts_over(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    _write(log, "x\n")
    (tmp_path / "app.state").write_text("{not json")
    _tailer(tmp_path, appender).poll()
    assert _lines(appender) == ["x"]


def test_follow_polls_until_stopped(tmp_path):
    log, appender = tmp_path / "app.log", MemoryAppender()
    tailer = _tailer(tmp_path, appender)

    async def scenario():
        stop = asyncio.Event()
        following = asyncio.create_task(tailer.follow(stop, interval_s=0.01))
        _write(log, "first\n")
        await asyncio.to_thread(appender.wait_for, 1)
        _write(log, "second\n")
        await asyncio.to_thread(appender.wait_for, 2)
        stop.set()
        await following

    asyncio.run(scenario())
    assert _lines(appender) == ["first", "second"]
