"""Chunk format 2: int columns in every width, the lines in several blocks (a needle search
reads only blocks with candidate rows), fields and time order across streams."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from vigil.logs.model import LogEntry, StreamSelection
from vigil.logs.store import LogStore, Options, _chunk2
from vigil.logs.store._bloom import (
    TokenIndex,
    fnv1a,
    needle_ngrams,
    needle_tokens,
    token_values,
    trigram_values,
)
from vigil.logs.store._chunk2 import decode_ints, encode_ints
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher

S = 1_000_000_000


@pytest.mark.parametrize("values,signed,width", [
    ([0, 1, 255], False, 1), ([0, 256], False, 2), ([1 << 20], False, 4),
    ([1 << 40], False, 8), ([-128, 127], True, 1), ([-129], True, 2),
    ([-(1 << 31)], True, 4), ([-(1 << 62), 5], True, 8), ([], True, 1)])
def test_int_columns_take_the_smallest_width_and_round_trip(values, signed, width):
    data, w = encode_ints(np.array(values, dtype=np.int64), signed)
    assert w == width and len(data) == width * len(values)
    assert decode_ints(data, len(values), w, signed).tolist() == values


def test_byte_planes_are_transposed():
    data, w = encode_ints(np.array([0x0102, 0x0304], dtype=np.int64), signed=False)
    assert (w, data) == (2, bytes([0x02, 0x04, 0x01, 0x03]))


def test_lines_in_blocks_round_trip_and_search_reads_only_candidate_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(_chunk2, "BLOCK_BYTES", 300)
    written = [LogEntry(1_700_000_000 * S + (i * 37 % 400) * S // 10,
                        Labels.of(app=["b", "a", "c"][i % 3]), f"line {i} wörd{i % 7} " + "x" * (i % 13),
                        ["info", "warn"][i % 2], (("k", f"v{i}"),) if i % 5 == 0 else ())
               for i in range(400)]
    path = tmp_path / "s"
    with LogStore.open(str(path), Options(chunk_bytes=1 << 30)) as store:
        store.append(written)
        store.flush()
        (chunk_file,) = path.glob("chunks/*/*.chunk")
        raw = chunk_file.read_bytes()
        assert raw[:8] == b"VLOGCHK\x02"
        (meta_len,) = struct.unpack_from("<I", raw, 8)
        meta = json.loads(raw[16:16 + meta_len])
        assert len(meta["line_blocks"]) > 10 and meta["streams"][0] == [["app", "a"]]
        assert sum(b["rows"] for b in meta["line_blocks"]) == 400
        expected = sorted(written, key=lambda e: (e.ts_ns, e.labels))
        assert list(store.select(StreamSelection((), 0, 1 << 62, backward=False))) == expected
        read: list[int] = []
        real = _chunk2.Chunk2.block
        monkeypatch.setattr(_chunk2.Chunk2, "block", lambda self, b: read.append(b) or real(self, b))
        only_b = StreamSelection((Matcher.equal("app", "b"),), 0, 1 << 62, ("wörd3 ",), False)
        assert list(store.select(only_b)) == [
            e for e in expected if e.labels == Labels.of(app="b") and "wörd3 " in e.line]
        assert 0 < len(set(read)) < len(meta["line_blocks"]) / 2  # only stream b's blocks


def test_long_word_ngram_filter_skips_absent_id_fragments_and_never_a_present_one():
    rng = np.random.default_rng(5)
    ids = [f"{rng.integers(1 << 62):016x}{rng.integers(1 << 62):016x}" for _ in range(3000)]
    lines = [f'{{"msg":"ok","trace_id":"{i}","user":"zürich_{n % 7}"}}' for n, i in enumerate(ids)]
    index = TokenIndex.build("".join(lines).encode())
    assert index.ngrams is not None and index.ngrams.k == 1
    for i in ids[::10]:  # fragments of present ids, from anywhere inside them
        a = int(rng.integers(0, 20))
        assert index.may_contain(i[a:a + 12]) and index.may_contain(i[a:a + 8])
    assert index.may_contain("zürich_3")  # multi-byte UTF-8 inside a long word
    absent = [f"{rng.integers(1 << 47):012x}" for _ in range(500)]
    assert sum(index.may_contain(a) for a in absent) <= 10  # the trigrams alone pass all
    assert all(index.trigrams.has_all(trigram_values(a.encode())) for a in absent[:50])
    assert list(needle_ngrams(b"ab-1234567")) == []  # no run of 8 word bytes
    assert len(needle_ngrams(b"x 12345678 y")) == 4 and len(needle_ngrams(b"123456789")) == 5


def test_words_of_digits_only_are_not_in_the_word_filter():
    assert sorted(token_values(b"ab 123 c4 _9")) == sorted(
        {fnv1a(b"ab"), fnv1a(b"c4"), fnv1a(b"_9")})
    assert list(needle_tokens(b"port 51234 ssh")) == []
    assert list(needle_tokens(b"x c4 y")) == [fnv1a(b"c4")]
