"""The loops of :mod:`vigil.promql._kernel_loops` compiled by numba (imported only when a big
input first arrives: numba and llvmlite hold some 70 MB of memory once loaded).

Each recorded kernel is copied (same code object, so the same file and line for numba's cache)
into one namespace of this module's own, where every kernel's name is bound to its numba
dispatcher: a kernel calling a helper then calls the compiled helper. The plain functions in
:mod:`vigil.promql._kernel_loops` stay as they are.

Compiled code is cached on disk (numba's ``cache=True``): in ``__pycache__`` next to
``_kernel_loops.py``, or, where that is not writable, in the user's cache directory
(``~/.cache/numba``), or where ``NUMBA_CACHE_DIR`` points. With no writable place at all the
kernels are compiled in every process (a few seconds at the first big query).
"""

from __future__ import annotations

import types

from vigil.compiled import njit
from vigil.promql import _kernel_loops

__all__ = ["compiled"]


def _compile() -> types.SimpleNamespace:
    namespace = dict(vars(_kernel_loops))
    for name, options in _kernel_loops.KERNELS.items():
        plain = namespace[name]
        copy = types.FunctionType(plain.__code__, namespace, name, plain.__defaults__,
                                  plain.__closure__)
        copy.__qualname__ = plain.__qualname__
        copy.__module__ = plain.__module__
        namespace[name] = njit(copy, **options)
    return types.SimpleNamespace(**{name: namespace[name] for name in _kernel_loops.KERNELS})


compiled = _compile()
