"""Prometheus's web configuration file (``--web.config.file``), accepted as Prometheus 2.42
and Alertmanager accept it (prometheus/exporter-toolkit's format):

    tls_server_config:   cert_file, key_file, client_auth_type, client_ca_file,
                         min_version, max_version, cipher_suites, curve_preferences,
                         prefer_server_cipher_suites
    http_server_config:  http2, headers
    basic_auth_users:    name -> bcrypt hash

:func:`load_web_config` reads and validates the file completely (certificate and key are
loaded, the client CA parsed, every hash checked) and raises :class:`ConfigError` naming
``file:line:col`` and what is wrong. Unknown keys are refused, as the toolkit's strict YAML
does. Relative paths are relative to the file's directory.

:class:`LiveWebConfig` keeps the file in force while Vigil runs: it re-reads it when the file
or a certificate, key or CA file it names changes (checked on each request and each new TLS
connection, as the toolkit re-reads it per request and per connection). A file that has
become invalid is logged and the last good one stays in force. New certificates and keys
apply to new connections; the other TLS settings (client authentication, versions, ciphers,
TLS on or off) are fixed when the listener starts.

Where Python's TLS stack differs from Go's (see docs/security.md): ``RequestClientCert``
does not ask for a certificate (Vigil never reads one it did not verify, so nothing changes
for the request); ``RequireAnyClientCert`` verifies the certificate against
``client_ca_file`` and is refused without one; ``curve_preferences`` applies its first NIST
curve as the only ECDHE group (X25519 first keeps OpenSSL's default groups, which prefer
it); ``http2`` is accepted, and Vigil serves HTTP/1.1.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import bcrypt

from vigil.config.yamlmarks import Marks, load_yaml_file
from vigil.errors import ConfigError

__all__ = ["BasicAuthCache", "LiveWebConfig", "TLSServerConfig", "WebConfig", "load_web_config"]

log = logging.getLogger(__name__)

_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
             "max_version", "cipher_suites", "curve_preferences", "prefer_server_cipher_suites"}
_HTTP_KEYS = {"http2", "headers"}
_TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users"}

_TLS_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
                 "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}

# Go's crypto/tls suite names (tls.CipherSuites()) and OpenSSL's names for them. TLS 1.3
# suites are accepted and, as in Go, not configurable (None).
_CIPHERS: dict[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}
# Go's curve names and OpenSSL's (None: not settable through Python's ssl, see above).
_CURVES: dict[str, str | None] = {"CurveP256": "prime256v1", "CurveP384": "secp384r1",
                                  "CurveP521": "secp521r1", "X25519": None}
_CLIENT_AUTH = {"", "NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                "RequireClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"}
# The response headers the file may set, and the values allowed where they are an enumeration.
_HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (), "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"), "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
# A bcrypt hash as Go's bcrypt.Cost accepts it: $2$, $2a$, $2b$ or $2y$, a two-digit cost,
# then 22 characters of salt and 31 of hash.
_BCRYPT = re.compile(r"^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
# Compared against when the user is unknown, so that a wrong name costs what a wrong
# password costs (no user enumeration by timing). Cost 10, the toolkit's documented cost.
_DECOY_HASH = b"$2b$10$OkPTBwIxKwhla2K76LzHb.Fra9lQSVrXy7ohkYZn3MBDvx88vXNLO"  # of random bytes


@dataclass(frozen=True)
class TLSServerConfig:
    """``tls_server_config``, validated; paths are absolute."""

    cert_file: str
    key_file: str
    client_auth_type: str = "NoClientCert"
    client_ca_file: str | None = None
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: tuple[str, ...] = ()
    curve_preferences: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True

    def files(self) -> tuple[str, ...]:
        return (self.cert_file, self.key_file) + ((self.client_ca_file,) if self.client_ca_file else ())

    def ssl_context(self) -> ssl.SSLContext:
        """A server context with these settings. Raises ``ssl.SSLError``/``OSError``."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = _TLS_VERSIONS[self.min_version]
        ctx.maximum_version = _TLS_VERSIONS[self.max_version]
        ctx.load_cert_chain(self.cert_file, self.key_file)
        suites = [s for s in (_CIPHERS[c] for c in self.cipher_suites) if s]
        if suites:
            ctx.set_ciphers(":".join(suites))
        if self.prefer_server_cipher_suites:
            ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        else:
            ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        curve = _CURVES[self.curve_preferences[0]] if self.curve_preferences else None
        if curve:
            ctx.set_ecdh_curve(curve)
        mode = self.client_auth_type
        if mode in ("RequireAnyClientCert", "RequireClientCert", "RequireAndVerifyClientCert"):
            ctx.verify_mode = ssl.CERT_REQUIRED
        elif mode == "VerifyClientCertIfGiven":
            ctx.verify_mode = ssl.CERT_OPTIONAL
        if ctx.verify_mode != ssl.CERT_NONE:
            if self.client_ca_file:
                ctx.load_verify_locations(cafile=self.client_ca_file)
            else:  # as Go with no ClientCAs: the system's roots
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        return ctx


