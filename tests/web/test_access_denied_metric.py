"""Every request the access gate refuses is counted by status and reason on Vigil's own
/metrics (the security dashboard charts them), each reason there from the start at 0."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.incidents.support import assembled_app, basic

CONFIG = """
default_rules: false
collectors: {host: {enabled: false}}
users:
  - {name: root, role: admin, password_file: root.pw}
  - {name: vic, role: viewer, password_file: vic.pw}
"""


def _denied(metrics: str) -> dict[tuple[str, str], float]:
    return {(code, reason): float(value) for code, reason, value in re.findall(
        r'^vigil_http_access_denied_total\{code="(\d+)",reason="(\w+)"\} (\S+)$', metrics, re.M)}


def test_refusals_are_counted_by_reason(tmp_path) -> None:
    for name in ("root", "vic"):
        (tmp_path / f"{name}.pw").write_text(f"{name}-pw")
    app = assembled_app(tmp_path, CONFIG)
    try:
        client = TestClient(app.web)
        before = _denied(client.get("/metrics", headers=basic("root")).text)
        assert set(before) == {("401", "unauthenticated"), ("403", "forbidden"), ("403", "csrf"),
                               ("403", "cross_origin"), ("429", "throttled")}
        assert set(before.values()) == {0.0}
        assert client.get("/api/v1/query", params={"query": "1"}).status_code == 401
        assert client.get("/api/v1/query", params={"query": "1"},
                          headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        assert client.post("/api/v2/silences", json={}, headers=basic("vic")).status_code == 403
        after = _denied(client.get("/metrics", headers=basic("root")).text)
        assert after[("401", "unauthenticated")] == 2 and after[("403", "forbidden")] == 1
        assert after[("403", "csrf")] == 0
    finally:
        app.store.close()
        app.db.close()
