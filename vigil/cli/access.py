"""``vigil users``, ``vigil tokens`` and ``vigil audit``: people, API tokens and the audit
log in the state database (issue 14), without a running server.

The database is the one ``vigil up`` would use: ``--config`` (its data_dir and
storage.state.url) and ``--data-dir`` as for ``vigil up``. Every change is written to the
audit log with the actor ``cli:<operating-system user>``. Errors print ``error: ...`` and
exit 1; bad arguments exit 2.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli._common import fail

if TYPE_CHECKING:
    from vigil.access import AccessService, Role

users_cli = typer.Typer(help="Users in the state database (add, list, disable, enable, set-role, set-password).",
                        no_args_is_help=True)
tokens_cli = typer.Typer(help="API tokens (create, list, revoke).", no_args_is_help=True)

ConfigOption = Annotated[str | None, typer.Option(
    "--config", "-c", help="Configuration file: its data_dir and storage.state.url.")]
DataDirOption = Annotated[str | None, typer.Option(
    "--data-dir", help="Data directory (overrides the config's data_dir).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _role(text: str | None) -> str | None:
    from vigil.access import parse_role

    if text is not None:
        try:
            parse_role(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return text


RoleOption = Annotated[str, typer.Option(
    "--role", callback=_role, help="viewer, responder, editor or admin.")]


def actor() -> str:
    """The audit log's name for whoever runs the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (containers)
        import os

        return f"cli:uid-{os.getuid()}"


@contextmanager
def _service(config: str | None, data_dir: str | None) -> Iterator[AccessService]:
    from vigil.access import AccessService
    from vigil.app import data_dir_of
    from vigil.config import load_config
    from vigil.errors import VigilError
    from vigil.state import Store

    try:
        cfg = load_config(config)
        url = cfg.storage.state.url
        store = Store.open(url) if url else Store.open_in(data_dir_of(cfg, data_dir))
    except (VigilError, OSError) as exc:
        fail(exc)
    try:
        yield AccessService(store.access, cfg.access)
    finally:
        store.close()


def _act_on(config: str | None, data_dir: str | None, act: Callable[[AccessService], object],
            done: str) -> None:
    """Run ``act`` (disable a user, revoke a token) on the access service and say ``done``;
    an unknown name fails the command."""
    with _service(config, data_dir) as service:
        try:
            act(service)
        except ValueError as exc:
            fail(exc)
    typer.echo(done)


def _parse_role(text: str) -> Role:
    from vigil.access import parse_role

    return parse_role(text)


@users_cli.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: RoleOption = "viewer",
    email: Annotated[str, typer.Option(help="E-mail address.")] = "",
    display_name: Annotated[str, typer.Option(help="Name shown in the UI.")] = "",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (one line).")] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a user. Without --password-stdin the user has no password (API tokens only)."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin: standard input holds no password")
    with _service(config, data_dir) as service:
        try:
            service.add_user(name, _parse_role(role), actor=actor(), email=email,
                             display_name=display_name, password=password)
        except ValueError as exc:
            fail(exc)
    typer.echo(f"user {name} added ({role})")


@users_cli.command("list")
def users_list(as_json: JsonOption = False, config: ConfigOption = None,
               data_dir: DataDirOption = None) -> None:
    """List users: name, role, state, e-mail, teams."""
    with _service(config, data_dir) as service:
        users = service.users()
    if as_json:
        typer.echo(json.dumps([u.public() for u in users], indent=2))
        return
    for u in users:
        state = "disabled" if u.disabled else "active"
        origin = "config" if u.provisioned else "local"
        typer.echo(f"{u.name}\t{u.role}\t{state}\t{origin}\t{u.email or '-'}\t"
                   f"{','.join(u.teams) or '-'}")


@users_cli.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="User name.")],
                  config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Disable a user: no more logins, sessions end, their tokens stop working."""
    _act_on(config, data_dir, lambda service: service.disable_user(name, actor=actor()),
            f"user {name} disabled")


@users_cli.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="User name.")],
                 config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Enable a disabled user again (also lifts a lockout)."""
    _change(name, config, data_dir, "user.enable", disabled=False)
    typer.echo(f"user {name} enabled")


