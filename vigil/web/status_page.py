"""The public status page (issue 17) and its override API.

    GET    /status                 the page (HTML, no JavaScript)          anyone
    GET    /status/feed.atom       one Atom entry per public update        anyone
    GET    /status/api.json        the page as JSON (below)                anyone
    GET    /status/status.css      its style sheet                         anyone
    POST   /api/vigil/v1/status-page/components/{name}/override            responder
           {"status": "major_outage", "message": "...", "until": RFC 3339 | null, "via": "api"|"cli"}
    DELETE /api/vigil/v1/status-page/components/{name}/override            responder

Everything under ``/status`` is read-only and safe to expose without a login: it shows only
the configured components, their statuses, the incidents' public updates (status and
message) and titles, maintenance windows and uptime; never people, roles, notes, alerts or
links into the app. Its responses carry a stricter Content-Security-Policy than the app's: no
scripts at all. ``api.json``::

    {"page": {"title", "url", "updated", "status", "statusLabel", "description", "historyDays"},
     "components": [{"name", "description", "group", "status", "statusLabel", "source",
                     "message", "checkedAt", "overrideUntil",
                     "uptime": {"share", "days": [{"date", "share", "worst"}]}}],
     "incidents": [{"id", "title", "impact", "impactLabel", "status", "statusLabel",
                    "components", "startedAt", "resolvedAt",
                    "updates": [{"id", "at", "status", "statusLabel", "message"}]}],
     "history": [... as incidents, resolved within historyDays ...],
     "maintenance": [{"name", "description", "components", "start", "end", "active"}]}
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jinja2
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.gocompat.times import parse_rfc3339
from vigil.incidents.status_page import STATUS_LABELS, PublicIncident
from vigil.incidents.status_page_service import StatusPageService, StatusPageView
from vigil.state.status_page_store import ComponentOverride, StatusPageError
from vigil.web.audit_detail import already_audited
from vigil.web.deps import WebDeps
from vigil.web.json_api import error, iso, json_object, store_error
from vigil.web.oncall_api import request_actor

__all__ = ["PUBLIC_CSP", "page_json", "status_page_router"]

# The public page needs no script, no frame, no form: it may load its style sheet only.
PUBLIC_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
_HEADERS = {"Content-Security-Policy": PUBLIC_CSP, "Cache-Control": "public, max-age=15"}
_CSS = Path(__file__).parent / "static" / "status_page.css"
_ATOM = "http://www.w3.org/2005/Atom"
# Entry ids: name-based UUIDs of (incident, update), the same on every replica and render.
_ENTRY_NAMESPACE = uuid.UUID("5b0e3a52-8a43-4c36-9d0c-2f6f1f0c7a11")


def _incident_json(p: PublicIncident) -> dict[str, Any]:
    return {"id": p.id, "title": p.title, "impact": p.impact, "impactLabel": p.impact_label,
            "status": p.status, "statusLabel": p.status_label, "components": list(p.components),
            "startedAt": iso(p.started_at), "resolvedAt": iso(p.resolved_at),
            "updates": [{"id": u.id, "at": iso(u.at), "status": u.status, "statusLabel": u.label,
                         "message": u.message} for u in p.updates]}


def page_json(view: StatusPageView, url: str) -> dict[str, Any]:
    """The documented JSON of the page (see the module docstring)."""
    return {
        "page": {"title": view.title, "url": url, "updated": iso(view.now), "status": view.status,
                 "statusLabel": STATUS_LABELS[view.status], "description": view.sentence,
                 "historyDays": view.history_days},
        "components": [{
            "name": c.name, "description": c.description, "group": c.group, "status": c.status,
            "statusLabel": c.label, "source": c.source, "message": c.message,
            "checkedAt": iso(c.checked_at), "overrideUntil": iso(c.override_until),
            "uptime": {"share": view.uptime_share.get(c.name),
                       "days": [{"date": d.day.isoformat(), "share": d.share, "worst": d.worst}
                                for d in view.uptime.get(c.name, ())]},
        } for c in view.components],
        "incidents": [_incident_json(p) for p in view.incidents],
        "history": [_incident_json(p) for p in view.history],
        "maintenance": [{"name": w.name, "description": w.description, "components": list(w.components),
                         "start": iso(w.start), "end": iso(w.end), "active": w.active(view.now)}
                        for w in view.maintenance],
    }


def atom_feed(view: StatusPageView, base: str, limit: int = 100) -> bytes:
    """Atom 1.0 (RFC 4287): one entry per public update, newest first."""
    ET.register_namespace("", _ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    page = f"{base}/status"
    entries = sorted(((p, u) for p in (*view.incidents, *view.history) for u in p.updates),
                     key=lambda pu: (pu[1].at, pu[1].id), reverse=True)[:limit]
    feed = ET.Element(f"{{{_ATOM}}}feed")
    sub(feed, "id", page)
    sub(feed, "title", view.title)
    sub(feed, "updated", iso(entries[0][1].at if entries else view.now))
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{page}/feed.atom")
    sub(feed, "link", rel="alternate", type="text/html", href=page)
    sub(sub(feed, "author"), "name", view.title)
    for incident, update in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:uuid:{uuid.uuid5(_ENTRY_NAMESPACE, f'{incident.id}/{update.id}')}")
        sub(entry, "title", f"{incident.title}: {update.label}")
        sub(entry, "updated", iso(update.at))
        sub(entry, "published", iso(update.at))
        sub(entry, "link", rel="alternate", type="text/html", href=f"{page}#incident-{incident.id}")
        sub(entry, "category", term=incident.impact, label=incident.impact_label)
        sub(entry, "content", update.message, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _override_json(o: ComponentOverride) -> dict[str, Any]:
    return {"component": o.component, "status": o.status, "statusLabel": STATUS_LABELS.get(o.status, o.status),
            "message": o.message, "setBy": o.set_by, "setAt": iso(o.set_at), "until": iso(o.expires_at)}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def status_page_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    env = jinja2.Environment(loader=jinja2.PackageLoader("vigil.web", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["iso"] = iso
    env.filters["when"] = lambda dt: dt.strftime("%d %b %Y %H:%M UTC")
    env.filters["percent"] = lambda share: "no data" if share is None else f"{share * 100:.2f} %"

    def service() -> StatusPageService | None:
        s = deps.status_page
        return s if s is not None and s.section.active else None

    def not_here() -> Response:
        return Response("Not Found", status_code=404, media_type="text/plain", headers=_HEADERS)

    @router.get("/status", include_in_schema=False)
    async def page(request: Request) -> Response:
        s = service()
        if s is None:
            return not_here()
        view = await asyncio.to_thread(s.view)
        html = env.get_template("status_page.html").render(view=view, labels=STATUS_LABELS)
        return Response(html, media_type="text/html; charset=utf-8", headers=_HEADERS)

    @router.get("/status/api.json", include_in_schema=False)
    async def page_api(request: Request) -> Response:
        s = service()
        if s is None:
            return not_here()
        view = await asyncio.to_thread(s.view)
        return JSONResponse(page_json(view, f"{_base(request)}/status"), headers=_HEADERS)

    @router.get("/status/feed.atom", include_in_schema=False)
    async def feed(request: Request) -> Response:
        s = service()
        if s is None:
            return not_here()
        view = await asyncio.to_thread(s.view)
        return Response(atom_feed(view, _base(request)), media_type="application/atom+xml", headers=_HEADERS)

    @router.get("/status/status.css", include_in_schema=False)
    async def css() -> Response:
        return Response(_CSS.read_bytes(), media_type="text/css", headers=_HEADERS)

    path = "/api/vigil/v1/status-page/components/{name}/override"

    @router.post(path, include_in_schema=False)
    async def set_override(request: Request, name: str) -> Response:
        s = service()
        if s is None:
            return error(404, "unavailable", "this Vigil has no status page")
        body = await json_object(request)
        if isinstance(body, JSONResponse):
            return body
        status, message, until_text = body.get("status"), body.get("message", ""), body.get("until")
        if not isinstance(status, str):
            return error(400, "bad_data", "status: required, one of " + ", ".join(STATUS_LABELS))
        if not isinstance(message, str):
            return error(400, "bad_data", "message: must be a string")
        until = None
        if until_text is not None:
            try:
                until = parse_rfc3339(str(until_text))
            except ValueError as exc:
                return error(400, "bad_data", f"until: {exc}")
        try:
            override = await asyncio.to_thread(
                s.set_override, name, status=status, message=message, until=until,
                actor=request_actor(request), remote_addr=(request.client.host if request.client else ""))
        except StatusPageError as exc:
            return store_error(exc, invalid_type="bad_data")
        already_audited(request)
        return JSONResponse({"status": "success", "data": _override_json(override)})

    @router.delete(path, include_in_schema=False)
    async def clear_override(request: Request, name: str) -> Response:
        s = service()
        if s is None:
            return error(404, "unavailable", "this Vigil has no status page")
        try:
            override = await asyncio.to_thread(s.clear_override, name, actor=request_actor(request),
                                               remote_addr=(request.client.host if request.client else ""))
        except StatusPageError as exc:
            return store_error(exc)
        already_audited(request)
        return JSONResponse({"status": "success", "data": _override_json(override)})

    return router
