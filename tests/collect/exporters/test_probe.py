"""Probes against real local servers: HTTP, HTTPS with a generated certificate, TCP, DNS."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vigil.collect.exporters import ProbeCollector
from vigil.config.model import ProbeConfig

from .pages import values


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/health")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, body = {"/health": (200, b"status: ok\n"),
                        "/broken": (503, b"down")}.get(self.path, (404, b"nope"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    for s in _serve(server):
        yield f"http://127.0.0.1:{s.server_address[1]}"


def _make_cert(tmp: Path, not_after: dt.datetime) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, float]]:
    """An HTTPS server whose self-signed certificate expires in 10 days: (url, cert, expiry)."""
    not_after = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)).replace(microsecond=0)
    cert, key = _make_cert(tmp_path_factory.mktemp("tls"), not_after)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    for s in _serve(server):
        yield f"https://localhost:{s.server_address[1]}", cert, not_after.timestamp()


def probe(**kw: object) -> dict[str, float]:
    return values(ProbeCollector(ProbeConfig(name="t", **kw)).collect())


def test_http_success_status_and_body_regex(http_server: str) -> None:
    v = probe(module="http", target=f"{http_server}/health", body_regex="ok")
    assert v["probe_success"] == 1
    assert v["probe_http_status_code"] == 200
    assert v["probe_http_content_length"] == len(b"status: ok\n")
    assert v["probe_http_redirects"] == 0
    assert v["probe_http_ssl"] == 0
    assert v["probe_failed_due_to_regex"] == 0
    assert v["probe_ip_protocol"] == 4
    assert v["probe_duration_seconds"] > 0
    assert 'vigil_collector_up{collector="t"}' in v
    assert not any(k.startswith("vigil_collector_last_error_info") for k in v)


def test_http_body_regex_mismatch_fails(http_server: str) -> None:
    collector = ProbeCollector(ProbeConfig(name="t", module="http",
                                           target=f"{http_server}/health", body_regex="^green$"))
    v = values(collector.collect())
    assert v["probe_success"] == 0
    assert v["probe_failed_due_to_regex"] == 1
    assert "regular expression" in collector.last_error


def test_http_status_codes(http_server: str) -> None:
    assert probe(module="http", target=f"{http_server}/broken")["probe_success"] == 0
    v = probe(module="http", target=f"{http_server}/broken", valid_status_codes=[503])
    assert v["probe_success"] == 1 and v["probe_http_status_code"] == 503


def test_ip_protocol_choice(http_server: str) -> None:
    port = http_server.rsplit(":", 1)[1]
    v = probe(module="http", target=f"http://localhost:{port}/health", ip_protocol="ip4")
    assert v["probe_success"] == 1 and v["probe_ip_protocol"] == 4
    # The server listens on IPv4 only, so forcing IPv6 must fail, whatever localhost is.
    assert probe(module="http", target=f"http://localhost:{port}/health", ip_protocol="ip6",
                 timeout=2)["probe_success"] == 0


def test_http_redirects_are_followed_and_counted(http_server: str) -> None:
    v = probe(module="http", target=f"{http_server}/redirect")
    assert v["probe_success"] == 1
    assert v["probe_http_redirects"] == 1
    assert probe(module="http", target=f"{http_server}/redirect",
                 max_redirects=0)["probe_success"] == 0


def test_http_connection_refused_is_a_failed_probe_with_reason() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    collector = ProbeCollector(ProbeConfig(name="t", module="http",
                                           target=f"http://127.0.0.1:{port}/", timeout=2))
    v = values(collector.collect())
    assert v["probe_success"] == 0
    assert "refused" in collector.last_error.lower()
    assert any(k.startswith("vigil_collector_last_error_info") for k in v)


def test_https_certificate_expiry_in_ten_days(https_server: tuple[str, Path, float]) -> None:
    url, cert, not_after = https_server
    v = probe(module="http", target=f"{url}/health", ca_file=str(cert))
    assert v["probe_success"] == 1
    assert v["probe_http_ssl"] == 1
    assert v["probe_ssl_earliest_cert_expiry"] == not_after
    assert abs(v["probe_ssl_earliest_cert_expiry"] - time.time() - 10 * 86400) < 3600
    assert sum(val for k, val in v.items() if k.startswith("probe_tls_version_info")) == 1


def test_https_untrusted_certificate_fails_unless_skip_verify(
        https_server: tuple[str, Path, float]) -> None:
    url, _, not_after = https_server
    assert probe(module="http", target=f"{url}/health")["probe_success"] == 0
    v = probe(module="http", target=f"{url}/health", tls_insecure_skip_verify=True)
    assert v["probe_success"] == 1
    assert v["probe_ssl_earliest_cert_expiry"] == not_after


def test_tcp_connect_and_tls(https_server: tuple[str, Path, float]) -> None:
    url, cert, not_after = https_server
    address = url.removeprefix("https://")
    assert probe(module="tcp", target=address)["probe_success"] == 1
    v = probe(module="tcp", target=address, tls=True, ca_file=str(cert))
    assert v["probe_success"] == 1
    assert v["probe_ssl_earliest_cert_expiry"] == not_after
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert probe(module="tcp", target=f"127.0.0.1:{port}", timeout=2)["probe_success"] == 0


@pytest.fixture(scope="module")
def dns_server() -> Iterator[str]:
    """A UDP DNS server: shop.test. has two A records, everything else is NXDOMAIN."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            if query.question[0].name.to_text() == "shop.test.":
                response.answer.append(dns.rrset.from_text(
                    "shop.test.", 60, "IN", "A", "10.0.0.1", "10.0.0.2"))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    sock.close()


def test_dns_answer_count_and_rcode(dns_server: str) -> None:
    v = probe(module="dns", target=dns_server, query_name="shop.test")
    assert v["probe_success"] == 1
    assert v["probe_dns_answer_rrs"] == 2
    v = probe(module="dns", target=dns_server, query_name="nope.test")
    assert v["probe_success"] == 0
    assert v["probe_dns_answer_rrs"] == 0
    assert probe(module="dns", target=dns_server, query_name="nope.test",
                 valid_rcodes=["NXDOMAIN"])["probe_success"] == 1


def test_config_rejects_bad_targets() -> None:
    with pytest.raises(ValueError, match="URL"):
        ProbeConfig(name="t", module="http", target="127.0.0.1:80")
    with pytest.raises(ValueError, match="query_name"):
        ProbeConfig(name="t", module="dns", target="127.0.0.1:53")