class BasicAuthCache:
    """Successful (user, hash, password) checks, so that bcrypt (slow by design) runs once
    per credential rather than per request. Keys are SHA-256 digests, never the password;
    at ``size`` entries a tenth is evicted at random, as the toolkit's cache does."""

    def __init__(self, size: int = 100) -> None:
        self.size = size
        self._ok: set[bytes] = set()
        self._lock = threading.Lock()

    @staticmethod
    def key(user: bytes, hashed: bytes, password: bytes) -> bytes:
        digest = hashlib.sha256()
        for part in (user, hashed, password):
            digest.update(len(part).to_bytes(4, "big") + part)
        return digest.digest()

    def __contains__(self, key: bytes) -> bool:
        with self._lock:
            return key in self._ok

    def add(self, key: bytes) -> None:
        with self._lock:
            if len(self._ok) >= self.size:
                for old in random.sample(sorted(self._ok), max(1, len(self._ok) // 10)):
                    self._ok.discard(old)
            self._ok.add(key)


# bcrypt is CPU-bound: one comparison at a time, as the toolkit does, so that a burst of
# bad credentials cannot take every core.
_BCRYPT_LOCK = threading.Lock()


@dataclass(frozen=True)
class WebConfig:
    """A loaded web configuration file. ``tls`` is None when it does not enable TLS;
    ``basic_auth_users`` maps user names to bcrypt hashes (empty: no basic auth)."""

    path: str
    tls: TLSServerConfig | None = None
    http2: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    basic_auth_users: Mapping[str, str] = field(default_factory=dict)
    cache: BasicAuthCache = field(default_factory=BasicAuthCache, compare=False, repr=False)

    @property
    def requires_basic_auth(self) -> bool:
        return bool(self.basic_auth_users)

    def files(self) -> tuple[str, ...]:
        """The file and the files it names, whose changes :class:`LiveWebConfig` watches."""
        return (self.path, *(self.tls.files() if self.tls else ()))

    def _credential(self, name: str, password: str) -> tuple[bytes, bytes | None, bytes]:
        hashed = self.basic_auth_users.get(name)
        # Header bytes that were not UTF-8 come back exactly through surrogateescape.
        return (name.encode("utf-8", "surrogateescape"),
                hashed.encode() if hashed is not None else None,
                password.encode("utf-8", "surrogateescape"))

    def basic_user_cached(self, name: str, password: str) -> bool:
        """Whether this exact credential was verified before (no bcrypt; cheap)."""
        user, hashed, pw = self._credential(name, password)
        return hashed is not None and BasicAuthCache.key(user, hashed, pw) in self.cache

    def verify_basic_user(self, name: str, password: str) -> bool:
        """Whether ``name`` is a user of the file and ``password`` matches its bcrypt hash.
        An unknown user costs one bcrypt comparison too. Blocking (tens of ms at cost 10
        on a cache miss): call it from a worker thread in async code."""
        user, hashed, pw = self._credential(name, password)
        if hashed is not None and BasicAuthCache.key(user, hashed, pw) in self.cache:
            return True
        # bcrypt reads at most 72 bytes of a password, as Go's CompareHashAndPassword does.
        with _BCRYPT_LOCK:
            matched = bcrypt.checkpw(pw[:72], hashed or _DECOY_HASH)
        if matched and hashed is not None:
            self.cache.add(BasicAuthCache.key(user, hashed, pw))
            return True
        return False


def load_web_config(path: str) -> WebConfig:
    """Read and validate the web configuration file at ``path`` (see the module docstring).
    Raises :class:`ConfigError` with file, line and what is wrong."""
    path = os.path.abspath(path)
    data, marks = load_yaml_file(path)
    if data is None:
        return WebConfig(path)
    _mapping(data, marks, (), _TOP_KEYS)
    base = os.path.dirname(path)
    tls = _tls(data.get("tls_server_config"), marks, base)
    http = data.get("http_server_config")
    http2, headers = True, {}
    if http is not None:
        _mapping(http, marks, ("http_server_config",), _HTTP_KEYS)
        http2 = _bool(http.get("http2", True), marks, ("http_server_config", "http2"))
        headers = _headers(http.get("headers"), marks)
    users = _users(data.get("basic_auth_users"), marks)
    return WebConfig(path, tls=tls, http2=http2, headers=headers, basic_auth_users=users)


# Keys of the toolkit's format that Vigil cannot honour: refused by name rather than ignored.
_UNSUPPORTED = {"client_allowed_sans": "Vigil does not match client certificate SANs; "
                                       "use client_ca_file with RequireAndVerifyClientCert"}


def _mapping(value: Any, marks: Marks, where: tuple, keys: set[str]) -> None:
    if not isinstance(value, dict):
        raise marks.error("must be a mapping", where)
    for key in value:
        if key in _UNSUPPORTED and where == ("tls_server_config",):
            raise marks.error(f"not supported: {_UNSUPPORTED[key]}", (*where, key))
        if key not in keys:
            raise marks.error("unknown field", (*where, key))


def _bool(value: Any, marks: Marks, where: tuple) -> bool:
    if not isinstance(value, bool):
        raise marks.error(f"must be true or false, not {value!r}", where)
    return value


def _string(value: Any, marks: Marks, where: tuple) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise marks.error(f"must be a string, not {value!r}", where)
    return value


def _names(value: Any, marks: Marks, where: tuple, known: Mapping[str, Any], what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise marks.error("must be a list", where)
    for i, name in enumerate(value):
        if name not in known:
            raise marks.error(f"unknown {what}: {name}", (*where, i))
    return tuple(value)


def _tls(section: Any, marks: Marks, base: str) -> TLSServerConfig | None:
    if section is None:
        return None
    where = ("tls_server_config",)
    _mapping(section, marks, where, _TLS_KEYS)

    def text(key: str) -> str:
        return _string(section.get(key), marks, (*where, key))

    def file(key: str) -> str:
        name = text(key)
        return os.path.join(base, name) if name else ""

    cert, key, ca, auth = file("cert_file"), file("key_file"), file("client_ca_file"), text("client_auth_type")
    if not (cert or key or ca or auth):
        return None  # no TLS, as the toolkit's "TLS config is not present"
    if not cert:
        raise marks.error("missing cert_file", where)
    if not key:
        raise marks.error("missing key_file", where)
    if auth not in _CLIENT_AUTH:
        raise marks.error(f"invalid client_auth_type: {auth}", (*where, "client_auth_type"))
    if ca and auth in ("", "NoClientCert"):
        raise marks.error("client_ca_file is set but client_auth_type is not: "
                          "set client_auth_type to RequireAndVerifyClientCert", (*where, "client_ca_file"))
    if auth in ("RequireAnyClientCert", "RequireClientCert") and not ca:
        raise marks.error(f"Vigil verifies client certificates: {auth} needs client_ca_file "
                          "(or use RequireAndVerifyClientCert)", (*where, "client_auth_type"))
    versions = {}
    for name, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        versions[name] = text(name) or default
        if versions[name] not in _TLS_VERSIONS:
            raise marks.error(f"unknown TLS version: {versions[name]}", (*where, name))
    if _TLS_VERSIONS[versions["min_version"]] > _TLS_VERSIONS[versions["max_version"]]:
        raise marks.error("min_version is above max_version", (*where, "min_version"))
    config = TLSServerConfig(
        cert_file=cert, key_file=key, client_auth_type=auth or "NoClientCert",
        client_ca_file=ca or None, min_version=versions["min_version"],
        max_version=versions["max_version"],
        cipher_suites=_names(section.get("cipher_suites"), marks, (*where, "cipher_suites"), _CIPHERS, "cipher"),
        curve_preferences=_names(section.get("curve_preferences"), marks, (*where, "curve_preferences"), _CURVES, "curve"),
        prefer_server_cipher_suites=_bool(section.get("prefer_server_cipher_suites", True), marks,
                                          (*where, "prefer_server_cipher_suites")))
    for name in ("cert_file", "key_file", "client_ca_file"):
        filename = getattr(config, name)
        if filename and not os.path.isfile(filename):
            raise marks.error(f"cannot read {name} {filename!r}: no such file", (*where, name))
    try:
        config.ssl_context()
    except (ssl.SSLError, OSError) as exc:
        raise marks.error(f"cannot load the certificate, key or client CA: {exc}", where) from None
    return config


def _headers(value: Any, marks: Marks) -> dict[str, str]:
    where = ("http_server_config", "headers")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise marks.error("must be a mapping", where)
    headers = {}
    for name, text in value.items():
        if name not in _HEADERS:
            raise marks.error(f"HTTP header {name!r} can not be configured", (*where, name))
        text = _string(text, marks, (*where, name))
        allowed = _HEADERS[name]
        if allowed and text not in allowed:
            raise marks.error(f"invalid value for {name}: expected one of {list(allowed)}, "
                              f"got {text!r}", (*where, name))
        if text:  # blank means unset
            headers[name] = text
    return headers


def _users(value: Any, marks: Marks) -> dict[str, str]:
    where = ("basic_auth_users",)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise marks.error("must be a mapping of user names to bcrypt hashes", where)
    users = {}
    for name, hashed in value.items():
        match = _BCRYPT.match(hashed) if isinstance(hashed, str) else None
        if match is None:
            raise marks.error("not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost and 53 "
                              "characters, as `htpasswd -nBC 10 \"\" | tr -d ':\\n'` prints)",
                              (*where, name))
        if not 4 <= int(match.group(1)) <= 31:
            raise marks.error(f"bcrypt cost {match.group(1)} is outside 4..31", (*where, name))
        # Python's bcrypt reads $2$ and $2y$ hashes as $2b$ (the same algorithm for
        # passwords of at most 72 bytes).
        users[str(name)] = re.sub(r"^\$2[ay]?\$", "$2b$", hashed)
    return users


class LiveWebConfig:
    """The web configuration in force, re-read when the file or a file it names changes
    (by modification time and size), checked at most on each call of :meth:`current`.

    Safe to call from the event loop and from worker threads."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._config = load_web_config(self.path)
        self._stamp = self._stamps(self._config)
        self._lock = threading.Lock()
        # The context of the config in force, built once per change of the files.
        self._context: tuple[WebConfig, ssl.SSLContext] | None = None

    @staticmethod
    def _stamps(config: WebConfig) -> tuple:
        out = []
        for name in config.files():
            try:
                st = os.stat(name)
                out.append((name, st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append((name, None))
        return tuple(out)

    def current(self) -> WebConfig:
        config = self._config
        stamp = self._stamps(config)
        if stamp == self._stamp:
            return config
        with self._lock:
            if self._config is not config:
                return self._config
            self._stamp = stamp  # a bad file is reported once per change, not per request
            try:
                fresh = load_web_config(self.path)
            except ConfigError as exc:
                log.error("web config file: %s; keeping the previous one", exc)
                return config
            if (fresh.tls is None) != (config.tls is None):
                log.warning("web config file: TLS was turned %s; this takes effect at the next "
                            "start", "on" if fresh.tls else "off")
            self._config = replace(fresh, cache=config.cache)
            self._stamp = self._stamps(self._config)
            log.info("web config file reloaded")
            return self._config

    def server_ssl_context(self) -> ssl.SSLContext | None:
        """The listener's TLS context, or None when the file does not enable TLS. Each new
        connection picks up the current certificate and key (see the module docstring)."""
        config = self._config
        if config.tls is None:
            return None
        ctx = config.tls.ssl_context()
        ctx.sni_callback = self._on_client_hello
        self._context = (config, ctx)
        return ctx

    def _on_client_hello(self, conn: ssl.SSLObject, server_name: str | None,
                         ctx: ssl.SSLContext) -> None:
        config = self.current()
        if config.tls is None:
            return None
        built = self._context
        fresh = built[1] if built is not None and built[0] is config else None
        if fresh is None:
            try:
                fresh = config.tls.ssl_context()
            except (ssl.SSLError, OSError) as exc:
                log.error("web config file: cannot load the new certificate: %s", exc)
                return None
            fresh.sni_callback = self._on_client_hello
            self._context = (config, fresh)
        if fresh is not ctx:
            conn.context = fresh
        return None
