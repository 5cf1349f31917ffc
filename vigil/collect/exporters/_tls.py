"""TLS facts of a live connection: certificate expiry and protocol version (probes, C3)."""

from __future__ import annotations

import ssl

from cryptography import x509

__all__ = ["client_context", "earliest_expiry", "tls_version"]

# blackbox_exporter's spelling of the versions (Go's tls.VersionName).
_VERSIONS = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2",
             "TLSv1.3": "TLS 1.3", "SSLv3": "SSL 3.0"}


def client_context(insecure_skip_verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """A client context that verifies against ``ca_file`` (or the system store) unless
    ``insecure_skip_verify``, in which case the certificate is still read, not checked."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _chain_der(sslobj: ssl.SSLObject | ssl.SSLSocket) -> list[bytes]:
    # The whole chain the server sent; public only from Python 3.13, so fall back to the
    # private method (3.10+) and then to the leaf alone.
    getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(sslobj, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        try:
            chain = getter() or []
            return [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER)
                    for c in chain]
        except Exception:  # noqa: BLE001 - private API; the leaf still works below
            pass
    leaf = sslobj.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def earliest_expiry(sslobj: ssl.SSLObject | ssl.SSLSocket) -> float | None:
    """Unix seconds of the earliest ``notAfter`` among the certificates the peer sent."""
    times = [x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
             for der in _chain_der(sslobj)]
    return min(times) if times else None


def tls_version(sslobj: ssl.SSLObject | ssl.SSLSocket) -> str | None:
    v = sslobj.version()
    return _VERSIONS.get(v, v) if v else None
