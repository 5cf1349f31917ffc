"""``vigil users``, ``vigil tokens`` and ``vigil audit`` on a data directory: changes are
audited as ``cli:<user>``, the token is printed once, bad usage exits 2, errors exit 1."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vigil.access import AccessService
from vigil.cli import cli
from vigil.cli.access import actor
from vigil.state import Store

runner = CliRunner()


def run(*args: str, stdin: str | None = None):
    return runner.invoke(cli, list(args), input=stdin)


def test_users_tokens_and_audit(tmp_path):
    d = str(tmp_path / "data")
    r = run("users", "add", "ann", "--role", "admin", "--email", "ann@example.com",
            "--password-stdin", "--data-dir", d, stdin="pa55word\n")
    assert r.exit_code == 0, r.output
    r = run("users", "add", "ann", "--role", "viewer", "--data-dir", d)
    assert r.exit_code == 1 and "already exists" in r.output
    r = run("users", "list", "--json", "--data-dir", d)
    listed = json.loads(r.output)
    assert [(u["name"], u["role"], u["has_password"]) for u in listed] == [("ann", "admin", True)]
    assert "pa55word" not in r.output and "argon2" not in r.output

    r = run("tokens", "create", "grafana", "--role", "viewer", "--expires", "90d", "--data-dir", d)
    assert r.exit_code == 0, r.output
    secret = r.stdout.strip().splitlines()[0]
    assert secret.startswith("vgl_")
    store = Store.open_in(d)
    try:
        assert AccessService(store.access).authenticate_token(secret).name == "grafana"
    finally:
        store.close()
    r = run("tokens", "list", "--json", "--data-dir", d)
    (token,) = json.loads(r.output)
    assert token["name"] == "grafana" and token["expires_at"] and secret not in r.output
    assert run("tokens", "revoke", "grafana", "--data-dir", d).exit_code == 0
    assert run("tokens", "revoke", "grafana", "--data-dir", d).exit_code == 1
    assert run("users", "disable", "ann", "--data-dir", d).exit_code == 0
    assert run("users", "disable", "nobody", "--data-dir", d).exit_code == 1

    r = run("audit", "--json", "--since", "1h", "--data-dir", d)
    entries = json.loads(r.output)
    assert [e["action"] for e in entries] == ["user.create", "token.create", "token.revoke",
                                              "user.disable"]
    assert {e["actor"] for e in entries} == {actor()} and actor().startswith("cli:")
    assert secret not in r.output and "pa55word" not in r.output
    r = run("audit", "--user", "someone-else", "--json", "--data-dir", d)
    assert json.loads(r.output) == []
    r = run("audit", "--data-dir", d)
    assert r.exit_code == 0 and "token:grafana" in r.output


def test_bad_usage_exits_2(tmp_path):
    d = str(tmp_path)
    assert run("users", "add", "ann", "--role", "root", "--data-dir", d).exit_code == 2
    assert run("tokens", "create", "t", "--expires", "soon", "--data-dir", d).exit_code == 2
    assert run("audit", "--since", "yesterday", "--data-dir", d).exit_code == 2


def test_config_names_the_database(tmp_path):
    (tmp_path / "vigil.yml").write_text("data_dir: here\n")
    r = run("users", "add", "bob", "--role", "responder", "--config", str(tmp_path / "vigil.yml"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "here" / "state.db").exists()


def test_hash_password_is_accepted_by_the_config(tmp_path):
    r = run("users", "hash-password", stdin="s3cret\n")
    assert r.exit_code == 0 and r.output.startswith("$argon2id$")
    from vigil.access import apply_people
    from vigil.config import load_config_text

    config = load_config_text(f"users:\n  - name: dee\n    password_hash: '{r.output.strip()}'\n")
    store = Store.open_in(str(tmp_path))
    try:
        service = AccessService(store.access)
        apply_people(service, config.users, config.teams, base_dir=str(tmp_path))
        assert service.check_password("dee", "s3cret").name == "dee"
    finally:
        store.close()


def test_enable_set_role_set_password(tmp_path):
    d = str(tmp_path)
    assert run("users", "add", "ann", "--role", "viewer", "--password-stdin", "--data-dir", d,
               stdin="old-pw\n").exit_code == 0
    store = Store.open_in(d)
    try:
        service = AccessService(store.access)
        for _ in range(5):  # lock her out
            try:
                service.check_password("ann", "guess")
            except Exception:  # noqa: BLE001 (AuthenticationError expected)
                pass
        assert store.access.user("ann").locked_until is not None
        assert run("users", "set-password", "ann", "--data-dir", d, stdin="new-pw\n").exit_code == 0
        assert store.access.user("ann").locked_until is None
        assert service.check_password("ann", "new-pw").name == "ann"
        assert run("users", "set-role", "ann", "editor", "--data-dir", d).exit_code == 0
        assert store.access.user("ann").role == "editor"
        assert run("users", "set-role", "ann", "root", "--data-dir", d).exit_code == 2
        assert run("users", "disable", "ann", "--data-dir", d).exit_code == 0
        assert run("users", "enable", "ann", "--data-dir", d).exit_code == 0
        assert not store.access.user("ann").disabled
        assert run("users", "enable", "nobody", "--data-dir", d).exit_code == 1
        actions = [e.action for e in service.audit_entries() if e.actor.startswith("cli:")]
        assert actions == ["user.create", "user.password", "user.update", "user.disable",
                           "user.enable"]
        dump = json.dumps([e.to_dict() for e in service.audit_entries()])
        assert "new-pw" not in dump and "old-pw" not in dump
    finally:
        store.close()
