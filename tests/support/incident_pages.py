"""What the browser tests of the incident and status pages share: the web app served with
access control and the given services, logging in through the login form, submitting a
form by its button, reading the timeline table, and the heading-order check."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.browser import serve_app
from tests.web.fakes import make_deps
from vigil.access import AccessService
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

__all__ = ["assert_headings_in_order", "login", "serve_services", "submit", "timeline_rows"]


@contextmanager
def serve_services(people: AccessService, services: Callable[[str], dict[str, Any]]) -> Iterator[str]:
    """Serve the web app with access control by ``people`` and the services
    ``services(base_url)`` names (``incidents=``, ``status_page=`` ...); yield its base URL."""
    def build(base_url: str) -> Any:
        return create_app(dataclasses.replace(make_deps(), access=AccessPolicy(people), **services(base_url)))

    with serve_app(build) as base:
        yield base


def login(page: Any, base: str, path: str, user: str) -> None:
    """Open ``path``, log in as ``user`` (password ``<user>-password``) and wait to be back."""
    page.goto(base + path)
    page.fill("#username", user)
    page.fill("#password", f"{user}-password")
    page.click("button[type=submit]")
    page.wait_for_url(base + path)


def submit(page: Any, button: Any) -> None:
    """Click a button that submits its form and wait for the page that answers."""
    with page.expect_navigation():
        button.click()


def timeline_rows(page: Any) -> list[tuple[str, str, str]]:
    """The incident page's timeline: (time, kind, text) a row."""
    rows = page.locator("table.timeline tbody tr")
    return [(rows.nth(i).locator("td").nth(0).inner_text(), rows.nth(i).locator(".event-kind").inner_text(),
             rows.nth(i).locator(".event-text").inner_text()) for i in range(rows.count())]


def assert_headings_in_order(page: Any) -> None:
    """One h1, first, and headings that go down one level at a time."""
    levels = page.eval_on_selector_all("h1, h2, h3, h4, h5, h6", "hs => hs.map(h => Number(h.tagName[1]))")
    assert levels[0] == 1 and levels.count(1) == 1, levels
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
