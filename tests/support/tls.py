"""A test certificate authority, server and client certificates (made with ``cryptography``
in a temporary directory), bcrypt hashes, and Vigil started with a web config file
(``vigil up --web.config.file``) serving HTTPS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.ports import free_port
from tests.support.vigil_proc import VigilProcess

__all__ = ["TestCA", "bcrypt_hash", "SecureVigil"]


def bcrypt_hash(password: str, cost: int = 4, prefix: str = "$2y$") -> str:
    """A bcrypt hash as htpasswd writes it (``$2y$``); cost 4 keeps tests fast."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()
    return prefix + hashed[4:]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Pair:
    cert: Path
    key: Path


class TestCA:
    """A CA in ``directory``: ``ca.crt`` plus leaf certificates it signs."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, name: str = "Vigil Test CA") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(hours=1))
                     .not_valid_after(now + dt.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_file = directory / f"{name.replace(' ', '-').lower()}.crt"
        self.cert_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, server: bool) -> Pair:
        """A certificate for 127.0.0.1/localhost (server) or a client named ``name``."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(hours=1))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        pair = Pair(self.directory / f"{name}.crt", self.directory / f"{name}.key")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pair.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return pair

    def client_context(self, client: Pair | None = None) -> ssl.SSLContext:
        """A client TLS context trusting this CA, presenting ``client`` if given."""
        ctx = ssl.create_default_context(cafile=str(self.cert_file))
        if client is not None:
            ctx.load_cert_chain(str(client.cert), str(client.key))
        return ctx


class SecureVigil(VigilProcess):
    """``vigil up --web.config.file <web_config>`` on 127.0.0.1 over HTTPS, ready when
    ``/-/ready`` answers 200 to a client trusting ``ca`` (with ``auth`` and ``client``)."""

    def __init__(self, config: Path | None, data_dir: Path, web_config: Path, ca: TestCA, *,
                 auth: tuple[str, str] | None = None, client: Pair | None = None) -> None:
        super().__init__(config, data_dir, port=free_port())
        self.url = f"https://127.0.0.1:{self.port}"
        self.web_config = web_config
        self.ca = ca
        self.auth = auth
        self.client_cert = client

    def client(self, **kwargs) -> httpx.Client:
        kwargs.setdefault("auth", self.auth)
        kwargs.setdefault("verify", self.ca.client_context(self.client_cert))
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)

    def start(self, timeout: float = 60.0) -> SecureVigil:
        args = [sys.executable, "-m", "vigil", "up", "--data-dir", str(self.data_dir),
                "--listen", f"127.0.0.1:{self.port}", "--web.config.file", str(self.web_config)]
        if self.config:
            args += ["--config", str(self.config)]
        self._logfile = open(self.log, "a")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(args, stdout=self._logfile, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        with self.client() as http:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"vigil exited with {self.proc.returncode}:\n"
                                         f"{self.log.read_text()[-3000:]}")
                try:
                    if http.get("/-/ready").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"vigil at {self.url} not ready after {timeout}s")
                time.sleep(0.2)
