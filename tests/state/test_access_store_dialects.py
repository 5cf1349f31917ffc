"""The access tables behave the same on SQLite and PostgreSQL: users with contacts and
teams, tokens with their owner, sessions, lockout counters, the audit log's JSON and its
retention (revision 0003 applied by the store on open)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from vigil.access import AccessService, AuthenticationError, Role, apply_people
from vigil.config import load_config_text
from vigil.config.access import AccessConfig

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_people_tokens_sessions_audit(store, tmp_path, monkeypatch):
    clock = [NOW]
    service = AccessService(store.access, AccessConfig(lockout_after=2), clock=lambda: clock[0])
    monkeypatch.setenv("ANN_PW", "ann-pw")
    config = load_config_text("""
users:
  - name: ann
    role: admin
    password_env: ANN_PW
    contacts: [{kind: email, address: ann@example.com}, {kind: phone, address: "+4915112345678"}]
  - name: bob
    role: responder
teams:
  - {name: ops, members: [ann, bob]}
  - {name: db, members: [bob]}
""")
    apply_people(service, config.users, config.teams, base_dir=str(tmp_path))
    ann = store.access.user("ann")
    assert [c.kind for c in ann.contacts] == ["email", "phone"] and ann.teams == ("ops",)
    assert store.access.user("bob").teams == ("db", "ops")
    assert [(t.name, t.members) for t in store.access.teams()] == [("db", ("bob",)),
                                                                    ("ops", ("ann", "bob"))]

    secret = service.create_token("ci", Role.RESPONDER, actor="test", user="bob",
                                  expires_in=timedelta(days=1))
    principal = service.authenticate_token(secret)
    assert (principal.name, principal.role) == ("ci", Role.RESPONDER)
    assert store.access.token("ci").last_used_at == NOW

    session_id, _ = service.login("ann", "ann-pw", remote_addr="192.0.2.7")
    assert service.session(session_id).name == "ann"
    clock[0] = NOW + timedelta(hours=13)
    assert service.session(session_id) is None  # past session_ttl
    assert service.housekeeping() == (0, 1)

    for _ in range(2):
        with pytest.raises(AuthenticationError):
            service.check_password("ann", "wrong")
    assert store.access.user("ann").locked_until == clock[0] + timedelta(minutes=15)

    entries = service.audit_entries(since=NOW)
    assert entries[0].after["contacts"][0]["address"] == "ann@example.com"
    assert {e.action for e in entries} >= {"user.provision", "token.create", "login.success",
                                           "login.failure"}
    clock[0] = NOW + timedelta(days=400)
    removed, _ = service.housekeeping()
    assert removed == len(entries) and service.audit_entries() == []
