"""The HTTP side of a scrape: Prometheus's request headers, authentication, TLS options,
and the errors a scrape reports (their messages are what the targets page shows)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field

import httpx

from vigil import __version__
from vigil.config.secret_files import read_secret_file
from vigil.errors import VigilError

__all__ = ["ACCEPT_HEADER", "FailingScraper", "HTTPOptions", "HTTPScraper", "PartialScrapeError", "ScrapeError",
           "TLSOptions"]

# Prometheus's default scrape protocols, most preferred first.
ACCEPT_HEADER = ("application/openmetrics-text;version=1.0.0,"
                 "application/openmetrics-text;version=0.0.1;q=0.75,"
                 "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

class ScrapeError(VigilError):
    """A scrape failed before parsing; the message is what the targets page shows."""


class PartialScrapeError(ScrapeError):
    """The target answered with a page but reports a failure of its own (a built-in
    collector that cannot reach its server). The page is stored as usual and ``up`` is 1;
    the message becomes the target's last error."""

    def __init__(self, message: str, body: bytes, content_type: str | None) -> None:
        super().__init__(message)
        self.body = body
        self.content_type = content_type


@dataclass(frozen=True)
class TLSOptions:
    """TLS settings of a scrape; paths are absolute. Targets with equal options share one
    HTTP client."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False


@dataclass(frozen=True)
class HTTPOptions:
    """How to authenticate a scrape (basic auth, or an ``Authorization: <type>
    <credentials>`` header) and its TLS options. ``*_file`` fields are absolute paths re-read at every scrape (so rotated secrets are
    picked up). Secrets are excluded from ``repr``."""

    basic_username: str | None = None
    basic_password: str | None = field(default=None, repr=False)
    basic_password_file: str | None = None
    auth_type: str | None = None
    auth_credentials: str | None = field(default=None, repr=False)
    auth_credentials_file: str | None = None
    tls: TLSOptions = TLSOptions()

    def headers(self) -> dict[str, str]:
        """The authentication header, if any. Raises :class:`ScrapeError` (naming the
        file, never its content) when a secret file cannot be read."""
        if self.basic_username is not None:
            password = self.basic_password or ""
            if self.basic_password_file:
                password = _read_secret(self.basic_password_file)
            token = base64.b64encode(f"{self.basic_username}:{password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        if self.auth_type is not None:
            cred = self.auth_credentials or ""
            if self.auth_credentials_file:
                cred = _read_secret(self.auth_credentials_file)
            return {"Authorization": f"{self.auth_type} {cred}"}
        return {}


def _read_secret(path: str) -> str:
    # Surrounding white space is dropped, as Prometheus does with credential files.
    return read_secret_file(path, ScrapeError, f"unable to read secret file {path}").strip()


def _format_seconds(s: float) -> str:
    return f"{s:.6f}".rstrip("0").rstrip(".")


class HTTPScraper:
    """GETs a target's metrics URL with Prometheus's headers, over a shared client."""

    def __init__(self, client: httpx.AsyncClient, url: str,
                 options: HTTPOptions | None = None) -> None:
        self._client = client
        self._url = url
        self._options = options or HTTPOptions()

    async def scrape(self, timeout_s: float) -> tuple[bytes, str | None]:
        headers = {
            "Accept": ACCEPT_HEADER,
            "User-Agent": f"Vigil/{__version__}",
            "X-Prometheus-Scrape-Timeout-Seconds": _format_seconds(timeout_s),
            **self._options.headers(),
        }
        try:
            # The asyncio timeout bounds the whole exchange, httpx's only each phase.
            async with asyncio.timeout(timeout_s):
                resp = await self._client.get(self._url, headers=headers,
                                              timeout=httpx.Timeout(timeout_s))
                body = await resp.aread()
        except (TimeoutError, httpx.TimeoutException):
            raise ScrapeError(f'Get "{self._url}": context deadline exceeded') from None
        except httpx.HTTPError as e:
            raise ScrapeError(f'Get "{self._url}": {str(e) or type(e).__name__}') from None
        if resp.status_code != 200:
            raise ScrapeError(
                f"server returned HTTP status {resp.status_code} {resp.reason_phrase}")
        return body, resp.headers.get("content-type")


class FailingScraper:
    """A scraper whose every scrape fails with ``message`` (e.g. a TLS file that cannot be
    loaded), so the problem shows on the target instead of only in the log."""

    def __init__(self, message: str) -> None:
        self._message = message

    async def scrape(self, timeout_s: float) -> tuple[bytes, str | None]:
        raise ScrapeError(self._message)
