"""Safe defaults: nobody configured is fine on loopback, refused on a network address
unless allowed explicitly; a running App applies the config's users."""

from __future__ import annotations

import pytest

from vigil.access import check_exposure, is_loopback
from vigil.app import App, check
from vigil.errors import ConfigError


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("::", False), ("", False),
    ("10.1.2.3", False), ("vigil.example", False)])
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_network_address_without_authentication_is_refused():
    with pytest.raises(ConfigError) as exc:
        check_exposure("0.0.0.0", "0.0.0.0:9494", users_configured=False, other_auth=False,
                       allow_unauthenticated=False)
    message = str(exc.value)
    assert "0.0.0.0:9494" in message and "vigil users add" in message
    assert "allow_unauthenticated: true" in message
    for kwargs in ({"users_configured": True}, {"other_auth": True},
                   {"allow_unauthenticated": True}):
        check_exposure("0.0.0.0", "0.0.0.0:9494", **{"users_configured": False,
                                                     "other_auth": False,
                                                     "allow_unauthenticated": False, **kwargs})
    check_exposure("127.0.0.1", "127.0.0.1:9494", users_configured=False, other_auth=False,
                   allow_unauthenticated=False)


def _config(tmp_path, text: str) -> str:
    path = tmp_path / "vigil.yml"
    path.write_text("default_rules: false\ncollectors:\n  host: {enabled: false}\n" + text)
    return str(path)


def test_app_refuses_then_starts_with_a_user(tmp_path, monkeypatch):
    listen = "web:\n  listen_address: 0.0.0.0:0\n"
    with pytest.raises(ConfigError, match="refusing to listen on 0.0.0.0:0"):
        App(check(_config(tmp_path, listen)), data_dir=str(tmp_path / "d1"))
    monkeypatch.setenv("ANN_PW", "ann-pw")
    config = _config(tmp_path, listen + "users:\n  - {name: ann, role: admin, password_env: ANN_PW}\n")
    app = App(check(config), data_dir=str(tmp_path / "d2"))
    try:
        assert app.access.check_password("ann", "ann-pw").name == "ann"
        assert [e.action for e in app.access.audit_entries()] == ["user.provision", "login.success"]
    finally:
        app.close()
    allowed = _config(tmp_path, listen + "access: {allow_unauthenticated: true}\n")
    App(check(allowed), data_dir=str(tmp_path / "d3")).close()


def test_single_sign_on_counts_as_authentication(tmp_path, monkeypatch):
    monkeypatch.setenv("OIDC_SECRET", "s3cret")
    config = _config(tmp_path, "web:\n  listen_address: 0.0.0.0:0\n"
                     "access:\n  oidc: {issuer: 'https://idp.example', client_id: vigil, "
                     "client_secret_env: OIDC_SECRET, role_groups: {viewer: [staff]}}\n")
    app = App(check(config), data_dir=str(tmp_path / "d"))
    try:
        assert app.oidc is not None and app.oidc.client_secret == "s3cret"
        assert app.oidc.redirect_url == "http://0.0.0.0:0/login/oidc/callback"
    finally:
        app.close()
    monkeypatch.delenv("OIDC_SECRET")
    with pytest.raises(ConfigError, match="OIDC_SECRET .access.oidc.client_secret_env. is unset"):
        check(config)
