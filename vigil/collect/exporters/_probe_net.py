"""The TCP and DNS probe modules, target resolution, and the :class:`ProbeResult` they all
fill in (see :mod:`.probe`, which runs them)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from vigil.collect.exporters._tls import client_context, earliest_expiry, tls_version
from vigil.config.model import ProbeConfig

__all__ = ["ProbeResult", "probe_dns", "probe_tcp", "resolve"]

_FAMILIES = {"ip4": socket.AF_INET, "ip6": socket.AF_INET6, "auto": socket.AF_UNSPEC}


@dataclass
class ProbeResult:
    """What one probe found; ``metrics`` are module-specific samples (name -> value)."""

    success: bool = False
    error: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    tls_version: str | None = None


def split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def resolve(host: str, port: int, ip_protocol: str, timeout_s: float,
            result: ProbeResult) -> tuple[str, int]:
    """Resolve ``host`` as blackbox does before connecting; records the lookup time and the
    IP protocol in ``result``. ``auto`` prefers IPv4 when both exist. Raises OSError."""
    start = time.perf_counter()
    infos = socket.getaddrinfo(host, port, _FAMILIES[ip_protocol], socket.SOCK_STREAM)
    result.metrics["probe_dns_lookup_time_seconds"] = time.perf_counter() - start
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _, _, _, sockaddr = infos[0]
    result.metrics["probe_ip_protocol"] = 4 if family == socket.AF_INET else 6
    return str(sockaddr[0]), family


def probe_tcp(cfg: ProbeConfig, result: ProbeResult) -> None:
    """Connect (and with ``tls``, handshake) to ``cfg.target``."""
    host, port = split_host_port(cfg.target)
    ip, _ = resolve(host, port, cfg.ip_protocol, cfg.timeout, result)
    with socket.create_connection((ip, port), timeout=cfg.timeout) as sock:
        if cfg.tls:
            ctx = client_context(cfg.tls_insecure_skip_verify, cfg.ca_file)
            with ctx.wrap_socket(sock, server_hostname=host) as tls:
                expiry = earliest_expiry(tls)
                if expiry is not None:
                    result.metrics["probe_ssl_earliest_cert_expiry"] = expiry
                result.tls_version = tls_version(tls)
    result.success = True


def probe_dns(cfg: ProbeConfig, result: ProbeResult) -> None:
    """Ask the DNS server at ``cfg.target`` (UDP) for ``query_name``/``query_type``; succeeds
    when the response code is one of ``valid_rcodes``."""
    host, port = split_host_port(cfg.target)
    ip, _ = resolve(host, port, cfg.ip_protocol, cfg.timeout, result)
    assert cfg.query_name is not None  # the config validator requires it
    query = dns.message.make_query(cfg.query_name, dns.rdatatype.from_text(cfg.query_type))
    try:
        response = dns.query.udp(query, ip, port=port, timeout=cfg.timeout)
    except dns.exception.Timeout:
        result.error = "timeout"
        return
    except dns.exception.DNSException as e:
        result.error = f"dns: {e}"
        return
    result.metrics["probe_dns_answer_rrs"] = sum(len(rrset) for rrset in response.answer)
    result.metrics["probe_dns_authority_rrs"] = sum(len(rrset) for rrset in response.authority)
    result.metrics["probe_dns_additional_rrs"] = sum(len(rrset)
                                                     for rrset in response.additional)
    rcode = dns.rcode.to_text(response.rcode())
    if rcode not in {c.upper() for c in cfg.valid_rcodes}:
        result.error = f"invalid DNS response code {rcode}"
        return
    result.success = True
