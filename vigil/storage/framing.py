"""Framed records in append-only files, as both write-ahead logs (the TSDB's and the log
store's) keep them: ``u32 length, u32 crc32(payload)`` (little-endian), then the payload.

Reading tells a write torn by a crash from corruption: a short header, a zero-filled tail, a
frame running past the end of the file, or a crc mismatch in the file's *last* frame is a
tear when the caller allows one (the newest segment): the file is cut back to the last good
record with a warning naming the file and offset. Anything else raises
:class:`~vigil.errors.StorageError` naming the file, the offset and what is wrong.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator

from vigil.errors import StorageError

__all__ = ["FRAME", "frame", "fsync_dir", "read_frames", "write_all"]

log = logging.getLogger(__name__)

FRAME = struct.Struct("<II")


def frame(payload: bytes) -> bytes:
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def fsync_dir(path: str) -> None:
    """Make a directory's new or renamed entries durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_frames(path: str, *, tolerate_torn_tail: bool) -> Iterator[tuple[str, int, bytes]]:
    """Yield ``(path, offset, payload)`` for each record of the file ``path``; see the module
    docstring for what a torn tail is and what is corruption."""
    with open(path, "rb") as f:
        data = f.read()
    size, pos = len(data), 0
    while pos < size:
        problem = None
        end = size
        if size - pos < FRAME.size:
            problem = "short frame header"
        else:
            length, crc = FRAME.unpack_from(data, pos)
            end = pos + FRAME.size + length
            if length == 0 and not any(data[pos:]):
                problem = "zero-filled tail"
            elif end > size:
                problem = f"frame of {length} bytes runs past the end of the file"
            elif zlib.crc32(data[pos + FRAME.size:end]) != crc:
                problem = "crc mismatch" if end != size else "crc mismatch in the last record"
                if end != size:
                    tolerate_torn_tail = False  # a bad record followed by others is not a tear
        if problem is not None:
            if not tolerate_torn_tail:
                raise StorageError(f"{path}: corrupt WAL record at offset {pos}: {problem}")
            log.warning("%s: torn WAL record at offset %d (%s); truncating %d bytes",
                        path, pos, problem, size - pos)
            os.truncate(path, pos)
            return
        yield path, pos, data[pos + FRAME.size:end]
        pos = end
