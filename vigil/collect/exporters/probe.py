"""Blackbox-style probes (C3): HTTP(S), TCP (optionally TLS) and DNS, with blackbox_exporter's
metric names so its community rules work unchanged.

Every page has ``probe_success`` (1/0) and ``probe_duration_seconds``; a failed probe is data,
not a collector error, so :meth:`ProbeCollector.collect` does not raise for it. The reason is
exposed as ``vigil_collector_last_error_info{collector,error}`` (and kept in ``last_error``).
Module-specific series:

    http  probe_http_status_code, probe_http_content_length (-1 if the header is absent),
          probe_http_uncompressed_body_length, probe_http_redirects, probe_http_ssl,
          probe_http_version, probe_failed_due_to_regex (when body_regex is set)
    tcp   (connect only)
    dns   probe_dns_answer_rrs, probe_dns_authority_rrs, probe_dns_additional_rrs
    all   probe_dns_lookup_time_seconds (resolving the target host), probe_ip_protocol (4/6)
    TLS   probe_ssl_earliest_cert_expiry (unix seconds), probe_tls_version_info{version}

Blocking I/O, bounded by the probe's ``timeout`` (seconds); run from the scrape manager's
worker thread.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from vigil.collect.exporters._expfmt import Page
from vigil.collect.exporters._probe_net import ProbeResult, probe_dns, probe_tcp, resolve
from vigil.collect.exporters._tls import client_context, earliest_expiry, tls_version
from vigil.config.model import ProbeConfig

__all__ = ["ProbeCollector", "ProbeResult"]


class ProbeCollector:
    """Runs one configured probe per :meth:`collect` call. ``clock`` returns seconds."""

    def __init__(self, config: ProbeConfig, *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.config = config
        self._clock = clock
        self._regex = re.compile(config.body_regex) if config.body_regex else None
        self.last_error = ""

    def probe(self) -> ProbeResult:
        """Run the probe once; never raises for network or protocol failures."""
        cfg = self.config
        result = ProbeResult()
        try:
            if cfg.module == "http":
                self._probe_http(result)
            elif cfg.module == "tcp":
                probe_tcp(cfg, result)
            else:
                probe_dns(cfg, result)
        except (OSError, httpx.HTTPError, ssl.SSLError, ValueError) as e:
            result.success = False
            result.error = result.error or _describe(e)
        return result

    def collect(self) -> str:
        """The probe's exposition page (text format 0.0.4)."""
        start = self._clock()
        result = self.probe()
        duration = self._clock() - start
        self.last_error = result.error
        page = Page()
        page.sample("probe_success", 1 if result.success else 0,
                    help_text="Displays whether or not the probe was a success")
        page.sample("probe_duration_seconds", duration,
                    help_text="Returns how long the probe took to complete in seconds")
        for name, value in result.metrics.items():
            page.sample(name, value, help_text=_HELP.get(name, name))
        if result.tls_version:
            page.sample("probe_tls_version_info", 1, {"version": result.tls_version},
                        help_text="Returns the TLS version used or NaN when unknown")
        page.sample("vigil_collector_up", 1, {"collector": self.config.name},
                    help_text="Whether the collector itself ran (1) or failed (0)")
        if result.error:
            page.sample("vigil_collector_last_error_info", 1,
                        {"collector": self.config.name, "error": result.error},
                        help_text="Why the last probe or collection failed")
        return page.text()

    def _probe_http(self, result: ProbeResult) -> None:
        cfg = self.config
        url = urlsplit(cfg.target)
        host = url.hostname or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        resolve(host, port, cfg.ip_protocol, cfg.timeout, result)
        verify = client_context(cfg.tls_insecure_skip_verify, cfg.ca_file)
        # Binding the source address to the wildcard of one family makes the connection
        # use that family, as ip_protocol asks (httpx resolves the name itself).
        local = {"ip4": "0.0.0.0", "ip6": "::"}.get(cfg.ip_protocol)
        transport = httpx.HTTPTransport(verify=verify, local_address=local)
        with httpx.Client(transport=transport, follow_redirects=cfg.follow_redirects,
                          max_redirects=cfg.max_redirects, timeout=cfg.timeout,
                          trust_env=False) as client:
            with client.stream(cfg.method, cfg.target, headers=cfg.headers) as resp:
                stream = resp.extensions.get("network_stream")
                sslobj = stream.get_extra_info("ssl_object") if stream is not None else None
                body = resp.read()
        m = result.metrics
        m["probe_http_status_code"] = resp.status_code
        length = resp.headers.get("content-length")
        m["probe_http_content_length"] = int(length) if length and length.isdigit() else -1
        m["probe_http_uncompressed_body_length"] = len(body)
        m["probe_http_redirects"] = len(resp.history)
        m["probe_http_ssl"] = 1 if resp.url.scheme == "https" else 0
        m["probe_http_version"] = float(resp.http_version.removeprefix("HTTP/") or 0)
        if sslobj is not None:
            expiry = earliest_expiry(sslobj)
            if expiry is not None:
                m["probe_ssl_earliest_cert_expiry"] = expiry
            result.tls_version = tls_version(sslobj)
        ok_codes = cfg.valid_status_codes
        if (resp.status_code not in ok_codes) if ok_codes else not 200 <= resp.status_code < 300:
            result.error = f"invalid HTTP response status code {resp.status_code}"
            return
        if self._regex is not None:
            text = body.decode(resp.encoding or "utf-8", errors="replace")
            failed = self._regex.search(text) is None
            m["probe_failed_due_to_regex"] = 1 if failed else 0
            if failed:
                result.error = f"body did not match regular expression {cfg.body_regex!r}"
                return
        result.success = True


def _describe(e: BaseException) -> str:
    if isinstance(e, httpx.TimeoutException):
        return "timeout"
    if isinstance(e, socket.gaierror):
        return f"cannot resolve host: {e.strerror or e}"
    text = str(e) or type(e).__name__
    return text


_HELP = {
    "probe_http_status_code": "Response HTTP status code",
    "probe_http_content_length": "Length of http content response",
    "probe_http_uncompressed_body_length": "Length of uncompressed response body",
    "probe_http_redirects": "The number of redirects",
    "probe_http_ssl": "Indicates if SSL was used for the final redirect",
    "probe_http_version": "Returns the version of HTTP of the probe response",
    "probe_failed_due_to_regex": "Indicates if probe failed due to regex",
    "probe_ssl_earliest_cert_expiry": "Returns last SSL chain expiry in unixtime",
    "probe_dns_lookup_time_seconds": "Returns the time taken for probe dns lookup in seconds",
    "probe_ip_protocol": "Specifies whether probe ip protocol is IP4 or IP6",
    "probe_dns_answer_rrs": "Returns number of entries in the answer resource record list",
    "probe_dns_authority_rrs": "Returns number of entries in the authority resource record list",
    "probe_dns_additional_rrs": "Returns number of entries in the additional resource record list",
}