@users_cli.command("set-role")
def users_set_role(name: Annotated[str, typer.Argument(help="User name.")],
                   role: Annotated[str, typer.Argument(callback=_role,
                                                       help="viewer, responder, editor or admin.")],
                   config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Give a user another role. (A user from the config file gets the file's role back at
    the next reload.)"""
    _change(name, config, data_dir, "user.update", role=role)
    typer.echo(f"user {name} is now {role}")


@users_cli.command("set-password")
def users_set_password(name: Annotated[str, typer.Argument(help="User name.")],
                       config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Set a user's password from standard input (one line); ends their sessions and lifts
    a lockout."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("standard input holds no password")
    _change(name, config, data_dir, "user.password", password=password)
    typer.echo(f"password of {name} set")


def _change(name: str, config: str | None, data_dir: str | None, action: str, **values) -> None:
    with _service(config, data_dir) as service:
        try:
            service.change_user(name, actor=actor(), action=action, **values)
        except ValueError as exc:
            fail(exc)


@users_cli.command("hash-password")
def users_hash_password() -> None:
    """Read a password from standard input and print its argon2 hash (for password_hash)."""
    from vigil.access.credentials import hash_password

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("standard input holds no password")
    typer.echo(hash_password(password))


def _expiry(text: str | None) -> str | None:
    if text is not None:
        try:
            _parse_expiry(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return text


def _parse_expiry(text: str) -> timedelta:
    from vigil.gocompat.durations import parse_duration_ms

    ms = parse_duration_ms(text)
    if ms <= 0:
        raise ValueError(f"{text!r} must be greater than 0")
    return timedelta(milliseconds=ms)


@tokens_cli.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="Token name (letters, digits, . _ @ -).")],
    role: RoleOption = "viewer",
    expires: Annotated[str | None, typer.Option(
        callback=_expiry, help="Lifetime (Prometheus duration, e.g. 90d). Default: never.")] = None,
    user: Annotated[str | None, typer.Option(
        help="Owning user: the token stops when the user is disabled; never above their role.")] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    with _service(config, data_dir) as service:
        try:
            secret = service.create_token(name, _parse_role(role), actor=actor(), user=user,
                                          expires_in=_parse_expiry(expires) if expires else None)
        except ValueError as exc:
            fail(exc)
    typer.echo(secret)
    typer.echo(f"token {name} created ({role}); it is shown only now", err=True)


@tokens_cli.command("list")
def tokens_list(as_json: JsonOption = False, config: ConfigOption = None,
                data_dir: DataDirOption = None) -> None:
    """List tokens: name, prefix, role, user, expiry, last use, revoked."""
    with _service(config, data_dir) as service:
        tokens = service.tokens()
    if as_json:
        typer.echo(json.dumps([t.public() for t in tokens], indent=2))
        return
    for t in tokens:
        p = t.public()
        state = "revoked" if t.revoked_at else "active"
        typer.echo(f"{t.name}\t{t.prefix}…\t{t.role}\t{t.user or '-'}\t{state}\t"
                   f"expires={p['expires_at'] or 'never'}\tlast_used={p['last_used_at'] or 'never'}")


@tokens_cli.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="Token name.")],
                  config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Revoke a token at once."""
    _act_on(config, data_dir, lambda service: service.revoke_token(name, actor=actor()),
            f"token {name} revoked")


def _since(text: str | None) -> str | None:
    if text is not None:
        try:
            parse_since(text, datetime.now(timezone.utc))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return text


def parse_since(text: str, now: datetime) -> datetime:
    """A duration back from now (``24h``, ``7d``) or an RFC 3339 time."""
    from vigil.gocompat.times import parse_rfc3339

    try:
        return now - _parse_expiry(text)
    except ValueError:
        pass
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration (24h) nor an RFC 3339 time") from None


def audit(
    since: Annotated[str | None, typer.Option(
        callback=_since, help="Entries since a duration ago (24h) or an RFC 3339 time.")] = None,
    user: Annotated[str | None, typer.Option(
        help="Entries by this actor (a user name, token:NAME, cli:NAME, config).")] = None,
    action: Annotated[str | None, typer.Option(help="Entries of this action (login.failure ...).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many (the newest).")] = 1000,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show the audit log, oldest first."""
    with _service(config, data_dir) as service:
        entries = service.audit_entries(
            since=parse_since(since, datetime.now(timezone.utc)) if since else None,
            actor=user, action=action, limit=limit)
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    for e in entries:
        where = f" from {e.remote_addr}" if e.remote_addr else ""
        typer.echo(f"{e.at.isoformat(timespec='seconds')}\t{e.actor}{where}\t{e.action}\t"
                   f"{e.target or '-'}")
