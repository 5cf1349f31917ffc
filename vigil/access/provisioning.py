"""Users and teams from the config file, applied at start and on every reload (as Grafana
provisions them). The file is the truth for the users it names: their role, details,
contact methods and password. A provisioned user who disappears from the file is disabled,
never deleted (their audit trail and tokens keep pointing at them); users added with the
CLI or the API are left alone. Every change is audited with the actor ``config``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vigil.access.credentials import password_matches
from vigil.access.service import AccessService
from vigil.config.access import TeamConfig, UserConfig
from vigil.config.secret_files import read_secret_file
from vigil.errors import ConfigError
from vigil.state.access_store import ContactMethod

__all__ = ["ProvisioningResult", "apply_people", "read_passwords"]

ACTOR = "config"


@dataclass(frozen=True)
class ProvisioningResult:
    applied: int  # users written (changed or not)
    disabled: list[str]  # provisioned users no longer in the file


def read_passwords(users: list[UserConfig], base_dir: str) -> dict[str, str | None]:
    """Each user's clear password from ``password_file`` (relative to ``base_dir``) or
    ``password_env``; None when neither is set. Raises :class:`ConfigError` naming the user
    when the file cannot be read or the variable is unset or empty."""
    found: dict[str, str | None] = {}
    for i, user in enumerate(users):
        where = f"users[{i}] ({user.name})"
        password: str | None = None
        if user.password_file:
            path = os.path.join(base_dir, user.password_file)
            password = read_secret_file(path, ConfigError, f"{where}: password_file {path}")
            if not password:
                raise ConfigError(f"{where}: password_file {path} is empty")
        elif user.password_env:
            password = os.environ.get(user.password_env)
            if not password:
                raise ConfigError(f"{where}: environment variable {user.password_env} "
                                  "(password_env) is unset or empty")
        found[user.name] = password
    return found


def apply_people(service: AccessService, users: list[UserConfig], teams: list[TeamConfig], *,
                 base_dir: str) -> ProvisioningResult:
    passwords = read_passwords(users, base_dir)
    for user in users:
        existing = service.store.user(user.name)
        clear = passwords[user.name]
        secret: dict[str, str | None]
        if user.password_hash is not None:
            secret = {"password_hash": user.password_hash}
        elif clear is not None and existing is not None and \
                password_matches(existing.password_hash, clear):
            secret = {"password_hash": existing.password_hash}  # same password: no new salt
        elif clear is not None:
            secret = {"password": clear}  # hashed by set_user
        else:
            secret = {"password_hash": None}  # the file gives no password: no local login
        service.set_user(user.name, actor=ACTOR,
                         action="user.provision" if existing is None else "user.update",
                         contacts=[ContactMethod(c.kind, c.address, c.label) for c in user.contacts],
                         display_name=user.display_name, email=user.email,
                         time_zone=user.time_zone, role=user.role, disabled=user.disabled,
                         provisioned=True, **secret)
        service.set_notification_rules(user, actor=ACTOR)
    named = {u.name for u in users}
    disabled = []
    for row in service.store.users():
        if row.provisioned and row.name not in named and not row.disabled:
            service.set_user(row.name, actor=ACTOR, action="user.disable", disabled=True)
            disabled.append(row.name)
    wanted = {t.name for t in teams}
    for team in service.store.teams():
        if team.provisioned and team.name not in wanted:
            service.store.delete_team(team.name)
            service.audit(actor=ACTOR, action="team.delete", target=f"team:{team.name}",
                          before={"members": list(team.members)})
    current = {t.name: t for t in service.store.teams()}
    for team in teams:
        before = current.get(team.name)
        service.store.upsert_team(team.name, display_name=team.display_name, provisioned=True,
                                  members=team.members)
        if before is None or list(before.members) != sorted(team.members) or \
                before.display_name != team.display_name:
            service.audit(actor=ACTOR, action="team.provision" if before is None else "team.update",
                          target=f"team:{team.name}",
                          before={"members": list(before.members)} if before else None,
                          after={"display_name": team.display_name,
                                 "members": sorted(team.members)})
    return ProvisioningResult(len(users), disabled)
