"""Prometheus scrape_config options against real servers on loopback: metric relabelling,
label limits, target_limit, dropped targets, basic auth, bearer/authorization, TLS (CA
verification, client certificates, server_name), file_sd (add, change, remove, malformed),
and secrets kept out of dumps and errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.tsdb_store import TempTSDB
from vigil.collect.manager import Manager, http_options, targets_from_config
from vigil.collect.scrape import HTTPScraper, ScrapeLoop
from vigil.collect.target import TargetStatus
from vigil.config import Config, load_config_text
from vigil.config.dump import redacted_yaml
from vigil.errors import ConfigError
from vigil.selfmetrics import SelfMetrics
from vigil.storage import is_stale

from .conftest import TargetServer
from .test_manager import wait_until

# -- helpers ----------------------------------------------------------------------------


def make_config(targets: list[str], **scrape: Any) -> Config:
    sc = {"job_name": "app", "static_configs": [{"targets": targets}], **scrape}
    return Config.model_validate({"global": {"scrape_interval": "200ms", "scrape_timeout": "150ms"},
                                  "scrape_configs": [sc]})


def scrape_once(config: Config, store: TempTSDB) -> TargetStatus:
    """One scrape of the config's first target through a real HTTP client."""
    target = targets_from_config(config)[0]

    async def main() -> TargetStatus:
        async with httpx.AsyncClient() as client:
            loop = ScrapeLoop(target, HTTPScraper(client, target.scrape_url, target.http),
                              store, SelfMetrics())
            await loop.scrape_once()
            return loop.status()

    return asyncio.run(main())


def run_manager(config: Config, store: TempTSDB, until: Any, **kw: Any) -> Manager:
    async def main() -> Manager:
        mgr = Manager(config, store, SelfMetrics(), **kw)
        await mgr.start()
        try:
            await wait_until(lambda: until(mgr))
        finally:
            await mgr.stop()
        return mgr

    return asyncio.run(main())


@dataclass
class AuthServer:
    """Serves ``ok 1`` only to requests whose Authorization header is ``expected``."""

    expected: str
    address: str = ""
    seen: list[str | None] = field(default_factory=list)


