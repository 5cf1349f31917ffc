"""Headless Debian Chromium for the browser tests (the ``browser`` fixture, registered in
tests/conftest.py) and a Vigil app served by uvicorn on a free loopback port for it to visit."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

__all__ = ["ARTIFACTS", "AXE", "CHROMIUM", "CHROMIUM_ARGS", "axe_violations", "browser", "new_page",
           "record_csp_violations", "serve_app"]

CHROMIUM = "/usr/bin/chromium"
# Screenshots the browser tests take, for a person to look at.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# axe-core, the accessibility rules engine, from the npm registry (scripts/test runs npm ci).
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (Debian's, not one playwright downloads), one per test module."""
    # Imported here so that only the browser tests need playwright.
    from playwright import sync_api

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: scripts/test installs Debian's chromium"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def new_page(browser: Any) -> tuple[Any, Any]:
    """(context, page) of a fresh 1280×900 browser context; the page waits up to 10 s.
    Creates ARTIFACTS for the page's screenshots. The caller closes the context."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def axe_violations(page: Any, *, tags: tuple[str, ...] = ("wcag2a", "wcag2aa")) -> list[dict[str, Any]]:
    """The accessibility violations axe-core finds on the page as it is now (WCAG 2 A and AA
    by default: headings, names, colour contrast, keyboard focus...), each as axe reports it
    (``id``, ``impact``, ``help``, ``nodes``). axe runs through the DevTools protocol, so the
    page's Content-Security-Policy (no inline or foreign scripts) stays as served."""
    assert AXE.exists(), f"{AXE} missing: scripts/test installs it with npm ci"
    page.evaluate(AXE.read_text())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           list(tags))
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]]


def record_csp_violations(page: Any) -> list[str]:
    """The Content-Security-Policy violations the page reports on its console, as they come."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    return violations


@contextmanager
def serve_app(build_app: Callable[[str], Any]) -> Iterator[str]:
    """Serve ``build_app(base_url)`` with uvicorn (no lifespan) on a free 127.0.0.1 port and
    yield that base URL; the app is built knowing its own URL (SSO needs it for its callback)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        app = build_app(base_url)
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        try:
            yield base_url
        finally:
            server.should_exit = True
            thread.join(timeout=5)
    finally:
        sock.close()
