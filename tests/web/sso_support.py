"""Vigil served over a real socket with single sign-on through the test OpenID provider
(tests/access/oidc_provider.py), for the end-to-end and browser tests of SSO."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from tests.access.oidc_provider import Provider
from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.access import AccessService
from vigil.access.oidc import OIDCLogin
from vigil.config.access import OIDCConfig
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

__all__ = ["BUTTON", "CLIENT_ID", "CLIENT_SECRET", "ROLE_GROUPS", "serve_vigil_with_sso"]

CLIENT_ID, CLIENT_SECRET = "vigil", "s3cret-client"
ROLE_GROUPS = {"viewer": ["staff"], "responder": ["sre"], "admin": ["sre-leads"]}
BUTTON = "Sign in with TestID"


@contextmanager
def serve_vigil_with_sso(service: AccessService, alerting_dir: Path) -> Iterator[tuple[str, Provider]]:
    """(Vigil's base URL, the started provider). Vigil listens on a free 127.0.0.1 port;
    the provider's registered redirect URI is Vigil's callback there."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    callback = f"{base}/login/oidc/callback"
    provider = Provider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        redirect_uri=callback).start()
    settings = OIDCConfig(issuer=provider.issuer, client_id=CLIENT_ID, role_groups=ROLE_GROUPS,
                          button_text=BUTTON)
    oidc = OIDCLogin(settings, redirect_url=callback, client_secret=CLIENT_SECRET)
    deps = dataclasses.replace(make_deps(), alerting=real_alerting(alerting_dir),
                               access=AccessPolicy(service, open_when_unconfigured=False,
                                                   oidc=oidc))
    server = uvicorn.Server(uvicorn.Config(create_app(deps), lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base, provider
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
        provider.stop()
