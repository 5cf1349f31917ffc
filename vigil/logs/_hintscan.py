"""The secret detector's pre-check: which texts of a batch hold which patterns' hints, in one
compiled pass over the batch.

Python's substring search costs about 0.1 ms per hint per 150 kB, and the built-in patterns
have some 30 hints, which alone would cost more CPU than storing the lines. This pass reads the
batch once: a 65,536-entry table keyed by the two first bytes of each hint says which hints may
start at a byte, and only those are compared. The result is a matrix ``texts × patterns`` of
0/1: the regexes then run only where a 1 is.

Texts are UTF-8 bytes joined with NUL; a text holding a NUL itself would shift the count, so the
caller checks for that and takes the slow path (every pattern's hints searched per text).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["HintTable"]


class HintTable:
    """The hints of ``patterns`` (each a sequence of strings of at least two characters,
    ``()`` for a pattern tried everywhere) compiled for :meth:`scan`."""

    def __init__(self, hints_per_pattern: Sequence[Sequence[str]]) -> None:
        self.n_patterns = len(hints_per_pattern)
        self.always = np.array([not hints for hints in hints_per_pattern], dtype=np.uint8)
        hints = sorted(((h.encode("utf-8", "surrogatepass"), p)
                        for p, hs in enumerate(hints_per_pattern) for h in hs),
                       key=lambda hp: hp[0][:2])
        if any(len(h) < 2 for h, _ in hints):
            raise ValueError("a hint must be at least two bytes long")
        self.bigram_start = np.zeros(65536, dtype=np.int32)
        self.bigram_end = np.zeros(65536, dtype=np.int32)
        for j, (h, _) in enumerate(hints):
            key = h[0] << 8 | h[1]
            if self.bigram_end[key] == 0:
                self.bigram_start[key] = j
            self.bigram_end[key] = j + 1
        self.hint_bytes = np.frombuffer(b"".join(h for h, _ in hints) or b"\0", dtype=np.uint8)
        self.hint_len = np.array([len(h) for h, _ in hints], dtype=np.int64)
        self.hint_off = np.concatenate(([0], np.cumsum(self.hint_len)[:-1])).astype(np.int64)
        self.hint_pattern = np.array([p for _, p in hints], dtype=np.int64)

    def scan(self, texts: Sequence[str]) -> np.ndarray | None:
        """``texts × patterns`` 0/1 (1: a hint of the pattern occurs in the text, or the
        pattern has no hints); None when a text holds a NUL (the caller's slow path)."""
        joined = "\x00".join(texts)
        if joined.count("\x00") != len(texts) - 1:
            return None
        data = np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8)
        from vigil.logs import _hintscan_kernel  # numba: only once logs are ingested

        found = _hintscan_kernel.scan(data, len(texts), self.n_patterns, self.bigram_start, self.bigram_end,
                      self.hint_bytes, self.hint_off, self.hint_len, self.hint_pattern)
        found |= self.always
        return found
