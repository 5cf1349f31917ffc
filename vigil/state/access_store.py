"""Persistence of people and access (issue 14): users, teams, contact methods, API tokens,
login sessions and the audit log. Plain rows in, records out; the rules (roles, hashing,
lockout, provisioning) live in :mod:`vigil.access`.

Every method is one transaction. Secrets never enter this module in clear: passwords
arrive as argon2 hashes, token and session secrets as SHA-256 digests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from vigil.state import schema
from vigil.state.coordination import lock_for_transaction

__all__ = ["AccessStore", "AuditEntry", "ContactMethod", "SessionRow", "TeamRow", "TokenRow",
           "UserRow"]


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


@dataclass(frozen=True)
class ContactMethod:
    kind: str  # email | slack_member | slack_webhook | webhook | phone
    address: str
    label: str = ""


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    display_name: str
    email: str
    time_zone: str
    role: str
    disabled: bool
    password_hash: str | None = field(repr=False)
    provisioned: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime
    contacts: tuple[ContactMethod, ...] = ()
    teams: tuple[str, ...] = ()
    sso_subject: str | None = None

    def public(self) -> dict[str, Any]:
        """The user as the API and the audit log show it: never the password hash."""
        return {"name": self.name, "display_name": self.display_name, "email": self.email,
                "time_zone": self.time_zone, "role": self.role, "disabled": self.disabled,
                "provisioned": self.provisioned, "has_password": self.password_hash is not None,
                "single_sign_on": self.sso_subject is not None,
                "contacts": [{"kind": c.kind, "address": c.address, "label": c.label}
                             for c in self.contacts],
                "teams": list(self.teams)}


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    display_name: str
    provisioned: bool
    members: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "display_name": self.display_name,
                "provisioned": self.provisioned, "members": list(self.members)}


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    prefix: str
    role: str
    user: str | None  # the owning user's name; None: a service token
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    # The owner's state when the row was read (None for a service token).
    user_role: str | None = None
    user_disabled: bool | None = None

    def public(self) -> dict[str, Any]:
        """The token as listings show it: its prefix, never its secret or hash."""
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {"name": self.name, "prefix": self.prefix, "role": self.role, "user": self.user,
                "created_by": self.created_by, "created_at": iso(self.created_at),
                "expires_at": iso(self.expires_at), "last_used_at": iso(self.last_used_at),
                "revoked_at": iso(self.revoked_at)}


@dataclass(frozen=True)
class SessionRow:
    user_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    remote_addr: str
    action: str
    target: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor,
                "remote_addr": self.remote_addr, "action": self.action, "target": self.target,
                "before": self.before, "after": self.after}


class AccessStore:
    """The access tables of one state database (``Store.access``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- users ---

    def user(self, name: str) -> UserRow | None:
        with self.engine.connect() as conn:
            return self._user(conn, schema.users.c.name == name)

    def user_brief(self, *, name: str | None = None, user_id: int | None = None,
                   sso_subject: str | None = None) -> UserRow | None:
        """A user without contacts and teams: one query, for the per-request checks. Found
        by exactly one of name, id or single sign-on subject."""
        u = schema.users
        if name is not None:
            where = u.c.name == name
        elif sso_subject is not None:
            where = u.c.sso_subject == sso_subject
        else:
            where = u.c.id == user_id
        with self.engine.connect() as conn:
            r = conn.execute(select(u).where(where)).mappings().first()
        return None if r is None else _user_row(r)

    def users(self) -> list[UserRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.users).order_by(schema.users.c.name)).mappings().all()
            return [self._with_details(conn, r) for r in rows]

    def enabled_user_count(self) -> int:
        u = schema.users
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(u.c.disabled.is_(False))).scalar() or 0)

    def upsert_user(self, name: str, values: dict[str, Any], *, now: datetime,
                    contacts: list[ContactMethod] | None = None,
                    audit: dict[str, Any] | None = None) -> None:
        """Create ``name`` or update the given columns; ``contacts`` (when given) replaces
        the user's contact methods; ``audit`` (keyword arguments of :meth:`audit`) is
        written in the same transaction."""
        u = schema.users
        with self.engine.begin() as conn:
            # Replicas provisioning the same config at once: the second waits and updates.
            lock_for_transaction(conn, "user", name)
            row = conn.execute(select(u.c.id).where(u.c.name == name)).first()
            if row is None:
                defaults = {"display_name": "", "email": "", "time_zone": "UTC", "role": "viewer",
                            "disabled": False, "password_hash": None, "provisioned": False,
                            "failed_logins": 0, "locked_until": None, "sso_subject": None}
                user_id = conn.execute(insert(u).values(
                    {**defaults, **values, "name": name, "created_at": now, "updated_at": now}
                )).inserted_primary_key[0]
            else:
                user_id = row[0]
                conn.execute(update(u).where(u.c.id == user_id).values(**values, updated_at=now))
            if contacts is not None:
                c = schema.contact_methods
                conn.execute(delete(c).where(c.c.user_id == user_id))
                if contacts:
                    conn.execute(insert(c), [{"user_id": user_id, "kind": m.kind,
                                              "address": m.address, "label": m.label}
                                             for m in contacts])
            if audit is not None:
                _audit(conn, now=now, **audit)

    def record_login_failure(self, user_id: int, *, lock_after: int, lock_until: datetime) -> int:
        """Count a failed password; lock the user when the count reaches ``lock_after``.
        Returns the new count."""
        u = schema.users
        with self.engine.begin() as conn:
            conn.execute(update(u).where(u.c.id == user_id)
                         .values(failed_logins=u.c.failed_logins + 1))
            count = int(conn.execute(select(u.c.failed_logins).where(u.c.id == user_id)).scalar() or 0)
            if count >= lock_after:
                conn.execute(update(u).where(u.c.id == user_id)
                             .values(locked_until=lock_until, failed_logins=0))
            return count

    def record_login_success(self, user_id: int) -> None:
        u = schema.users
        with self.engine.begin() as conn:
            conn.execute(update(u).where(u.c.id == user_id, u.c.failed_logins != 0)
                         .values(failed_logins=0, locked_until=None))

    # --- teams ---

    def teams(self) -> list[TeamRow]:
        t, m, u = schema.teams, schema.team_members, schema.users
        with self.engine.connect() as conn:
            teams = conn.execute(select(t).order_by(t.c.name)).mappings().all()
            members = conn.execute(select(m.c.team_id, u.c.name).join(u, u.c.id == m.c.user_id)
                                   .order_by(u.c.name)).all()
        by_team: dict[int, list[str]] = {}
        for team_id, user in members:
            by_team.setdefault(team_id, []).append(user)
        return [TeamRow(r["id"], r["name"], r["display_name"], r["provisioned"],
                        tuple(by_team.get(r["id"], ()))) for r in teams]

    def upsert_team(self, name: str, *, display_name: str, provisioned: bool,
                    members: list[str]) -> None:
        """Create or update a team and replace its members (names of existing users)."""
        t, m, u = schema.teams, schema.team_members, schema.users
        with self.engine.begin() as conn:
            lock_for_transaction(conn, "team", name)
            row = conn.execute(select(t.c.id).where(t.c.name == name)).first()
            if row is None:
                team_id = conn.execute(insert(t).values(
                    name=name, display_name=display_name, provisioned=provisioned
                )).inserted_primary_key[0]
            else:
                team_id = row[0]
                conn.execute(update(t).where(t.c.id == team_id)
                             .values(display_name=display_name, provisioned=provisioned))
            conn.execute(delete(m).where(m.c.team_id == team_id))
            ids = conn.execute(select(u.c.id).where(u.c.name.in_(members))).scalars().all()
            if ids:
                conn.execute(insert(m), [{"team_id": team_id, "user_id": i} for i in ids])

    def delete_team(self, name: str) -> None:
        t, m = schema.teams, schema.team_members
        with self.engine.begin() as conn:
            team_id = conn.execute(select(t.c.id).where(t.c.name == name)).scalar()
            if team_id is not None:
                conn.execute(delete(m).where(m.c.team_id == team_id))
                conn.execute(delete(t).where(t.c.id == team_id))

    # --- API tokens ---

    def add_token(self, *, name: str, secret_sha256: str, prefix: str, role: str,
                  user_id: int | None, created_by: str, now: datetime,
                  expires_at: datetime | None, audit: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.api_tokens).values(
                name=name, secret_sha256=secret_sha256, prefix=prefix, role=role, user_id=user_id,
                created_by=created_by, created_at=now, expires_at=expires_at))
            _audit(conn, now=now, **audit)

    def token_by_hash(self, secret_sha256: str) -> TokenRow | None:
        # The per-request check: the statement is built once (cached_property below).
        with self.engine.connect() as conn:
            r = conn.execute(self._token_by_hash, {"digest": secret_sha256}).mappings().first()
        return None if r is None else _token_row(r)

    @cached_property
    def _token_by_hash(self) -> Select:
        return _token_select().where(schema.api_tokens.c.secret_sha256 == bindparam("digest"))

    def token(self, name: str) -> TokenRow | None:
        with self.engine.connect() as conn:
            return self._token(conn, schema.api_tokens.c.name == name)

    def tokens(self) -> list[TokenRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(_token_select().order_by(schema.api_tokens.c.name)).mappings().all()
        return [_token_row(r) for r in rows]

    def token_used(self, token_id: int, now: datetime) -> None:
        t = schema.api_tokens
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == token_id).values(last_used_at=now))

    def revoke_token(self, name: str, *, now: datetime, audit: dict[str, Any]) -> bool:
        t = schema.api_tokens
        with self.engine.begin() as conn:
            done = conn.execute(update(t).where(t.c.name == name, t.c.revoked_at.is_(None))
                                .values(revoked_at=now)).rowcount
            if done:
                _audit(conn, now=now, **audit)
            return bool(done)

    # --- login sessions ---

    def add_session(self, id_sha256: str, *, user_id: int, csrf_token: str, remote_addr: str,
                    now: datetime, expires_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.login_sessions).values(
                id_sha256=id_sha256, user_id=user_id, csrf_token=csrf_token,
                remote_addr=remote_addr[:64], created_at=now, last_seen_at=now,
                expires_at=expires_at))

    def session_user(self, id_sha256: str) -> tuple[SessionRow, UserRow] | None:
        """A session and its user in one query (the per-request check)."""
        with self.engine.connect() as conn:
            r = conn.execute(self._session_user, {"digest": id_sha256}).mappings().first()
        if r is None:
            return None
        return (SessionRow(r["id"], r["csrf_token"], _utc(r["s_created_at"]),
                           _utc(r["last_seen_at"]), _utc(r["expires_at"])), _user_row(r))

    @cached_property
    def _session_user(self) -> Select:
        s, u = schema.login_sessions, schema.users
        return select(u, s.c.csrf_token, s.c.created_at.label("s_created_at"), s.c.last_seen_at,
                      s.c.expires_at).join(u, u.c.id == s.c.user_id) \
            .where(s.c.id_sha256 == bindparam("digest"))

    def touch_session(self, id_sha256: str, now: datetime) -> None:
        s = schema.login_sessions
        with self.engine.begin() as conn:
            conn.execute(update(s).where(s.c.id_sha256 == id_sha256).values(last_seen_at=now))

    def delete_session(self, id_sha256: str) -> None:
        s = schema.login_sessions
        with self.engine.begin() as conn:
            conn.execute(delete(s).where(s.c.id_sha256 == id_sha256))

    def delete_sessions_of(self, user_id: int) -> None:
        s = schema.login_sessions
        with self.engine.begin() as conn:
            conn.execute(delete(s).where(s.c.user_id == user_id))

    def delete_expired_sessions(self, now: datetime) -> int:
        s = schema.login_sessions
        with self.engine.begin() as conn:
            return conn.execute(delete(s).where(s.c.expires_at < now)).rowcount or 0

    # --- audit log ---

    def audit(self, *, now: datetime, actor: str, action: str, target: str = "",
              remote_addr: str = "", before: Any = None, after: Any = None) -> None:
        with self.engine.begin() as conn:
            _audit(conn, now=now, actor=actor, action=action, target=target,
                   remote_addr=remote_addr, before=before, after=after)

    def audit_entries(self, *, since: datetime | None = None, actor: str | None = None,
                      action: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The newest ``limit`` entries matching, oldest first."""
        a = schema.audit_log
        conds = []
        if since is not None:
            conds.append(a.c.at >= since)
        if actor is not None:
            conds.append(a.c.actor == actor)
        if action is not None:
            conds.append(a.c.action == action)
        query = select(a).where(and_(True, *conds)).order_by(a.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [AuditEntry(r["id"], _utc(r["at"]), r["actor"], r["remote_addr"], r["action"],
                           r["target"], r["before"], r["after"]) for r in reversed(rows)]

    def delete_audit_before(self, before: datetime) -> int:
        """Retention: the only way audit entries leave the table."""
        a = schema.audit_log
        with self.engine.begin() as conn:
            return conn.execute(delete(a).where(a.c.at < before)).rowcount or 0

    # --- helpers ---

    def _user(self, conn: Connection, where: Any) -> UserRow | None:
        r = conn.execute(select(schema.users).where(where)).mappings().first()
        return None if r is None else self._with_details(conn, r)

    def _with_details(self, conn: Connection, r: Any) -> UserRow:
        c, m, t = schema.contact_methods, schema.team_members, schema.teams
        contacts = conn.execute(select(c).where(c.c.user_id == r["id"]).order_by(c.c.id)).mappings().all()
        teams = conn.execute(select(t.c.name).join(m, m.c.team_id == t.c.id)
                             .where(m.c.user_id == r["id"]).order_by(t.c.name)).scalars().all()
        return _user_row(r, contacts=tuple(ContactMethod(x["kind"], x["address"], x["label"])
                                           for x in contacts), teams=tuple(teams))

    def _token(self, conn: Connection, where: Any) -> TokenRow | None:
        r = conn.execute(_token_select().where(where)).mappings().first()
        return None if r is None else _token_row(r)


def _user_row(r: Any, contacts: tuple[ContactMethod, ...] = (),
              teams: tuple[str, ...] = ()) -> UserRow:
    return UserRow(
        id=r["id"], name=r["name"], display_name=r["display_name"], email=r["email"],
        time_zone=r["time_zone"], role=r["role"], disabled=bool(r["disabled"]),
        password_hash=r["password_hash"], provisioned=bool(r["provisioned"]),
        failed_logins=r["failed_logins"], locked_until=_utc(r["locked_until"]),
        created_at=_utc(r["created_at"]), updated_at=_utc(r["updated_at"]),
        contacts=contacts, teams=teams, sso_subject=r["sso_subject"])


def _token_select() -> Select:
    """Tokens with their owner's name, role and state (None for a service token)."""
    t, u = schema.api_tokens, schema.users
    return select(t, u.c.name.label("user_name"), u.c.role.label("user_role"),
                  u.c.disabled.label("user_disabled")).outerjoin(u, u.c.id == t.c.user_id)


def _token_row(r: Any) -> TokenRow:
    return TokenRow(id=r["id"], name=r["name"], prefix=r["prefix"], role=r["role"],
                    user=r["user_name"], created_by=r["created_by"],
                    created_at=_utc(r["created_at"]), expires_at=_utc(r["expires_at"]),
                    last_used_at=_utc(r["last_used_at"]), revoked_at=_utc(r["revoked_at"]),
                    user_role=r["user_role"],
                    user_disabled=None if r["user_disabled"] is None else bool(r["user_disabled"]))


def _audit(conn: Connection, *, now: datetime, actor: str, action: str, target: str = "",
           remote_addr: str = "", before: Any = None, after: Any = None) -> None:
    conn.execute(insert(schema.audit_log).values(
        at=now, actor=actor[:256], remote_addr=(remote_addr or "")[:64], action=action[:64],
        target=(target or "")[:512], before=before, after=after))
