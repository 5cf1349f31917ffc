"""The access service: who is asking, and what they may do. One per running Vigil (and one
per CLI command), over the state database's access tables.

Everything that changes people or credentials writes an audit entry in the same
transaction. Failed logins count per user (``access.lockout_after`` failures lock the user
for ``access.lockout_duration``) and per client address (too many failures from one
address in five minutes are answered 429, whoever they were for).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from vigil.access.credentials import (
    digest,
    hash_password,
    new_session_id,
    new_token,
    password_matches,
)
from vigil.access.roles import Role, parse_role
from vigil.config.access import AccessConfig, UserConfig, check_name
from vigil.config.located import LocatedValueError
from vigil.errors import VigilError
from vigil.state.access_store import (
    AccessStore,
    AuditEntry,
    ContactMethod,
    TeamRow,
    TokenRow,
    UserRow,
)
from vigil.state.reach_store import NotificationRules, NotificationRulesStore

__all__ = ["AccessService", "AuthenticationError", "LoginThrottled", "Principal",
           "TokenExpired"]

_REFRESH_EVERY_S = 60.0  # last-used / last-seen times are written at most this often
_BASIC_CACHE_S = 60.0  # a verified basic-auth password is not re-hashed for this long
_CONFIGURED_CACHE_S = 5.0


class AuthenticationError(VigilError):
    """Bad credentials. The message never says which part was wrong."""

    def __init__(self, message: str = "invalid credentials") -> None:
        super().__init__(message)


class TokenExpired(AuthenticationError):
    def __init__(self, expired_at: datetime) -> None:
        super().__init__(f"the token expired at {expired_at.isoformat(timespec='seconds')}")


class LoginThrottled(AuthenticationError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("too many failed logins from this address; try again later")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. ``kind``: ``user`` (password or session), ``token``,
    ``local`` (the implicit admin when nobody is configured), ``webconfig`` (a user of
    Prometheus's web config file), ``cli`` (a local command)."""

    name: str
    role: Role
    kind: str
    user_id: int | None = None
    csrf_token: str | None = None  # set when the request came with a session cookie

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return self.name if self.kind == "user" else f"{self.kind}:{self.name}"

    def may(self, role: Role) -> bool:
        return self.role >= role


class _AddressThrottle:
    """At most ``limit`` failed logins per client address in ``window_s`` seconds."""

    def __init__(self, limit: int = 20, window_s: float = 300.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, address: str) -> int:
        times = self._failures.get(address)
        now = time.monotonic()
        while times and times[0] < now - self.window_s:
            times.popleft()
        if not times or len(times) < self.limit:
            return 0
        return max(1, int(times[0] + self.window_s - now) + 1)

    def fail(self, address: str) -> None:
        self._failures.setdefault(address, deque()).append(time.monotonic())
        if len(self._failures) > 10_000:  # bound memory under a spray of addresses
            self._failures.pop(next(iter(self._failures)))


