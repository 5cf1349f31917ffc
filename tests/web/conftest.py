"""Fixtures for the web tests: the app over fakes (``deps``, ``client``) and, for the
single sign-on tests, an access service with an admin ``root`` and Vigil served with SSO
through the test OpenID provider (``sso_service``, ``served``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.access.oidc_provider import Provider
from tests.web.fakes import make_deps
from tests.web.sso_support import serve_vigil_with_sso
from vigil.access import AccessService, Role
from vigil.state import Store
from vigil.web import WebDeps, create_app


@pytest.fixture
def deps() -> WebDeps:
    return make_deps()


@pytest.fixture
def client(deps: WebDeps) -> TestClient:
    with TestClient(create_app(deps)) as c:
        yield c


@pytest.fixture(scope="module")
def sso_service(tmp_path_factory) -> Iterator[AccessService]:
    store = Store.open_in(str(tmp_path_factory.mktemp("access")))
    service = AccessService(store.access)
    service.add_user("root", Role.ADMIN, actor="test", password="root-password")
    yield service
    store.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, sso_service) -> Iterator[tuple[str, Provider]]:
    """(Vigil's base URL, the test OpenID provider), one pair per test module."""
    with serve_vigil_with_sso(sso_service, tmp_path_factory.mktemp("am")) as served:
        yield served
