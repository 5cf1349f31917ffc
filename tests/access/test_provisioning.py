"""Users and teams from the config file: validated at file:line, applied and re-applied,
removed users disabled (not deleted), passwords only from files, variables or hashes."""

from __future__ import annotations

import pytest

from vigil.access import AccessService, AuthenticationError, apply_people
from vigil.access.credentials import hash_password
from vigil.config import load_config_text
from vigil.errors import ConfigError
from vigil.state import Store


@pytest.fixture
def service(tmp_path):
    store = Store.open_in(str(tmp_path / "data"))
    yield AccessService(store.access)
    store.close()


def _apply(service, text: str, base_dir) -> object:
    config = load_config_text(text, "vigil.yml")
    return apply_people(service, config.users, config.teams, base_dir=str(base_dir))


def test_provision_reapply_and_remove(service, tmp_path, monkeypatch):
    (tmp_path / "ann.pw").write_text("ann-password\n")
    monkeypatch.setenv("BOB_PW", "bob-password")
    config = """
users:
  - name: ann
    role: admin
    email: ann@example.com
    time_zone: Europe/Paris
    password_file: ann.pw
    contacts:
      - {kind: phone, address: "+33612345678"}
      - {kind: slack_member, address: U024BE7LH}
  - name: bob
    role: responder
    password_env: BOB_PW
teams:
  - name: ops
    members: [ann, bob]
"""
    _apply(service, config, tmp_path)
    ann = service.store.user("ann")
    assert (ann.role, ann.email, ann.time_zone, ann.provisioned) == ("admin", "ann@example.com",
                                                                     "Europe/Paris", True)
    assert [c.kind for c in ann.contacts] == ["phone", "slack_member"]
    assert ann.teams == ("ops",)
    assert service.check_password("bob", "bob-password").name == "bob"
    entries = len(service.audit_entries())

    _apply(service, config, tmp_path)  # unchanged: same hashes, no audit entries
    assert service.store.user("ann").password_hash == ann.password_hash
    assert len(service.audit_entries()) == entries

    service.add_user("carl", service_role("viewer"), actor="cli:me")  # not provisioned
    _apply(service, """
users:
  - name: ann
    role: editor
    password_file: ann.pw
""", tmp_path)
    bob = service.store.user("bob")
    assert bob is not None and bob.disabled  # disabled, not deleted
    assert not service.store.user("carl").disabled
    assert service.store.user("ann").role == "editor"
    assert service.store.teams() == []
    with pytest.raises(AuthenticationError):
        service.check_password("bob", "bob-password")
    disable = service.audit_entries(action="user.disable")[-1]
    assert (disable.actor, disable.target) == ("config", "user:bob")


def service_role(name: str):
    from vigil.access import parse_role
    return parse_role(name)


def test_password_hash_is_taken_as_is(service, tmp_path):
    digest = hash_password("from-a-hash")
    _apply(service, f"users:\n  - name: dee\n    password_hash: '{digest}'\n", tmp_path)
    assert service.check_password("dee", "from-a-hash").name == "dee"


def test_unreadable_password_file_names_the_user(service, tmp_path):
    with pytest.raises(ConfigError, match=r"users\[0\] \(ann\): password_file .*missing.pw"):
        _apply(service, "users:\n  - name: ann\n    password_file: missing.pw\n", tmp_path)
    with pytest.raises(ConfigError, match="NOPE_UNSET .password_env. is unset"):
        _apply(service, "users:\n  - name: ann\n    password_env: NOPE_UNSET\n", tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ("users:\n  - name: ann\n    password: hunter2\n",
     "vigil.yml:3:5: users[0].password: passwords are not written in the config"),
    ("users:\n  - name: ann\n    role: root\n", "vigil.yml:3:5: users[0].role:"),
    ("users:\n  - name: ann\n    password_file: a\n    password_env: B\n",
     "users[0].password_env: set at most one of password_file, password_env"),
    ("users:\n  - name: ann\n  - name: ann\n", "vigil.yml:3:5: users[1].name: user names must be unique"),
    ("users:\n  - name: 'a b'\n", "users[0].name: invalid name 'a b'"),
    ("users:\n  - name: ann\n    password_hash: plain\n", "password_hash must be an argon2 hash"),
    ("users:\n  - name: ann\n    contacts:\n      - {kind: email, address: nope}\n",
     "users[0].contacts[0].address: address 'nope' is not a valid email"),
    ("teams:\n  - name: t\n    members: [ghost]\n",
     "vigil.yml:3:15: teams[0].members[0]: team 't': member 'ghost' is not in the users section"),
    ("access:\n  lockout_after: 0\n", "vigil.yml:2:3: access.lockout_after:"),
    ("access:\n  oidc: {issuer: 'ftp://idp', client_id: v}\n",
     "access.oidc.issuer: issuer 'ftp://idp' must be an http:// or https:// URL"),
    ("access:\n  oidc: {issuer: 'https://idp', client_id: v, scopes: [email]}\n",
     "access.oidc.scopes: scopes must include openid"),
    ("access:\n  oidc: {issuer: 'https://idp', client_id: v, role_groups: {root: [x]}}\n",
     "access.oidc.role_groups.root"),
])
def test_config_errors_are_located(text, message):
    with pytest.raises(ConfigError) as exc:
        load_config_text(text, "vigil.yml")
    assert message in str(exc.value)
