"""The compiled (numba) pass of the secret detector's pre-check (:mod:`vigil.logs._hintscan`),
in a module of its own imported the first time a batch of log lines is scanned: a Vigil that
ingests no logs never loads numba and llvmlite (some 70 MB).

Compiled code is cached on disk (numba's ``cache=True``) in ``__pycache__`` next to this file,
or in the user's cache directory where that is not writable.
"""

from __future__ import annotations

import numpy as np

from vigil.compiled import njit

__all__ = ["scan"]


@njit
def scan(data: np.ndarray, n_texts: int, n_patterns: int, bigram_start: np.ndarray,
          bigram_end: np.ndarray, hint_bytes: np.ndarray, hint_off: np.ndarray,
          hint_len: np.ndarray, hint_pattern: np.ndarray) -> np.ndarray:  # pragma: no cover
    found = np.zeros((n_texts, n_patterns), dtype=np.uint8)
    text = 0
    size = len(data)
    for i in range(size - 1):
        b = data[i]
        if b == 0:
            text += 1
            continue
        key = (np.int64(b) << 8) | np.int64(data[i + 1])
        for j in range(bigram_start[key], bigram_end[key]):
            length = hint_len[j]
            if i + length > size:
                continue
            off = hint_off[j]
            same = True
            for k in range(2, length):
                if data[i + k] != hint_bytes[off + k]:
                    same = False
                    break
            if same:
                found[text, hint_pattern[j]] = 1
    return found
