"""The token index of a chunk: two Bloom filters that let a needle search skip the chunk.

* **tokens**: every word of every line, a word being a maximal run of *word bytes* (ASCII
  letters, digits, ``_`` and every byte >= 0x80, so UTF-8 letters stay inside words), except
  words of digits only (ports, sizes, durations, pids: most of a log's distinct words, so
  the filter is about a seventh of the size; a long number is still covered by the 5-grams
  below, a short one is rarely worth skipping for). A word
  of a needle that has a non-word byte on both sides *within the needle* (``needle`` in
  ``req-needle-5e1f``) must be a whole word of any matching line, so a chunk lacking it is
  skipped. Word hash: 64-bit FNV-1a of its bytes.
* **trigrams**: every 3-byte window of the lines (``b0 << 16 | b1 << 8 | b2``); a matching line
  holds all of the needle's. Cheap (log text has few distinct trigrams) and it covers the
  needles the token filter cannot: a single word fragment (``5e1f0c``), whose trigrams, though,
  are common in any chunk of random hex ids; such a needle is rarely skipped.
* **long-word 5-grams** (chunk format 2): every 5-byte window inside a word of at least
  ``LONG_WORD`` bytes (``b0 << 32 | ... | b4``). A needle's own run of that many word bytes
  (``5e1f0c9a4b``, bounded or not) lies inside such a word of any matching line, so each of
  its 5-grams must be there. Long words are mostly ids and hashes, whose 5-grams are sparse
  (a 12-digit hex fragment has 8 of about a million possible), so this skips what the
  trigrams cannot. One probe and 2 bits per value: about 39 % false positives per 5-gram,
  under 1 % for the 8 of a 12-byte fragment. Built without sorting: the distinct count is
  estimated (linear counting over a 2^22-bit map), then every 5-gram sets its bit.

Both filters: value ``v`` → ``z = splitmix64(v)``, ``h1 = z & 0xFFFFFFFF``,
``h2 = (z >> 32) | 1``, probe ``i < k`` sets bit ``(h1 + i * h2) mod m``; bit ``j`` is bit
``j & 7`` of byte ``j >> 3``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_U = np.uint64
_M32 = _U(0xFFFFFFFF)
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_M64 = (1 << 64) - 1
TOKEN_BITS, TOKEN_HASHES = 8, 4  # one word decides: about 2.4 % false positives
TRIGRAM_BITS, TRIGRAM_HASHES = 6, 3  # many trigrams decide together
LONG_WORD, NGRAM = 8, 5
NGRAM_BITS = 2  # one probe (k = 1)
_COUNT_BITS = 1 << 22


def is_word_byte(b: int) -> bool:
    return b >= 0x80 or b == 0x5F or 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A


def long_word_ngram_bloom(data: bytes) -> Bloom:
    """The long-word 5-gram filter of ``data``."""
    from vigil.logs.store import _bloom_kernels  # numba: only once logs are stored

    h1 = _bloom_kernels.long_word_ngram_hashes(np.frombuffer(data, dtype=np.uint8),
                                                LONG_WORD, NGRAM)
    seen = np.zeros(_COUNT_BITS, dtype=bool)
    seen[h1 & np.uint32(_COUNT_BITS - 1)] = True
    empty = _COUNT_BITS - int(np.count_nonzero(seen))
    distinct = _COUNT_BITS * np.log(_COUNT_BITS / max(empty, 1))  # linear counting
    m = max(64, -(-int(distinct * NGRAM_BITS) // 8) * 8)
    flags = np.zeros(m, dtype=bool)
    flags[h1 % np.uint32(m)] = True
    return Bloom(np.packbits(flags, bitorder="little").tobytes(), m, 1)


def needle_ngrams(needle: bytes) -> np.ndarray:
    """The 5-grams of the needle's runs of >= LONG_WORD word bytes."""
    values: list[int] = []
    run = bytearray()
    for b in [*needle, 0x20]:
        if is_word_byte(b):
            run.append(b)
            continue
        if len(run) >= LONG_WORD:
            values += [int.from_bytes(run[j:j + NGRAM], "big") for j in range(len(run) - NGRAM + 1)]
        run.clear()
    return np.array(values, dtype=np.uint64)


