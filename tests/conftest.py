"""Fixtures shared by the whole test tree: ``tsdb_store``, a real TSDB in a temp directory
(:mod:`tests.support.tsdb_store`); ``browser``, headless Chromium (:mod:`tests.support.browser`)."""

pytest_plugins = ("tests.support.tsdb_store", "tests.support.browser")
