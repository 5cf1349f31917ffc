"""numba's ``njit`` as every compiled kernel in Vigil uses it.

The GIL is released, because kernels run on query, ingest and log threads at the same time.
Machine code is cached on disk (numba's ``cache=True``): in ``__pycache__`` next to the
kernel's source, else in the user's cache directory (``~/.cache/numba``), else where
``NUMBA_CACHE_DIR`` points. Where nothing is writable, numba raises at decoration, and the
kernel is compiled in every process instead.

Only kernel modules import this, and they are imported lazily (the first time an input is
big enough to need them), so numba and llvmlite (some 70 MB) stay out of an idle Vigil
(tests/test_startup_footprint.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba

__all__ = ["njit"]


def njit(fn: Callable[..., Any], **options: Any) -> Any:
    """``fn`` compiled without the GIL, cached on disk where possible; ``options`` go to
    ``numba.njit`` (e.g. ``fastmath``)."""
    try:
        return numba.njit(cache=True, nogil=True, **options)(fn)
    except RuntimeError:  # numba found no writable cache directory
        return numba.njit(nogil=True, **options)(fn)
