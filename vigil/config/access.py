"""The ``users:``, ``teams:`` and ``access:`` sections (issue 14): people provisioned from
the config file, as Grafana provisions them, and the access settings.

Passwords are never written in the file: a user gives ``password_file`` (a file holding
the password), ``password_env`` (the name of an environment variable holding it) or
``password_hash`` (an argon2 hash, e.g. from ``vigil users hash-password``). The file and
the variable are read when the config is applied (at start and on every reload).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.config.checks import check_http_url, check_time_zone, check_unique_names
from vigil.config.durations import Duration, PositiveDuration
from vigil.config.located import LocatedValueError
from vigil.config.schedules import RestrictionConfig

__all__ = ["AccessConfig", "CONTACT_KINDS", "ContactConfig", "NotificationRuleConfig", "OIDCConfig",
           "ROLE_NAMES", "TeamConfig", "URGENCIES", "UserConfig", "check_name", "check_people"]

ROLE_NAMES = ("viewer", "responder", "editor", "admin")
RoleName = Literal["viewer", "responder", "editor", "admin"]
CONTACT_KINDS = ("email", "slack_member", "slack_webhook", "webhook", "phone")
# A page's urgency (vigil.oncall.reach maps the episode's priority onto it).
URGENCIES = ("high", "low")
Urgency = Literal["high", "low"]



class Section(BaseModel):
    # As vigil.config.model.Section (which imports this module, so cannot be imported here).
    model_config = ConfigDict(extra="forbid", frozen=True)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


def check_name(name: str) -> str:
    """User and team names: letters, digits, ``. _ @ -``, at most 128, not starting with a
    sign (so they read well after ``cli:``/``token:`` in the audit log)."""
    if not _NAME.match(name):
        raise ValueError(f"invalid name {name!r}: use letters, digits and . _ @ - "
                         "(at most 128, starting with a letter or digit)")
    return name


class ContactConfig(Section):
    """How to reach a user: ``email`` (an address), ``slack_member`` (a member id such as
    U024BE7LH), ``slack_webhook`` / ``webhook`` (an http(s) URL), ``phone`` (E.164, for a
    webhook-based SMS/voice provider)."""

    kind: Literal["email", "slack_member", "slack_webhook", "webhook", "phone"]
    address: str = Field(min_length=1)
    label: str = ""

    @model_validator(mode="after")
    def _address_fits_kind(self) -> ContactConfig:
        ok = {
            "email": r"^[^@\s]+@[^@\s]+$",
            "slack_member": r"^[UW][A-Z0-9]{2,}$",
            "slack_webhook": r"^https?://[^/\s]+",
            "webhook": r"^https?://[^/\s]+",
            "phone": r"^\+[1-9][0-9]{6,14}$",
        }[self.kind]
        if not re.match(ok, self.address):
            raise LocatedValueError(f"address {self.address!r} is not a valid {self.kind}",
                                    ("address",))
        return self


class NotificationRuleConfig(Section):
    """One step of a user's notification rules: reach ``contact`` (a contact method's
    ``label``, else every contact method of that ``kind``) ``after`` this long from the page."""

    contact: str = Field(min_length=1)
    after: Duration = 0.0


class UserConfig(Section):
    name: str
    display_name: str = ""
    email: str = ""
    time_zone: str = "UTC"
    role: RoleName = "viewer"
    disabled: bool = False
    password_file: str | None = None
    password_env: str | None = None
    password_hash: str | None = Field(None, repr=False)
    contacts: list[ContactConfig] = Field(default_factory=list)
    # Per urgency, the contact methods in order with their delays (issue 16). An urgency
    # without rules reaches every contact method at once.
    notification_rules: dict[Urgency, list[NotificationRuleConfig]] = Field(default_factory=dict)
    # Windows in the user's time_zone (as schedule restrictions); when given, low-urgency
    # pages reach the user only inside them (outside: high urgency only).
    working_hours: list[RestrictionConfig] = Field(default_factory=list)

    _name = field_validator("name")(check_name)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise LocatedValueError("passwords are not written in the config: use password_file, "
                                    "password_env or password_hash", ("password",))
        return data

    _zone = field_validator("time_zone")(check_time_zone)

    @field_validator("password_hash")
    @classmethod
    def _hash(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$argon2"):
            raise ValueError("password_hash must be an argon2 hash ($argon2id$...)")
        return value

    @model_validator(mode="after")
    def _rules_name_contacts(self) -> UserConfig:
        names = {c.label for c in self.contacts if c.label} | {c.kind for c in self.contacts}
        for urgency, rules in self.notification_rules.items():
            for i, rule in enumerate(rules):
                if rule.contact not in names:
                    known = ", ".join(sorted(names)) or "none: add contacts"
                    raise LocatedValueError(
                        f"user {self.name!r}: notification rule names contact {rule.contact!r}, "
                        f"which is neither a label nor a kind of their contacts (known: {known})",
                        ("notification_rules", urgency, i, "contact"))
        return self

    @model_validator(mode="after")
    def _one_password_source(self) -> UserConfig:
        given = [k for k in ("password_file", "password_env", "password_hash") if getattr(self, k)]
        if len(given) > 1:
            raise LocatedValueError(f"set at most one of password_file, password_env and "
                                    f"password_hash (got {', '.join(given)})", (given[1],))
        return self


class TeamConfig(Section):
    name: str
    display_name: str = ""
    members: list[str] = Field(default_factory=list)  # names from the users section

    _name = field_validator("name")(check_name)


class OIDCConfig(Section):
    """Single sign-on with OpenID Connect (authorization code flow with PKCE). ``issuer``
    is the provider's issuer URL (its discovery document is at
    ``<issuer>/.well-known/openid-configuration``); the redirect URL to register is
    ``<web.external_url>/login/oidc/callback``. The role is the highest one whose
    ``role_groups`` list shares a group with the ``groups_claim`` of the ID token (or of
    the userinfo answer); with none, ``default_role``, and without one the login is refused.
    The client secret comes from ``client_secret_file`` or ``client_secret_env`` (none: a
    public client, PKCE only)."""

    issuer: str
    client_id: str = Field(min_length=1)
    client_secret_file: str | None = None
    client_secret_env: str | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email", "groups"])
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    role_groups: dict[RoleName, list[str]] = Field(default_factory=dict)
    default_role: RoleName | None = None
    button_text: str = "Log in with single sign-on"

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, url: str) -> str:
        return check_http_url(url, field="issuer").rstrip("/")

    @field_validator("scopes")
    @classmethod
    def _openid(cls, scopes: list[str]) -> list[str]:
        if "openid" not in scopes:
            raise ValueError("scopes must include openid")
        return scopes

    @model_validator(mode="after")
    def _one_secret(self) -> OIDCConfig:
        if self.client_secret_file and self.client_secret_env:
            raise LocatedValueError("set at most one of client_secret_file and client_secret_env",
                                    ("client_secret_env",))
        return self


class AccessConfig(Section):
    """``allow_unauthenticated``: serve a non-loopback address with nobody configured
    (everyone is admin); without it Vigil refuses to start that way. ``session_ttl``: how
    long a login lasts; ``lockout_after`` failed passwords lock the user for
    ``lockout_duration``; ``audit_retention``: how long audit entries are kept; ``oidc``: single sign-on."""

    allow_unauthenticated: bool = False
    session_ttl: PositiveDuration = 12 * 3600.0
    lockout_after: int = Field(5, ge=1)
    lockout_duration: Duration = 15 * 60.0
    audit_retention: PositiveDuration = 365 * 86400.0
    oidc: OIDCConfig | None = None


def check_people(users: list[UserConfig], teams: list[TeamConfig]) -> None:
    """Unique user and team names; team members name users of the ``users`` section.
    Raises :class:`LocatedValueError` with a path from the config's root."""
    names = [u.name for u in users]
    check_unique_names(names, "user names must be unique", ("users",))
    check_unique_names([t.name for t in teams], "team names must be unique", ("teams",))
    for i, team in enumerate(teams):
        for j, member in enumerate(team.members):
            if member not in names:
                raise LocatedValueError(f"team {team.name!r}: member {member!r} is not in the "
                                        "users section", ("teams", i, "members", j))
