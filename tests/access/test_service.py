"""The access service over a real state database: users, tokens, sessions, lockout,
throttling and the audit log (never a secret in it)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from vigil.access import (
    AccessService,
    AuthenticationError,
    LoginThrottled,
    Role,
    TokenExpired,
    parse_role,
)
from vigil.config.access import AccessConfig
from vigil.state import Store


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(tmp_path, clock) -> AccessService:
    store = Store.open_in(str(tmp_path))
    yield AccessService(store.access, AccessConfig(lockout_after=3, lockout_duration=600),
                        clock=clock)
    store.close()


def test_roles_are_ordered_and_parsed():
    assert Role.VIEWER < Role.RESPONDER < Role.EDITOR < Role.ADMIN
    assert parse_role(" Editor ") is Role.EDITOR
    with pytest.raises(ValueError, match="viewer, responder, editor or admin"):
        parse_role("root")


def test_password_login_and_session(service):
    service.add_user("ann", Role.RESPONDER, actor="cli:test", password="correct horse")
    stored = service.store.user("ann")
    assert stored.password_hash.startswith("$argon2id$") and "correct" not in stored.password_hash
    session_id, principal = service.login("ann", "correct horse", remote_addr="10.0.0.1")
    assert principal.role is Role.RESPONDER and principal.csrf_token
    again = service.session(session_id)
    assert again.name == "ann" and again.csrf_token == principal.csrf_token
    assert service.session("forged") is None
    service.logout(session_id, principal)
    assert service.session(session_id) is None


def test_bad_password_and_unknown_user_fail_alike(service):
    service.add_user("ann", Role.VIEWER, actor="cli:test", password="pw-ann")
    errors = []
    for name, password in (("ann", "wrong"), ("nobody", "pw-ann")):
        with pytest.raises(AuthenticationError) as exc:
            service.check_password(name, password, remote_addr="1.2.3.4")
        errors.append(str(exc.value))
    assert errors == ["invalid credentials", "invalid credentials"]
    failures = [e for e in service.audit_entries() if e.action == "login.failure"]
    assert [(e.actor, e.remote_addr) for e in failures] == [("ann", "1.2.3.4"), ("nobody", "1.2.3.4")]


def test_lockout_after_failures_and_release(service, clock):
    service.add_user("ann", Role.VIEWER, actor="cli:test", password="pw-ann")
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            service.check_password("ann", "guess", remote_addr="a")
    with pytest.raises(AuthenticationError):  # locked: even the right password fails
        service.check_password("ann", "pw-ann", remote_addr="b")
    reasons = [e.after["reason"] for e in service.audit_entries(action="login.failure")]
    assert reasons[-2:] == ["bad credentials; user locked", "locked"]
    clock.now += timedelta(seconds=601)
    assert service.check_password("ann", "pw-ann", remote_addr="b").name == "ann"


def test_address_throttling(service):
    service.throttle.limit = 4
    for i in range(4):
        with pytest.raises(AuthenticationError):
            service.check_password(f"u{i}", "x", remote_addr="9.9.9.9")
    with pytest.raises(LoginThrottled) as exc:
        service.check_password("u9", "x", remote_addr="9.9.9.9")
    assert exc.value.retry_after_s > 0
    assert service.audit_entries(action="login.throttled")[-1].remote_addr == "9.9.9.9"
    with pytest.raises(AuthenticationError) as other:  # another address is not throttled
        service.check_password("u9", "x", remote_addr="8.8.8.8")
    assert not isinstance(other.value, LoginThrottled)


def test_disabled_user_cannot_log_in_or_use_sessions_or_tokens(service):
    service.add_user("ann", Role.EDITOR, actor="cli:test", password="pw-ann")
    session_id, _ = service.login("ann", "pw-ann")
    secret = service.create_token("ann-ci", Role.VIEWER, actor="cli:test", user="ann")
    assert service.authenticate_token(secret).role is Role.VIEWER
    service.disable_user("ann", actor="cli:test")
    with pytest.raises(AuthenticationError):
        service.check_password("ann", "pw-ann")
    assert service.session(session_id) is None
    with pytest.raises(AuthenticationError):
        service.authenticate_token(secret)


def test_tokens_hash_expiry_revocation(service, clock):
    secret = service.create_token("prometheus", Role.RESPONDER, actor="cli:test",
                                  expires_in=timedelta(days=90))
    assert secret.startswith("vgl_") and len(secret) > 40
    row = service.store.token("prometheus")
    assert row.prefix == secret[:8]
    principal = service.authenticate_token(secret)
    assert (principal.actor, principal.role) == ("token:prometheus", Role.RESPONDER)
    assert service.store.token("prometheus").last_used_at == clock.now
    with pytest.raises(AuthenticationError) as bad:
        service.authenticate_token(secret + "x")
    assert str(bad.value) == "invalid credentials"
    clock.now += timedelta(days=91)
    with pytest.raises(TokenExpired, match="expired at 2027-03-01"):
        service.authenticate_token(secret)
    clock.now -= timedelta(days=91)
    service.revoke_token("prometheus", actor="cli:test")
    with pytest.raises(AuthenticationError):
        service.authenticate_token(secret)
    with pytest.raises(ValueError, match="no active token"):
        service.revoke_token("prometheus", actor="cli:test")


def test_a_users_token_never_exceeds_the_user(service):
    service.add_user("vic", Role.VIEWER, actor="cli:test")
    with pytest.raises(ValueError, match="more than the user's role"):
        service.create_token("vic-admin", Role.ADMIN, actor="cli:test", user="vic")


def test_audit_log_never_holds_a_secret(service):
    service.add_user("ann", Role.ADMIN, actor="cli:test", password="s3cret-pass")
    service.set_user("ann", actor="cli:test", password="n3w-s3cret")
    secret = service.create_token("t1", Role.VIEWER, actor="cli:test")
    service.login("ann", "n3w-s3cret")
    dump = json.dumps([e.to_dict() for e in service.audit_entries()])
    for needle in ("s3cret-pass", "n3w-s3cret", secret, "argon2", secret[4:]):
        assert needle not in dump
    actions = [e.action for e in service.audit_entries()]
    assert actions == ["user.create", "user.update", "token.create", "login.success"]
    assert service.audit_entries(action="user.update")[0].after["password"] == "changed"


def test_audit_retention(service, clock):
    service.audit(actor="a", action="old")
    clock.now += timedelta(days=366)
    service.audit(actor="a", action="new")
    assert service.housekeeping() == (1, 0)
    assert [e.action for e in service.audit_entries()] == ["new"]


def test_a_new_password_ends_the_users_sessions(service):
    service.add_user("ann", Role.VIEWER, actor="cli:test", password="first-pw")
    session_id, _ = service.login("ann", "first-pw")
    service.set_user("ann", actor="cli:test", email="ann@example.com")
    assert service.session(session_id) is not None  # other changes keep it
    service.set_user("ann", actor="cli:test", password="second-pw")
    assert service.session(session_id) is None
