"""The compiled (numba) loops of the chunk token index (:mod:`vigil.logs.store._bloom`), in a
module of their own that is imported the first time a chunk's filters are built or a needle is
hashed: a Vigil that stores no logs never loads numba and llvmlite (some 70 MB). The
constants (FNV-1a's, the long-word sizes) are :mod:`vigil.logs.store._bloom`'s, passed in.

Compiled code is cached on disk (numba's ``cache=True``) in ``__pycache__`` next to this file,
or in the user's cache directory where that is not writable.
"""

from __future__ import annotations

import numpy as np

from vigil.compiled import njit

__all__ = ["long_word_ngram_hashes", "trigram_set", "word_hashes"]


@njit
def word_hashes(data: np.ndarray, fnv_offset: np.uint64, fnv_prime: np.uint64
                ) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty(len(data) // 2 + 1, dtype=np.uint64)
    n = 0
    h = fnv_offset
    inside = False
    digits_only = True
    for b in data:
        if b >= 0x80 or b == 0x5F or 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A:
            h = (h ^ np.uint64(b)) * fnv_prime
            inside = True
            digits_only = digits_only and 0x30 <= b <= 0x39
        elif inside:
            if not digits_only:
                out[n] = h
                n += 1
            h = fnv_offset
            inside = False
            digits_only = True
    if inside and not digits_only:
        out[n] = h
        n += 1
    return out[:n]


@njit
def trigram_set(data: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    seen = np.zeros(1 << 24, dtype=np.bool_)
    t = (np.uint32(data[0]) << 8) | np.uint32(data[1])
    for i in range(2, len(data)):
        t = ((t << 8) | np.uint32(data[i])) & np.uint32(0xFFFFFF)
        seen[t] = True
    return seen


@njit
def _splitmix_low(v: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    z = v + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return z & np.uint64(0xFFFFFFFF)


@njit
def long_word_ngram_hashes(data: np.ndarray, long_word: int, ngram: int
                           ) -> np.ndarray:  # pragma: no cover - compiled
    """``h1`` (the low half of splitmix64, as in ``_probes``) of every 5-gram inside a word
    of >= ``long_word`` bytes, duplicates included."""
    out = np.empty(len(data), dtype=np.uint32)
    count = 0
    start = -1
    n = len(data)
    for i in range(n + 1):
        b = data[i] if i < n else 0
        if i < n and (b >= 0x80 or b == 0x5F or 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A
                      or 0x61 <= b <= 0x7A):
            if start < 0:
                start = i
            continue
        if start >= 0 and i - start >= long_word:
            v = np.uint64(0)
            for j in range(start, i):
                v = ((v << np.uint64(8)) | np.uint64(data[j])) & np.uint64(0xFFFFFFFFFF)
                if j - start >= ngram - 1:
                    out[count] = np.uint32(_splitmix_low(v))
                    count += 1
        start = -1
    return out[:count]
