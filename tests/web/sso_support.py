"""Vigil served over a real socket with single sign-on through the test OpenID provider
(tests/access/oidc_provider.py), for the end-to-end and browser tests of SSO."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.access.oidc_provider import Provider
from tests.support.browser import serve_app
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
    providers: list[Provider] = []

    def build_app(base: str):
        callback = f"{base}/login/oidc/callback"
        provider = Provider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                            redirect_uri=callback).start()
        providers.append(provider)
        settings = OIDCConfig(issuer=provider.issuer, client_id=CLIENT_ID,
                              role_groups=ROLE_GROUPS, button_text=BUTTON)
        oidc = OIDCLogin(settings, redirect_url=callback, client_secret=CLIENT_SECRET)
        deps = dataclasses.replace(make_deps(), alerting=real_alerting(alerting_dir),
                                   access=AccessPolicy(service, open_when_unconfigured=False,
                                                       oidc=oidc))
        return create_app(deps)

    try:
        with serve_app(build_app) as base:
            yield base, providers[0]
    finally:
        for provider in providers:
            provider.stop()
