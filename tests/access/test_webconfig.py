"""Prometheus's web configuration file: loading, validation with file:line, bcrypt users
with the cache, live reload, certificate rotation on new connections, and the ASGI gate."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.tls import TestCA, bcrypt_hash
from vigil.access.webconfig import LiveWebConfig, load_web_config
from vigil.errors import ConfigError
from vigil.web.webconfig_auth import WEBCONFIG_USER, WebConfigGate, basic_credentials


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> tuple[TestCA, Path]:
    directory = tmp_path_factory.mktemp("pki")
    ca = TestCA(directory)
    ca.issue("server", server=True)
    ca.issue("other", server=True)
    return ca, directory


def write(directory: Path, text: str) -> Path:
    path = directory / "web.yml"
    path.write_text(text)
    return path


def test_a_full_file_loads_with_paths_relative_to_it(pki):
    ca, directory = pki
    alice = bcrypt_hash("wonderland")
    config = load_web_config(str(write(directory, f"""\
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {ca.cert_file.name}
  min_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [CurveP256, X25519]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    X-XSS-Protection: ""
basic_auth_users:
  alice: {alice}
""")))
    assert config.tls is not None
    assert config.tls.cert_file == str(directory / "server.crt")
    assert config.tls.client_ca_file == str(ca.cert_file)
    assert config.tls.min_version == "TLS13" and config.tls.max_version == "TLS13"
    assert config.tls.client_auth_type == "RequireAndVerifyClientCert"
    ctx = config.tls.ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert not ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert config.http2 is False
    assert dict(config.headers) == {"X-Frame-Options": "deny",
                                    "Strict-Transport-Security": "max-age=31536000"}
    assert list(config.basic_auth_users) == ["alice"] and config.requires_basic_auth


def test_an_empty_file_or_users_only_means_no_tls(pki):
    _, directory = pki
    assert load_web_config(str(write(directory, ""))).tls is None
    config = load_web_config(str(write(directory, f"basic_auth_users: {{bob: '{bcrypt_hash('x')}'}}\n")))
    assert config.tls is None and config.requires_basic_auth


BAD = {
    "unknown top-level key": ("rate_limit: {interval: 1s, burst: 2}\n", "web.yml:1:1: rate_limit: unknown field"),
    "unknown tls key": ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cert: inline\n",
                        "web.yml:4:3: tls_server_config.cert: unknown field"),
    "client SANs": ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                    "  client_allowed_sans: [a]\n",
                    "web.yml:4:3: tls_server_config.client_allowed_sans: not supported"),
    "missing key file": ("tls_server_config:\n  cert_file: server.crt\n  key_file: nothere.key\n",
                         "web.yml:3:3: tls_server_config.key_file: cannot read key_file"),
    "no key file": ("tls_server_config:\n  cert_file: server.crt\n", "web.yml:1:1: tls_server_config: missing key_file"),
    "no cert file": ("tls_server_config:\n  key_file: server.key\n", "web.yml:1:1: tls_server_config: missing cert_file"),
    "key of another certificate": ("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
                                   "web.yml:1:1: tls_server_config: cannot load the certificate, key or client CA"),
    "hash that is not bcrypt": ("basic_auth_users:\n  alice: secret\n  bob: x\n",
                                "web.yml:2:3: basic_auth_users.alice: not a bcrypt hash"),
    "user without hash": ("basic_auth_users:\n  alice:\n", "web.yml:2:3: basic_auth_users.alice: not a bcrypt hash"),
    "client auth type": ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                         "  client_auth_type: Always\n",
                         "web.yml:4:3: tls_server_config.client_auth_type: invalid client_auth_type: Always"),
    "client CA without client auth": ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                      "  client_ca_file: server.crt\n",
                                      "web.yml:4:3: tls_server_config.client_ca_file: client_ca_file is set but client_auth_type is not"),
    "TLS version": ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS14\n",
                    "web.yml:4:3: tls_server_config.min_version: unknown TLS version: TLS14"),
    "cipher": ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
               "  cipher_suites:\n    - TLS_RSA_WITH_RC4_128_SHA\n",
               "web.yml:5:7: tls_server_config.cipher_suites[0]: unknown cipher: TLS_RSA_WITH_RC4_128_SHA"),
    "curve": ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [CurveP999]\n",
              "tls_server_config.curve_preferences[0]: unknown curve: CurveP999"),
    "header": ("http_server_config:\n  headers:\n    Server: vigil\n",
               "web.yml:3:5: http_server_config.headers.Server: HTTP header 'Server' can not be configured"),
    "header value": ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                     "web.yml:3:5: http_server_config.headers.X-Frame-Options: invalid value for X-Frame-Options"),
    "http2 type": ("http_server_config:\n  http2: maybe\n", "web.yml:2:3: http_server_config.http2: must be true or false"),
    "YAML syntax": ("basic_auth_users: [\n", "web.yml:2:1: invalid YAML"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_are_refused_with_file_line_and_reason(pki, case):
    _, directory = pki
    text, expected = BAD[case]
    with pytest.raises(ConfigError) as err:
        load_web_config(str(write(directory, text)))
    assert expected in str(err.value).replace(str(directory) + "/", "")


def test_users_are_verified_with_bcrypt_and_successes_cached(tmp_path):
    # $2y$ at cost 10, as `htpasswd -nBC 10` writes it, and $2b$ at cost 4.
    config = load_web_config(str(write(tmp_path, f"""\
