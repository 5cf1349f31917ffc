"""Chunk files: one immutable, compressed run of entries of one time partition.

Layout (little-endian; byte by byte in ``docs/logs-format.md``)::

    0   8 bytes   magic "VLOGCHK" + format version byte (0x02 written; 0x01 still read)
    8   u32       meta length M
    12  u32       crc32 of the meta
    16  M bytes   meta: UTF-8 JSON (time range, counts, streams, WAL segment, sections)
    16+M          token index, trigram Bloom filter (``trigrams.bytes`` long)
    ...           token index, word Bloom filter (``tokens.bytes`` long)
    ...           format 2: token index, long-word 5-gram Bloom filter (``ngrams.bytes``)
    ...           body. Format 2: the columns and line blocks of :mod:`._chunk2`, each a
                  zstd frame with its size and crc32 in the meta. Format 1: one zstd frame
                  of an encoded batch (:mod:`._codec`), rows in time order.

The meta alone is read when the store opens (to rebuild the stream index), the filters
when a needle search considers the chunk, the body only when it may match.
Files are written as ``<id>.chunk.tmp``, synced, then renamed, so a chunk either exists
whole or not at all.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import cramjam

from vigil.errors import StorageError
from vigil.logs.model import LogEntry
from vigil.logs.store._bloom import Bloom, TokenIndex
from vigil.logs.store._chunk1 import Chunk1
from vigil.logs.store._chunk2 import COLUMNS, Chunk2, Section, encode_body
from vigil.logs.store._codec import decode, labels_from_json, labels_json
from vigil.model.labels import Labels
from vigil.storage.framing import fsync_dir, write_all

MAGIC_V1 = b"VLOGCHK\x01"
MAGIC = b"VLOGCHK\x02"
_HEAD = struct.Struct("<8sII")
SUFFIX = ".chunk"


@dataclass(frozen=True, slots=True)
class ChunkMeta:
    path: str
    id: int
    min_ts: int
    max_ts: int
    entries: int
    raw_bytes: int  # the lines' UTF-8 bytes plus one newline each: the size as a text file
    wal_segment: int  # the WAL segment this chunk was cut at (covers it and older ones)
    streams: tuple[Labels, ...]
    index_offset: int  # the trigram filter, then the word filter
    trigrams: tuple[int, int, int, int]  # bytes, crc, m, k
    tokens: tuple[int, int, int, int]
    body_offset: int
    body_bytes: int
    body_crc: int  # format 1 (format 2: each section has its own)
    version: int = 2
    ngrams: tuple[int, int, int, int] | None = None  # format 2
    levels: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()  # format 2: the columns (COLUMNS), then line blocks

    @property
    def file_bytes(self) -> int:
        return self.body_offset + self.body_bytes


def write_chunk(directory: str, chunk_id: int, entries: Sequence[LogEntry], wal_segment: int,
                zstd_level: int) -> ChunkMeta:
    """Write ``entries`` (any order) as chunk ``chunk_id`` (format 2) in ``directory``."""
    body = encode_body(entries, zstd_level)
    index = TokenIndex.build(body.lines_utf8)
    ncol = len(COLUMNS)
    meta = {
        "min_ts": body.min_ts, "max_ts": body.max_ts, "entries": len(entries),
        "raw_bytes": len(body.lines_utf8) + len(entries), "wal_segment": wal_segment,
        "streams": [json.loads(labels_json(s)) for s in body.streams],
        "levels": body.levels,
        "trigrams": _bloom_meta(index.trigrams), "tokens": _bloom_meta(index.tokens),
        "ngrams": _bloom_meta(index.ngrams) if index.ngrams else None,
        "codec": "zstd", "zstd_level": zstd_level,
        "columns": {name: _section_meta(s) for name, s in zip(COLUMNS, body.sections[:ncol],
                                                              strict=True)},
        "line_blocks": [_section_meta(s) for s in body.sections[ncol:]],
    }
    meta_bytes = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()
    path = os.path.join(directory, f"{chunk_id:010d}{SUFFIX}")
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, b"".join([_HEAD.pack(MAGIC, len(meta_bytes), zlib.crc32(meta_bytes)),
                                meta_bytes, index.trigrams.bits, index.tokens.bits,
                                index.ngrams.bits if index.ngrams else b"", *body.frames]))
        os.fsync(fd)
    except OSError as e:
        os.close(fd)
        os.unlink(tmp)
        raise StorageError(f"{path}: cannot write chunk: {e.strerror or e}") from e
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(directory)
    return _meta_from(path, chunk_id, meta, _HEAD.size + len(meta_bytes), 2)


def _section_meta(s: Section) -> dict[str, int]:
    out = {"bytes": s.bytes, "crc": s.crc, "raw": s.raw}
    if s.width:
        out["width"] = s.width
    if s.unit != 1:
        out["unit"] = s.unit
    if s.rows:
        out["rows"] = s.rows
    return out


def _bloom_meta(bloom: Bloom) -> dict[str, int]:
    return {"bytes": len(bloom.bits), "crc": zlib.crc32(bloom.bits), "m": bloom.m, "k": bloom.k}


def read_meta(path: str) -> ChunkMeta:
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD.size)
            if len(head) < _HEAD.size:
                raise ValueError("shorter than its header")
            magic, length, crc = _HEAD.unpack(head)
            if magic not in (MAGIC, MAGIC_V1):
                raise ValueError(f"bad magic {magic!r}")
            meta_bytes = f.read(length)
            if len(meta_bytes) != length or zlib.crc32(meta_bytes) != crc:
                raise ValueError("meta crc mismatch")
            meta = json.loads(meta_bytes)
            chunk_id = int(os.path.basename(path)[:-len(SUFFIX)])
            result = _meta_from(path, chunk_id, meta, _HEAD.size + length, magic[-1])
            if os.fstat(f.fileno()).st_size != result.file_bytes:
                raise ValueError("file size disagrees with its meta")
            return result
    except (ValueError, KeyError, TypeError, struct.error) as e:
        raise StorageError(f"{path}: corrupt chunk: {e}") from e


def _meta_from(path: str, chunk_id: int, meta: dict, index_offset: int,
               version: int) -> ChunkMeta:
    tri, tok, ngr = meta["trigrams"], meta["tokens"], meta.get("ngrams")
    body_offset = index_offset + int(tri["bytes"]) + int(tok["bytes"]) + (
        int(ngr["bytes"]) if ngr else 0)
    sections: list[Section] = []
    if version == 1:
        body_bytes, body_crc = int(meta["body"]["bytes"]), int(meta["body"]["crc"])
    else:
        offset = 0
        for s in [meta["columns"][name] for name in COLUMNS] + list(meta["line_blocks"]):
            sections.append(Section(offset, int(s["bytes"]), int(s["crc"]), int(s["raw"]),
                                    int(s.get("width", 0)), int(s.get("unit", 1)),
                                    int(s.get("rows", 0))))
            offset += int(s["bytes"])
        body_bytes, body_crc = offset, 0
    return ChunkMeta(
        path=path, id=chunk_id, min_ts=int(meta["min_ts"]), max_ts=int(meta["max_ts"]),
        entries=int(meta["entries"]), raw_bytes=int(meta["raw_bytes"]),
        wal_segment=int(meta["wal_segment"]),
        streams=tuple(labels_from_json(json.dumps(s)) for s in meta["streams"]),
        index_offset=index_offset,
        trigrams=(int(tri["bytes"]), int(tri["crc"]), int(tri["m"]), int(tri["k"])),
        tokens=(int(tok["bytes"]), int(tok["crc"]), int(tok["m"]), int(tok["k"])),
        body_offset=body_offset, body_bytes=body_bytes, body_crc=body_crc, version=version,
        levels=tuple(str(v) for v in meta.get("levels", ())), sections=tuple(sections),
        ngrams=(int(ngr["bytes"]), int(ngr["crc"]), int(ngr["m"]), int(ngr["k"])) if ngr
        else None)


def _read_section(meta: ChunkMeta, offset: int, length: int, crc: int | None,
                  what: str) -> bytes:
    with open(meta.path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    if len(data) != length or (crc is not None and zlib.crc32(data) != crc):
        raise StorageError(f"{meta.path}: corrupt chunk: {what} at offset {offset}: crc mismatch")
    return data


def read_index(meta: ChunkMeta) -> TokenIndex:
    filters = [meta.trigrams, meta.tokens] + ([meta.ngrams] if meta.ngrams else [])
    data = _read_section(meta, meta.index_offset, sum(f[0] for f in filters), None,
                         "token index")
    blooms: list[Bloom] = []
    pos = 0
    for size, crc, m, k in filters:
        bits = data[pos:pos + size]
        if zlib.crc32(bits) != crc:
            raise StorageError(f"{meta.path}: corrupt chunk: token index at offset "
                               f"{meta.index_offset + pos}: crc mismatch")
        blooms.append(Bloom(bits, m, k))
        pos += size
    return TokenIndex(*blooms)


def read_body(meta: ChunkMeta) -> Chunk1 | Chunk2:
    """The chunk's rows: format 2 reads its columns now and line blocks when asked; format 1
    decompresses and decodes the whole body."""
    if meta.version == 2:
        return Chunk2(meta.path, meta.body_offset, meta.sections, meta.streams, meta.levels,
                      meta.entries, meta.min_ts)
    data = _read_section(meta, meta.body_offset, meta.body_bytes, meta.body_crc, "body")
    try:
        raw = cramjam.zstd.decompress(data)
    except Exception as e:  # cramjam raises its own DecompressionError
        raise StorageError(f"{meta.path}: corrupt chunk body: {e}") from e
    return Chunk1(decode(memoryview(raw), f"{meta.path}: body"))
