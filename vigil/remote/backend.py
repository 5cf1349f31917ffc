"""The HTTP client of a ``storage.remote`` store: its headers, credentials and TLS, shared by
the writes (:class:`vigil.remote.queue.QueueManager`) and the queries
(:class:`vigil.remote.query.RemoteEngine`).

Secret files (``basic_auth.password_file``, ``authorization.credentials_file``) are read at
every request, so a rotated secret is picked up without a restart, as Prometheus does.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Generator

import httpx

from vigil.config import Config, resolve_path
from vigil.config.model import RemoteStorageConfig, TLSConfig
from vigil.config.secret_files import read_secret_file
from vigil.errors import VigilError

__all__ = ["BackendAuth", "BackendError", "backend_client"]


class BackendError(VigilError):
    """A secret file of ``storage.remote`` could not be read (the message names the file)."""


def _read_secret(path: str) -> str:
    return read_secret_file(path, BackendError, f"storage.remote: cannot read secret file {path}")


class BackendAuth(httpx.Auth):
    """Basic auth or an ``Authorization: <type> <credentials>`` header from the config;
    files are re-read for every request."""

    def __init__(self, remote: RemoteStorageConfig, config: Config) -> None:
        self._remote = remote
        self._config = config

    def _header(self) -> str | None:
        basic, authz = self._remote.basic_auth, self._remote.authorization
        if basic is not None:
            password = basic.password or ""
            if basic.password_file:
                password = _read_secret(resolve_path(self._config, basic.password_file))
            token = base64.b64encode(f"{basic.username}:{password}".encode()).decode()
            return f"Basic {token}"
        if authz is not None:
            cred = authz.credentials or ""
            if authz.credentials_file:
                cred = _read_secret(resolve_path(self._config, authz.credentials_file))
            return f"{authz.type} {cred}"
        return None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        header = self._header()
        if header is not None:
            request.headers["Authorization"] = header
        yield request


def _verify(tls: TLSConfig, config: Config) -> ssl.SSLContext | bool:
    if tls == TLSConfig():
        return True
    ctx = ssl.create_default_context(cafile=resolve_path(config, tls.ca_file) if tls.ca_file else None)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert_file and tls.key_file:
        ctx.load_cert_chain(resolve_path(config, tls.cert_file), resolve_path(config, tls.key_file))
    return ctx


class _ServerNameTransport(httpx.HTTPTransport):
    """Verifies the certificate against ``tls_config.server_name`` (and sends it as SNI)."""

    def __init__(self, server_name: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._server_name = server_name

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions = {**request.extensions, "sni_hostname": self._server_name}
        return super().handle_request(request)


def backend_client(remote: RemoteStorageConfig, config: Config, *, timeout_s: float,
                   headers: dict[str, str] | None = None,
                   transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A client for the store with the config's headers, credentials and TLS. Raises
    ``OSError``/``ssl.SSLError`` for unreadable or invalid TLS files (at start)."""
    verify = _verify(remote.tls_config, config)
    if transport is None and remote.tls_config.server_name:
        transport = _ServerNameTransport(remote.tls_config.server_name, verify=verify)
    return httpx.Client(transport=transport, verify=verify, timeout=timeout_s, trust_env=False,
                        auth=BackendAuth(remote, config),
                        headers={"User-Agent": "vigil-remote-storage", **(headers or {}),
                                 **remote.headers})
