"""Runbook pages: ``/runbooks`` (index) and ``/runbooks/<alertname>`` (R3).

Every alert of the shipped rule pack links here through its ``runbook_url`` annotation.
The pages' content (what the alert means, how to investigate, how to resolve) lives in
``runbooks.yml`` beside this module and is rendered server-side with the UI's base template.
A runbook page also lists the loaded rules of that name and the alerts now pending or firing.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import jinja2
import yaml
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from vigil.web.access_gate import template_context as _access_context
from vigil.web.deps import WebDeps

__all__ = ["Runbook", "Step", "load_runbooks", "runbooks_router"]


@dataclass(frozen=True)
class Step:
    """One step: what to do, and optionally a command snippet to run."""

    text: str
    commands: str = ""


@dataclass(frozen=True)
class Runbook:
    alertname: str
    title: str
    area: str
    meaning: str
    investigate: tuple[Step, ...]
    resolve: tuple[Step, ...]
    related: tuple[str, ...] = ()


def load_runbooks(text: str | None = None) -> dict[str, Runbook]:
    """Parse runbook data (default: the packaged ``runbooks.yml``), keyed by alert name.
    Raises ``ValueError`` naming the entry when one is malformed."""
    if text is None:
        text = resources.files("vigil.web").joinpath("runbooks.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    out: dict[str, Runbook] = {}
    for name, entry in data.items():
        try:
            out[name] = Runbook(
                alertname=name, title=entry["title"], area=entry.get("area", ""),
                meaning=entry["meaning"],
                investigate=tuple(_step(s) for s in entry.get("investigate", [])),
                resolve=tuple(_step(s) for s in entry.get("resolve", [])),
                related=tuple(entry.get("related") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"runbooks.yml: entry {name}: missing or malformed {exc}") from None
    return out


def _step(raw: object) -> Step:
    if isinstance(raw, str):
        return Step(raw)
    if isinstance(raw, dict):
        return Step(str(raw["text"]), str(raw.get("commands", "")).rstrip("\n"))
    raise TypeError("step")


def runbooks_router(deps: WebDeps) -> APIRouter:
    """The runbook pages; ``deps`` gives the loaded rules and active alerts to show."""
    router = APIRouter()
    books = load_runbooks()
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vigil.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.globals["version"] = deps.version

    def render(name: str, request: Request, status: int = 200, **context: object) -> HTMLResponse:
        html = env.get_template(name).render(path=request.url.path,
                                                   **_access_context(request), **context)
        return HTMLResponse(html, status_code=status)

    @router.get("/runbooks", include_in_schema=False)
    async def index(request: Request) -> HTMLResponse:
        areas: dict[str, list[Runbook]] = {}
        for b in books.values():
            areas.setdefault(b.area or "Other", []).append(b)
        return render("runbooks.html", request, areas=areas)

    @router.get("/runbooks/{alertname}", include_in_schema=False)
    async def page(request: Request, alertname: str) -> HTMLResponse:
        book = books.get(alertname)
        if book is None:
            return render("runbook.html", request, status=404, book=None, alertname=alertname,
                          rules=[], alerts=[], known=set(books))
        rules = [(g.name, r) for g in deps.rules.groups() for r in g.rules
                 if r.type == "alerting" and r.name == alertname]
        alerts = [a for a in deps.rules.alerts() if a.labels.get("alertname") == alertname]
        return render("runbook.html", request, book=book, alertname=alertname, rules=rules,
                      alerts=alerts, known=set(books))

    return router
