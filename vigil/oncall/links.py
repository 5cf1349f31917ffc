"""Signed, expiring action links put in notifications: "acknowledge" and "resolve" for the
alert episode of the notified group, usable without logging in.

A token is ``<payload>.<signature>``, both base64url: the payload is JSON naming the
episode (or, when the notification went out before the episode was opened, the group and
the time of the notification), the action, the expiry and the notification it was sent in
(``receiver/integration``, recorded as who acted); the signature is HMAC-SHA256 of the
payload with a key every replica shares (made once in the state database). Following a link
shows a confirmation page; only its form's POST acts, so mail scanners that open links
acknowledge nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from vigil.errors import VigilError
from vigil.state.lifecycle_store import Episode, LifecycleStore

__all__ = ["ActionLinkMaker", "LinkClaim", "LinkError", "LinkSigner"]

LINK_ACTIONS = ("ack", "resolve")
# A notification may be sent up to this long before its episode is opened (the lifecycle
# reconciles about once a second); a link naming a group finds the episode opened by then.
_OPEN_LAG = timedelta(seconds=60)
_KEY_NAME = "action-links"


class LinkError(VigilError):
    """A link that cannot be used: tampered with, expired, or for nothing that exists."""


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says."""

    action: str
    expires: datetime
    recipient: str  # receiver/integration of the notification the link was in
    episode_id: str | None
    group_key: str | None
    issued: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, key: bytes) -> None:
        self.key = key

    def sign(self, claim: LinkClaim) -> str:
        body = {"a": claim.action, "x": int(claim.expires.timestamp()), "r": claim.recipient,
                "i": int(claim.issued.timestamp())}
        if claim.episode_id is not None:
            body["e"] = claim.episode_id
        else:
            body["g"] = claim.group_key
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._mac(payload)}"

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode(), hashlib.sha256).digest())

    def verify(self, token: str, now: datetime) -> LinkClaim:
        """The claim of a valid token; LinkError saying why otherwise."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac, self._mac(payload)):
            raise LinkError("this link is not valid: it was changed, cut short, or made by "
                            "another Vigil")
        try:
            body = json.loads(_unb64(payload))
            claim = LinkClaim(str(body["a"]), datetime.fromtimestamp(body["x"], timezone.utc),
                              str(body["r"]), body.get("e"), body.get("g"),
                              datetime.fromtimestamp(body["i"], timezone.utc))
        except (ValueError, KeyError, TypeError):
            raise LinkError("this link is not valid: its content cannot be read") from None
        if claim.action not in LINK_ACTIONS:
            raise LinkError(f"this link is not valid: unknown action {claim.action!r}")
        if now >= claim.expires:
            raise LinkError(f"this link expired at {claim.expires:%Y-%m-%d %H:%M:%S} UTC; "
                            "act from the alerts page instead")
        return claim


class ActionLinkMaker:
    """Makes the links for one notification, and finds the episode a link names."""

    def __init__(self, store: LifecycleStore, external_url: str, ttl_s: float) -> None:
        self.store = store
        self.external_url = external_url.rstrip("/")
        self.ttl_s = ttl_s
        # Read (or made) now: links are made while the dispatcher decides a notification,
        # where waiting on a write would be wrong.
        self.signer = LinkSigner(bytes.fromhex(store.shared_secret(_KEY_NAME)))

    def links(self, group_key: str, receiver: str, integration: str) -> dict[str, str | None]:
        """``{"episode", "ack_url", "resolve_url"}`` for a notification of ``group_key``
        sent now through ``receiver``'s ``integration``."""
        now = datetime.now(timezone.utc)
        episode = self.store.unresolved_for_group(group_key)
        out: dict[str, str | None] = {"episode": episode.id if episode else None}
        for action in LINK_ACTIONS:
            claim = LinkClaim(action, now + timedelta(seconds=self.ttl_s), f"{receiver}/{integration}",
                              episode.id if episode else None, None if episode else group_key, now)
            out[f"{action}_url"] = f"{self.external_url}/oncall/link/{quote(self.signer.sign(claim))}"
        return out

    def episode_for(self, claim: LinkClaim) -> Episode:
        """The episode a valid claim names; LinkError when there is none."""
        if claim.episode_id is not None:
            return self.store.get(claim.episode_id)
        assert claim.group_key is not None
        episode = self.store.episode_at(claim.group_key, claim.issued + _OPEN_LAG)
        if episode is None:
            raise LinkError("the alert this link was sent for has no episode (it resolved "
                            "before one was opened)")
        return episode
