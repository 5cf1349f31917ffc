"""People and access (issue 14): users, teams, roles, API tokens, login sessions and the
audit log, over the state database's access tables (:mod:`vigil.state.access_store`).

- :mod:`vigil.access.roles`: the ordered roles viewer < responder < editor < admin;
- :mod:`vigil.access.credentials`: argon2 password hashes, token and session secrets;
- :mod:`vigil.access.service`: authentication (passwords with lockout and throttling,
  tokens, sessions), people and token management, the audit log;
- :mod:`vigil.access.provisioning`: the config file's ``users:``/``teams:`` sections;
- :mod:`vigil.access.exposure`: the refusal to serve a network address to everyone;
- :mod:`vigil.access.oidc`: single sign-on with OpenID Connect (code flow with PKCE).

It sits below the web layer (which enforces it per route) and the CLI; it imports only
errors, model, config, state and gocompat.
"""

from vigil.access.exposure import check_exposure, is_loopback
from vigil.access.provisioning import ProvisioningResult, apply_people, read_passwords
from vigil.access.roles import Role, parse_role
from vigil.access.service import (
    AccessService,
    AuthenticationError,
    LoginThrottled,
    Principal,
    TokenExpired,
)

__all__ = ["AccessService", "AuthenticationError", "LoginThrottled", "Principal",
           "ProvisioningResult", "Role", "TokenExpired", "apply_people", "check_exposure",
           "is_loopback", "parse_role", "read_passwords"]
