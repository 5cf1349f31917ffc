"""Vigil and Prometheus 2.42 holding the same series, for tests that compare their answers:
Prometheus over blocks made by ``promtool``, Vigil as the real app (:class:`vigil.app.App`)
with the series appended to its TSDB and served through a Starlette test client."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from starlette.testclient import TestClient

from tests.support.prometheus import Prometheus, create_blocks, running_prometheus
from vigil.app import App, check
from vigil.model.labels import Labels

# (metric name, labels, [(timestamp ms, value), ...])
Series = tuple[str, dict[str, str], list[tuple[int, float]]]

QUIET_CONFIG = "default_rules: false\ncollectors: {host: {enabled: false}}\n"


@contextmanager
def vigil_and_prometheus(root: Path, series: Sequence[Series], *,
                         vigil_config: str = QUIET_CONFIG,
                         prometheus_args: Sequence[str] = ()
                         ) -> Iterator[tuple[Prometheus, TestClient]]:
    """Both servers over ``series`` under ``root``; ``vigil_config``: Vigil's config file (no
    default rules and no host collector unless said), ``prometheus_args``: extra flags."""
    create_blocks(list(series), root / "prometheus")
    (root / "vigil.yml").write_text(vigil_config)
    app = App(check(str(root / "vigil.yml")), data_dir=str(root / "vigil"), listen="127.0.0.1:0")
    try:
        appender = app.db.appender()
        for name, labels, points in series:
            for ts, value in points:
                appender.append(Labels({"__name__": name, **labels}), ts, value)
        appender.commit()
        with running_prometheus(root / "prometheus", extra_args=prometheus_args) as prometheus, \
                TestClient(app.web, raise_server_exceptions=False) as vigil:
            yield prometheus, vigil
    finally:
        app.close()