def fnv1a(word: bytes) -> int:
    h = FNV_OFFSET
    for b in word:
        h = ((h ^ b) * FNV_PRIME) & _M64
    return h


def _distinct(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return values
    v = np.sort(values)  # sort-based: faster than np.unique's hashing for these sizes
    return v[np.concatenate(([True], v[1:] != v[:-1]))]


def token_values(data: bytes) -> np.ndarray:
    """The distinct word hashes of ``data``."""
    from vigil.logs.store import _bloom_kernels

    words = np.frombuffer(data, dtype=np.uint8)
    return _distinct(_bloom_kernels.word_hashes(words, _U(FNV_OFFSET), _U(FNV_PRIME)))


def needle_tokens(needle: bytes) -> np.ndarray:
    """Hashes of the needle's words that have a non-word byte on both sides in the needle."""
    words, start = [], None
    for i, b in enumerate(needle):
        if is_word_byte(b):
            if start is None:
                start = i
        else:
            if start is not None and start > 0 and not needle[start:i].isdigit():
                words.append(fnv1a(needle[start:i]))
            start = None
    return np.array(words, dtype=np.uint64)


def trigram_values(data: bytes) -> np.ndarray:
    """The distinct trigrams of ``data`` (none below 3 bytes)."""
    if len(data) < 3:
        return np.zeros(0, dtype=np.uint64)
    if len(data) < 1 << 16:
        b = np.frombuffer(data, dtype=np.uint8).astype(np.uint32)
        return _distinct(((b[:-2] << 16) | (b[1:-1] << 8) | b[2:]).astype(np.uint64))
    # every possible trigram, one pass: cheaper than sorting (or than numpy's temporaries)
    from vigil.logs.store import _bloom_kernels

    seen = _bloom_kernels.trigram_set(np.frombuffer(data, dtype=np.uint8))
    return np.flatnonzero(seen).astype(np.uint64)


def _probes(values: np.ndarray, m: int, k: int) -> np.ndarray:
    z = values + _U(0x9E3779B97F4A7C15)  # splitmix64's finaliser; uint64 arithmetic wraps
    z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
    z = z ^ (z >> _U(31))
    h1, h2 = z & _M32, (z >> _U(32)) | _U(1)
    return np.concatenate([(h1 + _U(i) * h2) % _U(m) for i in range(k)])


@dataclass(frozen=True, slots=True)
class Bloom:
    bits: bytes  # m bits
    m: int
    k: int

    @classmethod
    def build(cls, values: np.ndarray, bits_per_value: int, k: int) -> Bloom:
        m = max(64, -(-len(values) * bits_per_value // 8) * 8)
        flags = np.zeros(m, dtype=bool)
        if len(values):
            flags[_probes(values, m, k)] = True
        return cls(np.packbits(flags, bitorder="little").tobytes(), m, k)

    def has_all(self, values: np.ndarray) -> bool:
        if not len(values):
            return True
        idx = _probes(values, self.m, self.k)
        packed = np.frombuffer(self.bits, dtype=np.uint8)
        return bool(((packed[idx >> _U(3)] >> (idx & _U(7)).astype(np.uint8)) & 1).all())


@dataclass(frozen=True, slots=True)
class TokenIndex:
    trigrams: Bloom
    tokens: Bloom
    ngrams: Bloom | None = None  # format 1 chunks have none

    @classmethod
    def build(cls, lines_utf8: bytes) -> TokenIndex:
        return cls(Bloom.build(trigram_values(lines_utf8), TRIGRAM_BITS, TRIGRAM_HASHES),
                   Bloom.build(token_values(lines_utf8), TOKEN_BITS, TOKEN_HASHES),
                   long_word_ngram_bloom(lines_utf8))

    def may_contain(self, needle: str) -> bool:
        """False only when no line of the chunk can contain ``needle``."""
        data = needle.encode("utf-8", "surrogatepass")
        return (self.tokens.has_all(needle_tokens(data))
                and self.trigrams.has_all(trigram_values(data))
                and (self.ngrams is None or self.ngrams.has_all(needle_ngrams(data))))
