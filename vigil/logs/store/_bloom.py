"""The token index of a chunk: a Bloom filter of the byte trigrams of its lines.

A needle (a ``|=`` substring) can only occur in a chunk that holds every trigram of the
needle's UTF-8 bytes, so a chunk whose filter lacks one is skipped without being read.
Trigrams rather than words because a needle is any substring (a request id, half a path).

Trigram ``t = b0 << 16 | b1 << 8 | b2``. Two hashes ``h1 = fmix32(t)``,
``h2 = fmix32(t ^ 0x5BD1E995) | 1`` (MurmurHash3's finaliser), probe ``i`` sets bit
``(h1 + i * h2) mod m`` for ``i < k``; bit ``j`` is bit ``j & 7`` of byte ``j >> 3``.
A few bits per trigram suffice: a needle of n bytes brings n - 2 trigrams that must all
hit, so a 6 % false positive per trigram leaves a 10-byte needle about 1e-9 per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_M32 = np.uint64(0xFFFFFFFF)
BITS_PER_TRIGRAM = 6
HASHES = 3


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(16))
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h = h ^ (h >> np.uint64(13))
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    return h ^ (h >> np.uint64(16))


def trigrams(data: bytes) -> np.ndarray:
    """The distinct trigrams of ``data`` as uint64 values (empty below 3 bytes)."""
    b = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    if len(b) < 3:
        return np.zeros(0, dtype=np.uint64)
    return np.unique((b[:-2] << np.uint64(16)) | (b[1:-1] << np.uint64(8)) | b[2:])


def _probes(tri: np.ndarray, m: int, k: int) -> np.ndarray:
    h1 = _fmix32(tri)
    h2 = _fmix32(tri ^ np.uint64(0x5BD1E995)) | np.uint64(1)
    return np.concatenate([(h1 + np.uint64(i) * h2) % np.uint64(m) for i in range(k)])


@dataclass(frozen=True, slots=True)
class Bloom:
    bits: bytes  # m bits, little-endian bit order within each byte
    m: int
    k: int

    @classmethod
    def build(cls, data: bytes, bits_per_trigram: int = BITS_PER_TRIGRAM,
              k: int = HASHES) -> Bloom:
        tri = trigrams(data)
        m = max(64, -(-len(tri) * bits_per_trigram // 8) * 8)
        flags = np.zeros(m, dtype=bool)
        if len(tri):
            flags[_probes(tri, m, k)] = True
        return cls(np.packbits(flags, bitorder="little").tobytes(), m, k)

    def may_contain(self, needle: str) -> bool:
        """False only when no line of the chunk can contain ``needle``."""
        tri = trigrams(needle.encode("utf-8", "surrogatepass"))
        if not len(tri):
            return True
        idx = _probes(tri, self.m, self.k)
        packed = np.frombuffer(self.bits, dtype=np.uint8)
        hit = (packed[idx >> np.uint64(3)] >> (idx & np.uint64(7)).astype(np.uint8)) & 1
        return bool(hit.all())
