"""The alert lifecycle in the browser: the pages behind the signed action links of
notifications (``/oncall/link/{token}``: GET confirms, only POST acts, so a mail scanner that
opens a link acknowledges nothing) and the acknowledge / unacknowledge / resolve buttons of
the alerts page (``/alerts/episodes/{id}/{action}``, responders).

A link is its own authorization (public route): it names one episode and one action and
expires; who acted is recorded as ``link:<receiver>/<integration>`` (the notification that
carried it), in the episode's log and the audit log.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigil.access import Role
from vigil.oncall.links import LinkClaim, LinkError
from vigil.state.lifecycle_store import CLASSIFICATIONS, Episode, EpisodeError
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps
from vigil.web.escalation_api import escalation_line
from vigil.web.oncall_api import ACTIONS, episode_json, perform, request_actor

__all__ = ["alerts_return_url", "episodes_context", "oncall_pages_router"]

_TITLES = {"ack": "Acknowledge alert", "resolve": "Resolve alert"}
_DONE = {"ack": "Acknowledged.", "unack": "Acknowledgement taken back.", "resolve": "Resolved."}


def alerts_return_url(next_url: object, **extra: str) -> str:
    """Where an alerts-page button returns: ``next_url`` (the form's hidden ``next``, the
    page's own URL with its filters) when it is a relative ``/alerts`` URL, else plain
    ``/alerts`` -- never another path or host, so the field cannot make an open redirect.
    A stale ``episode_error`` is dropped; ``extra`` parameters are added."""
    text = next_url if isinstance(next_url, str) else ""
    parts = urlsplit(text)
    relative = not (parts.scheme or parts.netloc) and parts.path == "/alerts" \
        and not any(c in text for c in "\\\r\n\t")
    params = [(k, v) for k, v in parse_qsl(parts.query if relative else "", keep_blank_values=True)
              if k != "episode_error"] + list(extra.items())
    return "/alerts" + ("?" + urlencode(params) if params else "")


async def episodes_context(deps: WebDeps, request: Request) -> dict[str, Any]:
    """What the alerts page shows of the episodes: each unresolved one (as the API gives
    it), whether the caller may act (responders; everyone without access control), the
    classifications to resolve with, and the error of the last action, if any."""
    life = deps.oncall
    if life is None:
        return {"episodes": [], "can_respond": False, "classifications": (), "episode_error": ""}
    episodes = await asyncio.to_thread(life.store.episodes)
    now = await asyncio.to_thread(life.now)
    principal = getattr(request.state, "principal", None)
    shown = [episode_json(ep, now) for ep in episodes]
    escalation = deps.escalation
    for row in shown:
        row["escalation"] = ""  # no escalation service (or no policy): nothing to say
    if escalation is not None:  # where each episode is in its escalation policy
        statuses = await asyncio.to_thread(lambda: [escalation.status(ep) for ep in episodes])
        for row, status in zip(shown, statuses, strict=True):
            row["escalation"] = escalation_line(status, now)
    return {"episodes": shown,
            "can_respond": principal is None or principal.may(Role.RESPONDER),
            "classifications": CLASSIFICATIONS,
            "episode_error": request.query_params.get("episode_error", "")}


def oncall_pages_router(deps: WebDeps, render) -> APIRouter:
    """``render(template, request, **context)`` is the UI's page renderer."""
    router = APIRouter()

    def page(request: Request, status: int, *, claim: LinkClaim | None = None,
             episode: Episode | None = None, now: datetime | None = None, **context: Any) -> HTMLResponse:
        action = claim.action if claim else "ack"
        response = render(
            "oncall_link.html", request, title=_TITLES.get(action, "Alert"), action=action,
            episode=episode_json(episode, now) if episode and now else None,
            recipient=claim.recipient if claim else "", classifications=CLASSIFICATIONS,
            procedure=(episode.runbooks[0] if episode and episode.runbooks else ""),
            button=_TITLES.get(action, ""), **{"error": "", "done": "", "confirm": False, **context})
        response.status_code = status
        return response

    def check(token: str) -> tuple[LinkClaim, Episode]:
        life = deps.oncall
        if life is None or life.links is None:
            raise LinkError("this Vigil makes no action links")
        claim = life.links.signer.verify(token, datetime.now(timezone.utc))
        try:
            return claim, life.links.episode_for(claim)
        except EpisodeError:
            raise LinkError("the alert episode this link was sent for no longer exists") from None

    def refusal(request: Request, exc: LinkError) -> HTMLResponse:
        text = str(exc)
        status = 410 if "expired" in text else 404 if "no longer exists" in text or "no episode" in text else 403
        return page(request, status, error=text[:1].upper() + text[1:] + ".")

    @router.get("/oncall/link/{token}", include_in_schema=False)
    async def link_page(token: str, request: Request) -> Response:
        try:
            claim, episode = await asyncio.to_thread(check, token)
        except LinkError as exc:
            return refusal(request, exc)
        now = await asyncio.to_thread(deps.oncall.now)  # type: ignore[union-attr]
        if episode.state == "resolved" or (claim.action == "ack" and episode.state != "open"):
            return page(request, 200, claim=claim, episode=episode, now=now,
                        done=f"Nothing to do: this alert is {episode.state} already.")
        return page(request, 200, claim=claim, episode=episode, now=now, confirm=True)

    @router.post("/oncall/link/{token}", include_in_schema=False)
    async def link_act(token: str, request: Request) -> Response:
        try:
            claim, episode = await asyncio.to_thread(check, token)
        except LinkError as exc:
            return refusal(request, exc)
        life = deps.oncall
        assert life is not None
        form = dict((await request.form()).items())
        actor = f"link:{claim.recipient}"
        try:
            done = await asyncio.to_thread(perform, life, episode.id, claim.action, actor=actor,
                                           via="link", body=form)
        except EpisodeError as exc:
            now = await asyncio.to_thread(life.now)
            status = 400 if exc.kind == "invalid" else 409
            return page(request, status, claim=claim, episode=episode, now=now, error=str(exc),
                        confirm=exc.kind == "invalid")
        service = deps.access.service if deps.access is not None else None
        if service is not None:
            await asyncio.to_thread(service.audit, actor=actor, action=f"episode.{claim.action}",
                                    target=episode.id, after={"state": done.state, "via": "link"},
                                    remote_addr=request.client.host if request.client else "")
        now = await asyncio.to_thread(life.now)
        return page(request, 200, claim=claim, episode=done, now=now, done=_DONE[claim.action])

    @router.post("/alerts/episodes/{episode_id}/{action}", include_in_schema=False)
    async def button(episode_id: str, action: str, request: Request) -> Response:
        life = deps.oncall
        if life is None or action not in ACTIONS:
            return HTMLResponse("No such action.", status_code=404)
        form = dict((await request.form()).items())
        try:
            await asyncio.to_thread(perform, life, episode_id, action, actor=request_actor(request),
                                    via="ui", body=form)
        except EpisodeError as exc:
            return RedirectResponse(alerts_return_url(form.get("next"), episode_error=str(exc)),
                                    status_code=303)
        describe_change(request, f"episode.{action}", episode_id,
                        after={"note": str(form.get("note") or ""),
                               "classification": form.get("classification")})
        return RedirectResponse(f"{alerts_return_url(form.get('next'))}#episode-{episode_id}",
                                status_code=303)

    return router
