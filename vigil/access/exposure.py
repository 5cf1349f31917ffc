"""Safe defaults: Vigil never serves a network address to everyone by accident.

With no user configured, Vigil on a loopback address behaves as it always did: every
request acts as one implicit local admin. On any other address it refuses to start unless
the config says so explicitly (``access: {allow_unauthenticated: true}``) or some
authentication is configured (a user, or Prometheus's web config file's basic auth users).
"""

from __future__ import annotations

import ipaddress

from vigil.errors import ConfigError

__all__ = ["check_exposure", "is_loopback"]


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ::1. The empty host and wildcard addresses
    (``0.0.0.0``, ``::``) listen on every interface, so they are not."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(host: str, listen: str, *, users_configured: bool, other_auth: bool,
                   allow_unauthenticated: bool) -> None:
    """Raise :class:`ConfigError` saying how to fix it when ``host`` is not loopback and
    nothing protects it."""
    if is_loopback(host) or users_configured or other_auth or allow_unauthenticated:
        return
    raise ConfigError(
        f"refusing to listen on {listen} without authentication: nobody would need to log in "
        "and everyone who reaches it would be an admin. Add a user (a users: section in the "
        "config, or `vigil users add NAME --role admin --password-stdin`), or listen on "
        "127.0.0.1, or set access: {allow_unauthenticated: true} to allow it on purpose")
