"""Every route of the app is classified, and no mutating route is open to anonymous users
or viewers: checked on the table and by calling each route through the real gate."""

from __future__ import annotations

import dataclasses
import re

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy
from vigil.web.access_routes import READ_ONLY_UNSAFE, ROUTES, classify, iter_routes

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def service(tmp_path):
    store = Store.open_in(str(tmp_path))
    service = AccessService(store.access)
    service.add_user("root", Role.ADMIN, actor="test", password="root-pw")
    yield service
    store.close()


def full_app(service):
    # Every optional part present, so that every route exists.
    deps = dataclasses.replace(make_deps(), alerting=object(), remote_write=object(),
                               pushgateway=object(), access=AccessPolicy(service))
    return create_app(deps)


def test_every_route_is_classified(service):
    routes = list(iter_routes(full_app(service).routes))
    assert len(routes) > 40
    missing = []
    for path, methods in routes:
        for method in methods:
            table = ROUTES.get(path, {})
            if method not in table and "*" not in table and not (
                    method == "HEAD" and "GET" in table):
                missing.append(f"{method} {path}")
    assert missing == []
    # The table names no route the app does not have (a renamed route would leave a stale
    # line that protects nothing).
    present = {path for path, _ in routes}
    assert set(ROUTES) - present == set()


def test_mutating_routes_need_more_than_a_viewer(service):
    for path, methods in ROUTES.items():
        for method in set(methods) & UNSAFE:
            need = classify(_example(path), method)
            if (path, method) in READ_ONLY_UNSAFE:
                continue
            assert need.role is not None and need.role > Role.VIEWER, f"{method} {path}"
    assert all(reason for reason in READ_ONLY_UNSAFE.values())


def _example(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", template)


def test_calling_every_mutating_route_as_anonymous_or_viewer_is_refused(service):
    viewer = service.create_token("viewer-token", Role.VIEWER, actor="test")
    with TestClient(full_app(service)) as client:
        checked = 0
        for path, methods in iter_routes(full_app(service).routes):
            for method in methods & UNSAFE:
                if (path, method) in READ_ONLY_UNSAFE:
                    continue
                url = _example(path)
                anonymous = client.request(method, url)
                assert anonymous.status_code == 401, f"{method} {path}"
                as_viewer = client.request(method, url, headers={"Authorization": f"Bearer {viewer}"})
                assert as_viewer.status_code == 403, f"{method} {path}"
                checked += 1
        assert checked >= 10
        # Reads are open to the viewer and closed to anonymous callers.
        assert client.get("/api/v1/targets").status_code == 401
        assert client.get("/api/v1/targets",
                          headers={"Authorization": f"Bearer {viewer}"}).status_code == 200


def test_unknown_routes_fall_back_to_strict_classes():
    assert classify("/not/a/route", "GET").role is Role.VIEWER
    assert classify("/not/a/route", "POST").role is Role.ADMIN
