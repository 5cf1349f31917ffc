from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.web import WebDeps, create_app


@pytest.fixture
def deps() -> WebDeps:
    return make_deps()


@pytest.fixture
def client(deps: WebDeps) -> TestClient:
    with TestClient(create_app(deps)) as c:
        yield c
