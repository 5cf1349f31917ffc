"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.support.vigil_proc import VigilProcess


@pytest.fixture(scope="module")
def alerting_vigil(tmp_path_factory):
    """A running Vigil doing alerting only: no default rules, no host collector, one
    receiver ``ops`` grouping by alertname. One per test module."""
    tmp = tmp_path_factory.mktemp("alerting-vigil")
    config = tmp / "vigil.yml"
    config.write_text("default_rules: false\ncollectors: {host: {enabled: false}}\n"
                      "alerting:\n  receivers: [{name: ops}]\n  route: {receiver: ops, group_by: [alertname]}\n")
    proc = VigilProcess(config, tmp / "data").start()
    yield proc
    proc.stop()
