"""Single sign-on with OpenID Connect: the authorization code flow with PKCE (RFC 7636),
the provider found through its discovery document, ID tokens verified against its JWKS
(RS256 or ES256, verified with joserfc), the role taken from a groups claim.

:class:`OIDCLogin` holds the logins under way (state, nonce and PKCE verifier, for ten
minutes, in memory: a login started on one replica finishes on the same one) and turns a
provider's callback into an :class:`Identity`. :meth:`AccessService.sso_login` makes the
identity a user and a session.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from vigil.access.roles import Role, parse_role
from vigil.config.access import OIDCConfig
from vigil.config.secret_files import read_secret_file
from vigil.errors import ConfigError, VigilError

__all__ = ["Identity", "OIDCError", "OIDCLogin", "read_client_secret", "verify_id_token"]

_PENDING_S = 600.0  # a login must come back from the provider within ten minutes
_DISCOVERY_S = 3600.0
_LEEWAY_S = 60  # clock skew allowed on exp / iat
_ALGORITHMS = ("RS256", "ES256")  # never none or a shared-secret algorithm


class OIDCError(VigilError):
    """The provider's answer cannot be trusted or the user may not log in. The message is
    for the audit log and the login page; it never holds a token."""


@dataclass(frozen=True)
class Identity:
    username: str
    email: str
    display_name: str
    groups: tuple[str, ...]
    role: Role
    subject: str


@dataclass(frozen=True)
class _Pending:
    nonce: str
    verifier: str
    next_path: str
    started: float


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify_id_token(token: str, *, keys: list[dict[str, Any]], issuer: str, client_id: str,
                    nonce: str, now: float) -> dict[str, Any]:
    """The claims of a signed ID token, checked as OpenID Connect Core 3.1.3.7 says:
    signature (RS256/ES256 only; never ``none`` or a shared-secret algorithm), ``iss``,
    ``aud`` (and ``azp`` when there are several audiences), ``exp``, ``iat``, ``nonce``."""
    # The JOSE part (parsing, JWK import, signature) is joserfc's; the rules of OpenID
    # Connect on top of it are here. Imported here: 10 MB only single sign-on needs.
    from joserfc import jws, jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import JWKRegistry

    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError, UnicodeError):
        raise OIDCError("the ID token is not a signed JWT") from None
    alg = header.get("alg")
    if alg not in _ALGORITHMS:
        raise OIDCError(f"ID token algorithm {alg!r} is not accepted (RS256, ES256)")
    kid = header.get("kid")
    candidates = [k for k in keys if kid is None or k.get("kid") == kid]
    if not candidates:
        raise OIDCError(f"no key {kid!r} in the provider's JWKS")
    for key in candidates:
        try:
            claims = jwt.decode(token, JWKRegistry.import_key(key), algorithms=_ALGORITHMS).claims
            break
        except (JoseError, ValueError, TypeError):
            continue
    else:
        raise OIDCError("the ID token's signature does not verify")
    if not isinstance(claims, dict):
        raise OIDCError("the ID token is not a signed JWT")
    if claims.get("iss") != issuer:
        raise OIDCError(f"the ID token's issuer {claims.get('iss')!r} is not {issuer!r}")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != client_id):
        raise OIDCError("the ID token is not meant for this client")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or exp + _LEEWAY_S < now:
        raise OIDCError("the ID token has expired")
    if not isinstance(iat, (int, float)) or iat - _LEEWAY_S > now:
        raise OIDCError("the ID token was issued in the future")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
        raise OIDCError("the ID token's nonce does not match the login")
    return claims


def read_client_secret(settings: OIDCConfig, base_dir: str) -> str | None:
    """The client secret from ``client_secret_file`` (relative to ``base_dir``) or
    ``client_secret_env``; None for a public client. Raises :class:`ConfigError`."""
    if settings.client_secret_file:
        path = os.path.join(base_dir, settings.client_secret_file)
        secret = read_secret_file(path, ConfigError, f"access.oidc.client_secret_file {path}").strip()
        if not secret:
            raise ConfigError(f"access.oidc.client_secret_file {path} is empty")
        return secret
    if settings.client_secret_env:
        secret = os.environ.get(settings.client_secret_env, "")
        if not secret:
            raise ConfigError(f"environment variable {settings.client_secret_env} "
                              "(access.oidc.client_secret_env) is unset or empty")
        return secret
    return None


class OIDCLogin:
    """One configured provider. ``redirect_url`` is Vigil's callback
    (``<external URL>/login/oidc/callback``); ``client_secret`` None: a public client."""

    def __init__(self, settings: OIDCConfig, *, redirect_url: str, client_secret: str | None,
                 http: httpx.Client | None = None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.redirect_url = redirect_url
        self.client_secret = client_secret
        self.http = http or httpx.Client(timeout=10.0)
        self.clock = clock
        self._pending: dict[str, _Pending] = {}
        self._discovery: tuple[float, dict[str, Any]] | None = None
        self._keys: list[dict[str, Any]] = []

    def discovery(self) -> dict[str, Any]:
        now = self.clock()
        if self._discovery is None or self._discovery[0] < now:
            url = self.settings.issuer + "/.well-known/openid-configuration"
            doc = self._get_json(url)
            if str(doc.get("issuer", "")).rstrip("/") != self.settings.issuer:
                raise OIDCError(f"the discovery document at {url} names issuer {doc.get('issuer')!r}")
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(doc.get(field), str):
                    raise OIDCError(f"the discovery document at {url} has no {field}")
            self._discovery = (now + _DISCOVERY_S, doc)
        return self._discovery[1]

    def begin(self, next_path: str = "/") -> tuple[str, str]:
        """Start a login: (the provider's authorization URL to redirect to, the state to
        bind to the browser in a cookie)."""
        doc = self.discovery()
        self._forget_old()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        self._pending[state] = _Pending(nonce, verifier, next_path, self.clock())
        challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
        query = urlencode({"response_type": "code", "client_id": self.settings.client_id,
                           "redirect_uri": self.redirect_url, "scope": " ".join(self.settings.scopes),
                           "state": state, "nonce": nonce, "code_challenge": challenge,
                           "code_challenge_method": "S256"})
        endpoint = doc["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state

    def finish(self, *, state: str, code: str, bound_state: str | None) -> tuple[Identity, str]:
        """The identity of a login coming back with ``code``, and where to go next.
        ``bound_state`` is the state from the browser's cookie: it must be this login's."""
        if not bound_state or not secrets.compare_digest(state, bound_state):
            raise OIDCError("the login did not start in this browser")
        pending = self._pending.pop(state, None)
        if pending is None or pending.started + _PENDING_S < self.clock():
            raise OIDCError("unknown or expired login; start again")
        doc = self.discovery()
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.redirect_url, "code_verifier": pending.verifier,
                "client_id": self.settings.client_id}
        auth = (self.settings.client_id, self.client_secret) if self.client_secret else None
        tokens = self._json_answer("the token endpoint", lambda: self.http.post(
            doc["token_endpoint"], data=form, auth=auth, headers={"Accept": "application/json"}))
        id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
        if not isinstance(id_token, str):
            raise OIDCError("the token endpoint returned no id_token")
        claims = self._verified(id_token, pending.nonce)
        if self.settings.groups_claim not in claims and isinstance(doc.get("userinfo_endpoint"), str) \
                and isinstance(tokens.get("access_token"), str):
            info = self._get_json(doc["userinfo_endpoint"],
                                  headers={"Authorization": f"Bearer {tokens['access_token']}"})
            if info.get("sub") == claims.get("sub"):  # OpenID Connect Core 5.3.2
                claims = {**info, **claims}
        return self._identity(claims), pending.next_path

    def _verified(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            return verify_id_token(id_token, keys=self._jwks(), issuer=self.settings.issuer,
                                   client_id=self.settings.client_id, nonce=nonce,
                                   now=self.clock())
        except OIDCError as exc:
            if "no key" not in str(exc):
                raise
        # The provider may have rotated its keys since they were fetched.
        return verify_id_token(id_token, keys=self._jwks(refresh=True),
                               issuer=self.settings.issuer, client_id=self.settings.client_id,
                               nonce=nonce, now=self.clock())

    def _jwks(self, refresh: bool = False) -> list[dict[str, Any]]:
        if refresh or not self._keys:
            keys = self._get_json(self.discovery()["jwks_uri"]).get("keys")
            if not isinstance(keys, list):
                raise OIDCError("the provider's JWKS has no keys")
            self._keys = [k for k in keys if isinstance(k, dict)]
        return self._keys

    def _identity(self, claims: dict[str, Any]) -> Identity:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise OIDCError("the ID token has no sub claim")
        username = claims.get(self.settings.username_claim)
        if not username and claims.get("email_verified") is True:
            # Only an address the provider checked may stand in for the name.
            username = claims.get("email")
        if not isinstance(username, str) or not username:
            raise OIDCError(f"the ID token has no {self.settings.username_claim} claim "
                            "(and no verified email)")
        raw_groups = claims.get(self.settings.groups_claim) or []
        groups = tuple(g for g in raw_groups if isinstance(g, str)) \
            if isinstance(raw_groups, list) else ()
        role = None
        for name, wanted in self.settings.role_groups.items():
            if set(wanted) & set(groups):
                candidate = parse_role(name)
                role = candidate if role is None or candidate > role else role
        if role is None and self.settings.default_role is not None:
            role = parse_role(self.settings.default_role)
        if role is None:
            raise OIDCError(f"{username} is in no group that gives a role")
        return Identity(username=username, email=str(claims.get("email") or ""),
                        display_name=str(claims.get("name") or ""), groups=groups, role=role,
                        subject=f"{self.settings.issuer} {subject}")

    @staticmethod
    def _json_answer(what: str, send: Callable[[], httpx.Response]) -> Any:
        """The JSON body of the provider's answer to ``send()``; OIDCError naming ``what`` when
        the provider cannot be reached, answers other than 200 or answers something not JSON."""
        try:
            resp = send()
        except httpx.HTTPError as exc:
            raise OIDCError(f"cannot reach {what}: {exc}") from None
        if resp.status_code != 200:
            raise OIDCError(f"{what} answered {resp.status_code}: {resp.text[:200]}")
        try:
            return resp.json()
        except ValueError:
            raise OIDCError(f"{what} did not answer JSON") from None

    def _get_json(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        body = self._json_answer(url, lambda: self.http.get(url, headers=headers))
        if not isinstance(body, dict):
            raise OIDCError(f"{url} did not answer a JSON object")
        return body

    def _forget_old(self) -> None:
        cutoff = self.clock() - _PENDING_S
        for state in [s for s, p in self._pending.items() if p.started < cutoff]:
            del self._pending[state]
        while len(self._pending) > 10_000:  # bound memory under a flood of starts
            self._pending.pop(next(iter(self._pending)))