@pytest.fixture
def auth_server() -> Iterator[AuthServer]:
    state = AuthServer(expected="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            got = self.headers.get("Authorization")
            state.seen.append(got)
            ok = got == state.expected
            body = b"ok 1\n" if ok else b"unauthorized\n"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.address = f"127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


# -- metric relabelling and limits -----------------------------------------------------


def test_metric_relabel_drops_and_renames_after_target_labels(
        target_server: TargetServer, store: TempTSDB) -> None:
    target_server.set('keep_me{code="200"} 1\ndrop_me 2\nold_name{job="exposed"} 3\n')
    config = make_config([target_server.address], honor_labels=True, metric_relabel_configs=[
        {"source_labels": ["__name__"], "regex": "drop_.*", "action": "drop"},
        {"source_labels": ["__name__"], "regex": "old_(.*)", "target_label": "__name__",
         "replacement": "new_$1"},
        # honor_labels left the exposed job; metric relabelling sees it.
        {"source_labels": ["job"], "target_label": "origin"},
    ])
    status = scrape_once(config, store)
    assert status.health == "up"
    assert store.series("drop_me") == {} and store.series("old_name") == {}
    (labels,) = store.series("new_name")
    assert labels.to_dict() == {"__name__": "new_name", "job": "exposed", "origin": "exposed",
                                "instance": target_server.address}
    assert store.series("keep_me", origin="app")
    assert store.values("scrape_samples_scraped") == [3.0]
    assert store.values("scrape_samples_post_metric_relabeling") == [2.0]


@pytest.mark.parametrize(("limit", "message"), [
    ({"label_limit": 3}, "label_limit exceeded (metric: m, number of labels: 4, limit: 3)"),
    ({"label_name_length_limit": 4},
     "label_name_length_limit exceeded (metric: m, label name: __name__, length: 8, limit: 4)"),
    ({"label_value_length_limit": 5},
     'label_value_length_limit exceeded (metric: m, label name: instance, value: '),
    ({"sample_limit": 1}, "sample limit exceeded"),
])
def test_limits_fail_the_scrape_like_prometheus(target_server: TargetServer, store: TempTSDB,
                                                limit: dict[str, int], message: str) -> None:
    target_server.set('m{a="b"} 1\nn 2\n')
    status = scrape_once(make_config([target_server.address], **limit), store)
    assert status.health == "down"
    assert status.last_error.startswith(message)
    assert store.values("up") == [0.0] and store.series("m") == {}


def test_limits_not_exceeded_scrape_normally(target_server: TargetServer, store: TempTSDB) -> None:
    target_server.set('m{a="b"} 1\n')
    status = scrape_once(make_config([target_server.address], label_limit=4, sample_limit=1,
                                     label_name_length_limit=8, label_value_length_limit=20),
                         store)
    assert status.health == "up" and store.values("m") == [1.0]


def test_target_limit_and_dropped_targets(target_server: TargetServer, store: TempTSDB) -> None:
    addr = target_server.address
    config = make_config([addr, "127.0.0.1:1", "127.0.0.1:2"], target_limit=1, relabel_configs=[
        {"source_labels": ["__address__"], "regex": ".*:2", "action": "drop"}])
    mgr = run_manager(config, store, lambda m: all(t.health == "down" for t in m.targets())
                      and len(m.targets()) == 2)
    assert [d.discovered_labels.get("__address__") for d in mgr.dropped_targets()] == ["127.0.0.1:2"]
    assert {v for samples in store.series("up").values() for _, v in samples} == {0.0}
    assert not store.series("up_metric")  # the reachable target was not scraped either
    (target,) = [t for t in targets_from_config(config) if addr in t.scrape_url]
    assert target.forced_error == "target_limit exceeded (number of targets: 2, limit: 1)"


# -- authentication ----------------------------------------------------------------------


def test_basic_auth_rejected_without_and_accepted_with_credentials(
        auth_server: AuthServer, store: TempTSDB, tmp_path: Path) -> None:
    auth_server.expected = "Basic dXNlcjpzM2NyZXQ="  # user:s3cret
    status = scrape_once(make_config([auth_server.address]), store)
    assert (status.health, status.last_error) == ("down", "server returned HTTP status 401 Unauthorized")
    status = scrape_once(make_config([auth_server.address],
                                     basic_auth={"username": "user", "password": "s3cret"}), store)
    assert status.health == "up"
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    status = scrape_once(make_config([auth_server.address], basic_auth={
        "username": "user", "password_file": str(secret)}), store)
    assert status.health == "up"
    assert store.values("ok") == [1.0, 1.0]


def test_bearer_and_authorization(auth_server: AuthServer, store: TempTSDB, tmp_path: Path) -> None:
    auth_server.expected = "Bearer tok3n"
    assert scrape_once(make_config([auth_server.address]), store).health == "down"
    assert scrape_once(make_config([auth_server.address], bearer_token="tok3n"), store).health == "up"
    token = tmp_path / "token"
    token.write_text("tok3n")
    assert scrape_once(make_config([auth_server.address], bearer_token_file=str(token)),
                       store).health == "up"
    assert scrape_once(make_config([auth_server.address], authorization={
        "credentials_file": str(token)}), store).health == "up"
    auth_server.expected = "Custom xyz"
    assert scrape_once(make_config([auth_server.address], authorization={
        "type": "Custom", "credentials": "xyz"}), store).health == "up"
    missing = scrape_once(make_config([auth_server.address], authorization={
        "credentials_file": str(tmp_path / "absent")}), store)
    assert missing.health == "down" and "unable to read secret file" in missing.last_error


def test_secrets_stay_out_of_dumps_and_errors() -> None:
    text = ("scrape_configs:\n"
            "  - job_name: a\n"
            "    basic_auth: {username: u, password: hunter2}\n"
            "    bearer_token: tok-hunter3\n")
    with pytest.raises(ConfigError) as err:
        load_config_text(text, "p.yml")
    assert "hunter" not in str(err.value) and "at most one of basic_auth" in str(err.value)
    config = load_config_text(text.replace("    bearer_token: tok-hunter3\n", ""), "p.yml")
    dumped = redacted_yaml(config)
    assert "hunter2" not in dumped and "<secret>" in dumped
    assert "hunter2" not in repr(config) and "hunter2" not in repr(http_options(config, config.scrape_configs[0]))


# -- TLS --------------------------------------------------------------------------------


def _cert(name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool, san: str | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class PKI:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = _cert("Test CA", ca_key, ca_name, ca_key, ca=True)
    files = {}
    for who, san in (("server", "metrics.test"), ("client", None)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(who, key, ca_name, ca_key, ca=False, san=san)
        (d / f"{who}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (d / f"{who}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        files[who] = (d / f"{who}.crt", d / f"{who}.key")
    (d / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return PKI(d / "ca.crt", *files["server"], *files["client"])


@pytest.fixture
def tls_server(pki: PKI) -> Iterator[tuple[str, ssl.SSLContext]]:
    """An https target with the server cert (for ``metrics.test``); the test decides
    whether it requires a client certificate."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b"secure 1\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    ctx.load_verify_locations(pki.ca)

    class Server(ThreadingHTTPServer):
        def get_request(self):  # type: ignore[no-untyped-def]
            sock, addr = super().get_request()
            return ctx.wrap_socket(sock, server_side=True), addr

        def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
            pass  # failed handshakes are part of the tests

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", ctx
    server.shutdown()
    server.server_close()


def test_tls_verifies_against_the_ca_and_server_name(tls_server: tuple[str, ssl.SSLContext],
                                                     pki: PKI, store: TempTSDB) -> None:
    address, _ = tls_server
    results = {}
    for case, tls in {
        "no_ca": {},
        "ca_wrong_name": {"ca_file": str(pki.ca)},
        "ca_and_name": {"ca_file": str(pki.ca), "server_name": "metrics.test"},
        "insecure": {"insecure_skip_verify": True},
        "missing_ca": {"ca_file": str(pki.ca) + ".absent"},
    }.items():
        results[case] = _manager_status(make_config([address], scheme="https", tls_config=tls), store)
    assert results["no_ca"].health == "down" and "CERTIFICATE_VERIFY_FAILED" in results["no_ca"].last_error
    assert results["ca_wrong_name"].health == "down"
    assert results["ca_and_name"].health == "up", results["ca_and_name"].last_error
    assert results["insecure"].health == "up"
    missing = results["missing_ca"]
    assert missing.health == "down"
    assert missing.last_error.startswith("unable to load TLS configuration: ")


def test_tls_client_certificate(tls_server: tuple[str, ssl.SSLContext], pki: PKI,
                                store: TempTSDB) -> None:
    address, ctx = tls_server
    ctx.verify_mode = ssl.CERT_REQUIRED
    base = {"ca_file": str(pki.ca), "server_name": "metrics.test"}
    without = _manager_status(make_config([address], scheme="https", tls_config=base), store)
    assert without.health == "down"
    with_cert = _manager_status(make_config([address], scheme="https", tls_config={
        **base, "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}), store)
    assert with_cert.health == "up", with_cert.last_error
    assert store.series("secure")


def _manager_status(config: Config, store: TempTSDB) -> TargetStatus:
    seen: list[TargetStatus] = []

    def done(m: Manager) -> bool:
        seen[:] = m.targets()
        return bool(seen) and all(t.health != "unknown" for t in seen)

    run_manager(config, store, done)
    return seen[0]


# -- file_sd ----------------------------------------------------------------------------


def test_file_sd_add_change_remove_and_malformed(target_server: TargetServer, store: TempTSDB,
                                                 tmp_path: Path) -> None:
    sd_dir = tmp_path / "sd"
    sd_dir.mkdir()
    addr = target_server.address
    (sd_dir / "a.json").write_text(json.dumps([{"targets": [addr], "labels": {"team": "a"}}]))
    config = Config.model_validate({
        "global": {"scrape_interval": "200ms", "scrape_timeout": "150ms"},
        "scrape_configs": [{"job_name": "sd", "file_sd_configs": [
            {"files": [str(sd_dir / "*.json"), str(sd_dir / "*.yml")]}],
            "relabel_configs": [{"source_labels": ["__meta_filepath"], "regex": ".*/(.*)",
                                 "target_label": "file"}]}]})

    def labels(m: Manager) -> list[dict[str, str]]:
        return [t.labels.to_dict() for t in m.targets()]

    async def main() -> None:
        mgr = Manager(config, store, SelfMetrics(), sd_poll_interval_s=0.05)
        await mgr.start()
        try:
            await wait_until(lambda: labels(mgr) == [
                {"instance": addr, "job": "sd", "team": "a", "file": "a.json"}])
            # Change the labels, add a YAML file with a second target.
            (sd_dir / "a.json").write_text(json.dumps([{"targets": [addr], "labels": {"team": "b"}}]))
            (sd_dir / "b.yml").write_text("- targets: ['127.0.0.1:1']\n")
            await wait_until(lambda: sorted(d["team"] if "team" in d else d["instance"]
                                            for d in labels(mgr)) == ["127.0.0.1:1", "b"]
                             and bool(store.series("up", job="sd", team="b")))
            # A malformed file keeps its previous targets.
            (sd_dir / "b.yml").write_text("- targets: [unclosed\n")
            (sd_dir / "a.json").write_text(json.dumps([{"targets": [addr], "labels": {"team": "c"}}]))
            await wait_until(lambda: any(d.get("team") == "c" for d in labels(mgr)))
            assert len(mgr.targets()) == 2
            # Removing the file removes its target.
            (sd_dir / "b.yml").unlink()
            await wait_until(lambda: len(mgr.targets()) == 1)
        finally:
            await mgr.stop()

    asyncio.run(main())
    # The old label set's series ended with staleness markers when its labels changed.
    assert is_stale(store.values("up", job="sd", team="b")[-1])


def test_file_sd_rejects_bad_patterns() -> None:
    with pytest.raises(ConfigError, match="not valid for file discovery"):
        load_config_text("scrape_configs:\n  - job_name: a\n    file_sd_configs:\n"
                         "      - files: [targets.txt]\n")
