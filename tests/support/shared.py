"""Where the project's shared data lives: ``shared/`` beside the repository (as in CI), or
``$VIGIL_SHARED``. Conformance suites read upstream test data from there."""

import os
from pathlib import Path

SHARED = Path(os.environ.get("VIGIL_SHARED", Path(__file__).resolve().parents[3] / "shared"))
CONFORMANCE = SHARED / "conformance"


def conformance_dir(name: str) -> Path:
    """``shared/conformance/<name>``; a missing directory fails the test rather than skipping it."""
    path = CONFORMANCE / name
    assert path.is_dir(), f"conformance data missing: {path} (set VIGIL_SHARED)"
    return path