class AccessService:
    def __init__(self, store: AccessStore, settings: AccessConfig | None = None, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.settings = settings or AccessConfig()
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.throttle = _AddressThrottle()
        self._basic_ok: dict[tuple[str, str, str], float] = {}
        self._written: dict[tuple[str, Any], float] = {}
        self._configured: tuple[float, bool] | None = None

    # --- people ---

    def add_user(self, name: str, role: Role, *, actor: str, email: str = "",
                 display_name: str = "", password: str | None = None,
                 remote_addr: str = "") -> UserRow:
        check_name(name)
        if self.store.user(name) is not None:
            raise ValueError(f"user {name!r} already exists")
        values = {"role": role.label, "email": email, "display_name": display_name,
                  "password_hash": hash_password(password) if password is not None else None}
        return self.set_user(name, actor=actor, action="user.create", remote_addr=remote_addr,
                             **values)

    def set_user(self, name: str, *, actor: str, remote_addr: str = "",
                 action: str = "user.update", contacts: list[ContactMethod] | None = None,
                 **values: Any) -> UserRow:
        """Change columns of an existing or new user (``role`` as a name, ``password`` in
        clear: it is hashed here). Disabling a user or changing their password ends their
        sessions."""
        if "password" in values:
            password = values.pop("password")
            values["password_hash"] = None if password is None else hash_password(password)
        before = self.store.user(name)
        now = self.clock()
        self.store.upsert_user(name, values, now=now, contacts=contacts)
        user = self.store.user(name)
        assert user is not None
        changed_password = before is not None and before.password_hash != user.password_hash
        before_public = before.public() if before else None
        if before_public != user.public() or changed_password:
            self.store.audit(now=now, actor=actor, action=action, target=f"user:{name}",
                             remote_addr=remote_addr, before=before_public,
                             after={**user.public(), **({"password": "changed"}
                                                        if changed_password else {})})
        if user.disabled or changed_password:
            self.store.delete_sessions_of(user.id)
        self._configured = None
        return user

    def disable_user(self, name: str, *, actor: str, remote_addr: str = "") -> UserRow:
        if self.store.user(name) is None:
            raise ValueError(f"no user {name!r}")
        return self.set_user(name, actor=actor, remote_addr=remote_addr, action="user.disable",
                             disabled=True)

    def change_user(self, name: str, *, actor: str, action: str, remote_addr: str = "",
                    **values: Any) -> UserRow:
        """Change an existing user (``role``, ``disabled``, ``password`` ...); enabling a
        user or setting their password also lifts a lockout. ValueError if there is none."""
        if self.store.user(name) is None:
            raise ValueError(f"no user {name!r}")
        if "role" in values:
            values["role"] = parse_role(values["role"]).label
        if values.get("disabled") is False or values.get("password") is not None:
            values.update(failed_logins=0, locked_until=None)
        return self.set_user(name, actor=actor, remote_addr=remote_addr, action=action, **values)

    def users(self) -> list[UserRow]:
        return self.store.users()

    def authentication_configured(self) -> bool:
        """True once any enabled user exists (cached for a few seconds: a user added with
        the CLI reaches a running server within that time)."""
        now = time.monotonic()
        if self._configured is None or self._configured[0] < now:
            self._configured = (now + _CONFIGURED_CACHE_S, self.store.enabled_user_count() > 0)
        return self._configured[1]

    # --- API tokens ---

    def create_token(self, name: str, role: Role, *, actor: str, user: str | None = None,
                     expires_in: timedelta | None = None, remote_addr: str = "") -> str:
        """A new token's secret: shown once, only its hash is stored. A user's token never
        has more rights than the user."""
        check_name(name)
        if self.store.token(name) is not None:
            raise ValueError(f"token {name!r} already exists")
        owner = None
        if user is not None:
            owner = self.store.user(user)
            if owner is None:
                raise ValueError(f"no user {user!r}")
            if role > parse_role(owner.role):
                raise ValueError(f"a token of {user!r} cannot have more than the user's role "
                                 f"({owner.role})")
        secret = new_token()
        now = self.clock()
        expires_at = now + expires_in if expires_in is not None else None
        self.store.add_token(
            name=name, secret_sha256=digest(secret), prefix=secret[:8], role=role.label,
            user_id=owner.id if owner else None, created_by=actor, now=now, expires_at=expires_at,
            audit={"actor": actor, "action": "token.create", "target": f"token:{name}",
                   "remote_addr": remote_addr,
                   "after": {"name": name, "role": role.label, "user": user,
                             "expires_at": expires_at.isoformat() if expires_at else None}})
        return secret

    def tokens(self) -> list[TokenRow]:
        return self.store.tokens()

    def revoke_token(self, name: str, *, actor: str, remote_addr: str = "") -> None:
        if not self.store.revoke_token(name, now=self.clock(), audit={
                "actor": actor, "action": "token.revoke", "target": f"token:{name}",
                "remote_addr": remote_addr}):
            raise ValueError(f"no active token {name!r}")

    def authenticate_token(self, secret: str) -> Principal:
        row = self.store.token_by_hash(digest(secret))
        if row is None or row.revoked_at is not None:
            raise AuthenticationError()
        now = self.clock()
        if row.expires_at is not None and row.expires_at <= now:
            raise TokenExpired(row.expires_at)
        role = parse_role(row.role)
        if row.user is not None:
            if row.user_disabled or row.user_role is None:
                raise AuthenticationError()
            role = min(role, parse_role(row.user_role))
        if self._due(("token", row.id)):
            self.store.token_used(row.id, now)
        return Principal(row.name, role, "token")

    # --- passwords and sessions ---

    def check_password(self, name: str, password: str, *, remote_addr: str = "",
                       via: str = "login") -> Principal:
        """The user ``name`` if ``password`` is theirs and they may log in. Failures are
        counted and audited; ``via`` (login, basic) says which door was tried."""
        retry = self.throttle.retry_after(remote_addr)
        if retry:
            self.audit(actor=name, action=f"{via}.throttled", target=f"user:{name}",
                       remote_addr=remote_addr)
            raise LoginThrottled(retry)
        user = self.store.user_brief(name=name)
        now = self.clock()
        if via == "basic" and user is not None and self._basic_cached(user, password):
            return Principal(user.name, parse_role(user.role), "user", user.id)
        ok = password_matches(user.password_hash if user else None, password)
        locked = user is not None and user.locked_until is not None and user.locked_until > now
        if not ok or user is None or user.disabled or locked:
            self.throttle.fail(remote_addr)
            reason = ("locked" if locked else "disabled" if user is not None and user.disabled
                      and ok else "bad credentials")
            if user is not None and not locked and not ok:
                count = self.store.record_login_failure(
                    user.id, lock_after=self.settings.lockout_after,
                    lock_until=now + timedelta(seconds=self.settings.lockout_duration))
                if count >= self.settings.lockout_after:
                    reason = "bad credentials; user locked"
            self.audit(actor=name, action=f"{via}.failure", target=f"user:{name}",
                       remote_addr=remote_addr, after={"reason": reason})
            raise AuthenticationError()
        if user.failed_logins:
            self.store.record_login_success(user.id)
        if via == "basic":
            if len(self._basic_ok) > 10_000:  # bound memory: forget everything, re-verify
                self._basic_ok.clear()
            self._basic_ok[(user.name, digest(password), user.password_hash or "")] = \
                time.monotonic() + _BASIC_CACHE_S
        else:
            self.audit(actor=name, action=f"{via}.success", target=f"user:{name}",
                       remote_addr=remote_addr)
        return Principal(user.name, parse_role(user.role), "user", user.id)

    def remembered_basic(self, name: str, password: str) -> Principal | None:
        """The user of a basic-auth pair that verified within the last minute, without
        argon2 (one read: the user may have been disabled or locked since); else None and
        the caller runs :meth:`check_password`."""
        user = self.store.user_brief(name=name)
        if user is None or not self._basic_cached(user, password):
            return None
        return Principal(user.name, parse_role(user.role), "user", user.id)

    def _basic_cached(self, user: UserRow, password: str) -> bool:
        if user.disabled or (user.locked_until is not None and user.locked_until > self.clock()):
            return False
        key = (user.name, digest(password), user.password_hash or "")
        until = self._basic_ok.get(key)
        if until is None or until < time.monotonic():
            self._basic_ok.pop(key, None)
            return False
        return True

    def login(self, name: str, password: str, *, remote_addr: str = "") -> tuple[str, Principal]:
        """Check the password and open a session: the session id for the cookie, and the
        principal (with the session's CSRF token)."""
        principal = self.check_password(name, password, remote_addr=remote_addr)
        return self._open_session(principal, remote_addr)

    def sso_login(self, *, subject: str, username: str, role: Role, email: str = "",
                  display_name: str = "", remote_addr: str = "") -> tuple[str, Principal]:
        """Open a session for the identity the provider vouched for (``subject``: its issuer
        and ``sub``, which the provider never reassigns). The account is found by that
        subject. The first time, a new account is created under ``username``, or a
        config-provisioned account of that name without a password is linked to it; a name
        that belongs to an account with a password or another identity is refused
        (ValueError), since anyone able to choose that name at the provider would otherwise
        take the account over. The role follows the groups, unless the config file
        provisions the user (the file wins). Disabled users are refused."""
        check_name(username)
        user = self.store.user_brief(sso_subject=subject)
        if user is None:
            user = self.store.user_brief(name=username)
            if user is not None and (user.sso_subject is not None
                                     or user.password_hash is not None):
                raise ValueError(f"the user name {username!r} belongs to another Vigil account; "
                                 "an admin must rename one of them or remove its password")
        if user is not None and user.disabled:
            self.audit(actor=username, action="sso.failure", target=f"user:{username}",
                       remote_addr=remote_addr, after={"reason": "disabled"})
            raise AuthenticationError()
        if user is None or not user.provisioned:
            user = self.set_user(username if user is None else user.name, actor="sso",
                                 remote_addr=remote_addr,
                                 action="user.sso_create" if user is None else "user.sso_update",
                                 role=role.label, email=email, display_name=display_name,
                                 sso_subject=subject)
        elif user.sso_subject is None:
            user = self.set_user(user.name, actor="sso", remote_addr=remote_addr,
                                 action="user.sso_link", sso_subject=subject)
        self.audit(actor=user.name, action="sso.success", target=f"user:{user.name}",
                   remote_addr=remote_addr)
        return self._open_session(Principal(user.name, parse_role(user.role), "user", user.id),
                                  remote_addr)

    def _open_session(self, principal: Principal, remote_addr: str) -> tuple[str, Principal]:
        session_id, csrf = new_session_id(), new_session_id()
        now = self.clock()
        self.store.add_session(digest(session_id), user_id=principal.user_id or 0,
                               csrf_token=csrf, remote_addr=remote_addr, now=now,
                               expires_at=now + timedelta(seconds=self.settings.session_ttl))
        return session_id, Principal(principal.name, principal.role, "user", principal.user_id,
                                     csrf)

    def session(self, session_id: str) -> Principal | None:
        """The logged-in user of a session cookie, or None when it is unknown, expired, or
        its user was disabled."""
        key = digest(session_id)
        found = self.store.session_user(key)
        now = self.clock()
        if found is None:
            return None
        row, user = found
        if row.expires_at <= now or user.disabled:
            return None
        if self._due(("session", key)):
            self.store.touch_session(key, now)
        return Principal(user.name, parse_role(user.role), "user", user.id, row.csrf_token)

    def logout(self, session_id: str, principal: Principal, *, remote_addr: str = "") -> None:
        self.store.delete_session(digest(session_id))
        self.audit(actor=principal.actor, action="logout", target=f"user:{principal.name}",
                   remote_addr=remote_addr)

    # --- teams and contact methods (admins, through the API) ---

    def teams(self) -> list[TeamRow]:
        return self.store.teams()

    def set_team(self, name: str, *, members: list[str], display_name: str = "", actor: str,
                 remote_addr: str = "") -> TeamRow:
        """Create a team or replace its members. A team from the config file is changed
        there (a reload would undo an edit here): ValueError, as for unknown members."""
        check_name(name)
        before = next((t for t in self.store.teams() if t.name == name), None)
        if before is not None and before.provisioned:
            raise ValueError(f"team {name!r} comes from the config file; change it there")
        known = {u.name for u in self.store.users()}
        unknown = sorted(set(members) - known)
        if unknown:
            raise ValueError(f"no such users: {', '.join(unknown)}")
        self.store.upsert_team(name, display_name=display_name, provisioned=False,
                               members=sorted(set(members)))
        after = next(t for t in self.store.teams() if t.name == name)
        self.audit(actor=actor, action="team.create" if before is None else "team.update",
                   target=f"team:{name}", remote_addr=remote_addr,
                   before=None if before is None else before.public(), after=after.public())
        return after

    def set_contacts(self, name: str, contacts: list[dict[str, Any]] | None, *, actor: str,
                     remote_addr: str = "", notification_rules: dict[str, Any] | None = None,
                     working_hours: list[Any] | None = None) -> UserRow:
        """Replace a user's contact methods and, when given, their notification rules and
        working hours (None keeps the current ones), all validated as the config file's
        ``users:`` entries: the rules must name the contacts by label or kind."""
        user = self.store.user(name)
        if user is None:
            raise ValueError(f"no user {name!r}")
        current = self.notification_rules(name)
        if contacts is None:
            contacts = [{"kind": c.kind, "address": c.address, "label": c.label} for c in user.contacts]
        try:
            parsed = UserConfig.model_validate({
                "name": name, "contacts": contacts,
                "notification_rules": current.rules if notification_rules is None else notification_rules,
                "working_hours": current.working_hours if working_hours is None else working_hours})
        except ValidationError as exc:
            raise ValueError("; ".join(_located(e) for e in exc.errors())) from None
        user = self.set_user(name, actor=actor, remote_addr=remote_addr, action="user.contacts",
                             contacts=[ContactMethod(c.kind, c.address, c.label) for c in parsed.contacts])
        self.set_notification_rules(parsed, actor=actor, remote_addr=remote_addr)
        return user

    def notification_rules(self, name: str) -> NotificationRules:
        return NotificationRulesStore(self.store.engine).get(name)

    def set_notification_rules(self, user: UserConfig, *, actor: str, remote_addr: str = "") -> None:
        """Store ``user``'s notification rules and working hours (validated), audited when
        they change."""
        value = NotificationRules(
            {u: [{"contact": r.contact, "after": r.after} for r in rules]
             for u, rules in user.notification_rules.items()},
            [{"kind": w.kind, "start": w.start, "end": w.end} for w in user.working_hours])
        rules_store = NotificationRulesStore(self.store.engine)
        before = rules_store.get(user.name)
        if before == value:
            return
        rules_store.put(user.name, value, now=self.clock())
        self.audit(actor=actor, action="user.notification_rules", target=f"user:{user.name}",
                   remote_addr=remote_addr, before=before.public(), after=value.public())

    # --- audit log ---

    def audit(self, *, actor: str, action: str, target: str = "", remote_addr: str = "",
              before: Any = None, after: Any = None) -> None:
        self.store.audit(now=self.clock(), actor=actor, action=action, target=target,
                         remote_addr=remote_addr, before=before, after=after)

    def audit_entries(self, *, since: datetime | None = None, actor: str | None = None,
                      action: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        return self.store.audit_entries(since=since, actor=actor, action=action, limit=limit)

    def housekeeping(self) -> tuple[int, int]:
        """Apply the audit retention and drop expired sessions: (entries, sessions) removed."""
        now = self.clock()
        entries = self.store.delete_audit_before(
            now - timedelta(seconds=self.settings.audit_retention))
        return entries, self.store.delete_expired_sessions(now)

    def _due(self, key: tuple[str, Any]) -> bool:
        now = time.monotonic()
        if self._written.get(key, 0.0) > now:
            return False
        self._written[key] = now + _REFRESH_EVERY_S
        return True


def _located(error: Any) -> str:
    """A pydantic error as ``path: message``, the path down to the field a validator named."""
    path = list(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, LocatedValueError):
        path += list(cause.path)
    return f"{'.'.join(map(str, path)) or 'user'}: {error['msg'].removeprefix('Value error, ')}"
