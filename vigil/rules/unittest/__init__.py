"""Rule unit tests in ``promtool test rules`` format (R2), run on Vigil's own engines.

:func:`run_test_file` runs one file and returns a :class:`FileOutcome`;
:func:`run_test_files` runs several, printing promtool's report, and returns the exit code
(0 when every file passed). The file format is promtool's (see ``docs/rules.md``). Each
test group runs on an empty store the caller's :data:`StorageFactory` opens: this stage
may not build one itself (``vigil rules test`` passes a TSDB in a temporary directory).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vigil.rules.unittest.runner import (
    FileOutcome,
    StorageFactory,
    UnitTestOptions,
    run_test_file,
)

__all__ = ["FileOutcome", "StorageFactory", "UnitTestOptions", "run_test_file", "run_test_files"]


def run_test_files(paths: Sequence[str], options: UnitTestOptions | None = None, *,
                   storage: StorageFactory,
                   out: Callable[[str], None] = print,
                   err: Callable[[str], None] = print) -> int:
    """Run each file and report as promtool does (``Unit Testing:  FILE``, then ``SUCCESS``
    or ``FAILED:`` and the errors on ``err``). Returns 0 if all passed, else 1."""
    failed = False
    for path in paths:
        out(f"Unit Testing:  {path}")
        res = run_test_file(path, options, storage=storage)
        for w in res.warnings:
            err(f"  WARNING: {w}")
        for s in res.skipped:
            out(f"  SKIPPED:\n{s}")
        if res.errors:
            err("  FAILED:")
            for e in res.errors:
                err(e)
                out("")
            failed = True
        else:
            out("  SUCCESS")
        out("")
    return 1 if failed else 0
