"""Fixtures shared by the whole test tree: ``tsdb_store``, a real TSDB in a temp directory
(:mod:`tests.support.tsdb_store`); ``browser``, headless Chromium (:mod:`tests.support.browser`)."""

import time

pytest_plugins = ("tests.support.tsdb_store", "tests.support.browser")


_RUN_STARTED = time.time()  # screenshots newer than this were taken by this run


def pytest_terminal_summary(terminalreporter) -> None:
    """Name the folder of the screenshots this run's browser tests took, for a person to review."""
    from tests.support.browser import ARTIFACTS

    taken = [p for p in ARTIFACTS.rglob("*.png") if p.stat().st_mtime >= _RUN_STARTED] \
        if ARTIFACTS.is_dir() else []
    if taken:
        terminalreporter.write_sep("-", "screenshots for review")
        terminalreporter.write_line(f"{len(taken)} screenshots in {ARTIFACTS} "
                                    f"(every page of the nav: {ARTIFACTS / 'pages'})")