basic_auth_users:
  alice: '{bcrypt_hash("wonderland", cost=10)}'
  bob: '{bcrypt_hash("builder", prefix="$2b$")}'
""")))
    assert not config.basic_user_cached("alice", "wonderland")
    assert config.verify_basic_user("alice", "wonderland")
    assert config.basic_user_cached("alice", "wonderland")
    assert config.verify_basic_user("bob", "builder")
    assert not config.verify_basic_user("alice", "builder")
    assert not config.basic_user_cached("alice", "builder")
    assert not config.verify_basic_user("carol", "wonderland")
    assert not config.verify_basic_user("Alice", "wonderland")
    assert not config.verify_basic_user("alice", "")


def test_the_cache_stays_bounded(tmp_path):
    config = load_web_config(str(write(tmp_path, f"basic_auth_users: {{a: '{bcrypt_hash('p')}'}}\n")))
    config.cache.size = 10
    for i in range(25):
        config.cache.add(bytes([i]))
    assert len(config.cache._ok) <= 10


def test_live_config_follows_the_file_and_keeps_the_last_good_one(tmp_path):
    path = write(tmp_path, f"basic_auth_users: {{alice: '{bcrypt_hash('one')}'}}\n")
    live = LiveWebConfig(str(path))
    assert live.current().verify_basic_user("alice", "one")
    path.write_text(f"basic_auth_users: {{alice: '{bcrypt_hash('two')}'}}\nhttp_server_config: {{headers: {{X-Content-Type-Options: nosniff}}}}\n")
    assert live.current().verify_basic_user("alice", "two")
    assert not live.current().verify_basic_user("alice", "one")
    assert dict(live.current().headers) == {"X-Content-Type-Options": "nosniff"}
    path.write_text("basic_auth_users: {alice: plain}\n")
    assert live.current().verify_basic_user("alice", "two")  # the broken file is not taken


def _served_certificate(ctx: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str) -> bytes:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        with socket.create_connection(("127.0.0.1", port)) as raw, \
                client.wrap_socket(raw, server_hostname=server_hostname) as tls:
            der = tls.getpeercert(binary_form=True)
        thread.join(10)
    assert der is not None
    return der


def test_new_connections_get_a_rotated_certificate(tmp_path):
    ca = TestCA(tmp_path)
    first = ca.issue("server", server=True)
    path = write(tmp_path, "tls_server_config: {cert_file: server.crt, key_file: server.key}\n")
    live = LiveWebConfig(str(path))
    ctx = live.server_ssl_context()
    assert ctx is not None
    before = first.cert.read_bytes()
    # With SNI (a host name) and without (an IP address, as Prometheus connects here).
    for host in ("localhost", "127.0.0.1"):
        assert ssl.DER_cert_to_PEM_cert(_served_certificate(ctx, ca.client_context(), host)).encode() \
            .strip() == before.strip()
    ca.issue("server", server=True)  # new certificate and key in the same files
    after = first.cert.read_bytes()
    assert after != before
    for host in ("localhost", "127.0.0.1"):
        served = ssl.DER_cert_to_PEM_cert(_served_certificate(ctx, ca.client_context(), host))
        assert served.encode().strip() == after.strip()


def test_basic_credentials_parse_as_go_does():
    assert basic_credentials(b"Basic YWxpY2U6d29uZGVyOmxhbmQ=") == ("alice", "wonder:land")
    assert basic_credentials(b"basic YWxpY2U6eA==") == ("alice", "x")
    assert basic_credentials(b"Bearer abc") is None
    assert basic_credentials(b"Basic !!!") is None
    assert basic_credentials(b"Basic YWxpY2U=") is None  # no colon
    assert basic_credentials(None) is None


async def _inner(scope, receive, send):
    assert scope[WEBCONFIG_USER] == "alice"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-frame-options", b"sameorigin")]})
    await send({"type": "http.response.body", "body": b"inside"})


def test_the_gate_asks_for_basic_auth_and_adds_headers(tmp_path):
    path = write(tmp_path, f"basic_auth_users: {{alice: '{bcrypt_hash('wonderland')}'}}\n"
                           "http_server_config: {headers: {X-Frame-Options: deny}}\n")
    asyncio.run(_gate_requests(LiveWebConfig(str(path))))


async def _gate_requests(live: LiveWebConfig) -> None:
    transport = httpx.ASGITransport(app=WebConfigGate(_inner, live.current))
    async with httpx.AsyncClient(transport=transport, base_url="http://vigil") as client:
        for auth in (None, ("alice", "wrong"), ("bob", "wonderland")):
            resp = await client.get("/api/v1/query", auth=auth)
            assert resp.status_code == 401
            assert resp.headers["www-authenticate"] == "Basic"
            assert resp.headers["x-frame-options"] == "deny"
            assert resp.text == "Unauthorized\n"
        resp = await client.get("/api/v1/query", auth=("alice", "wonderland"))
        assert resp.status_code == 200 and resp.text == "inside"
        assert resp.headers.get_list("x-frame-options") == ["deny"]
