"""Secrets and their hashes: argon2id for passwords (slow on purpose: people choose them),
SHA-256 for API tokens and session ids (256 random bits each, so a fast hash loses
nothing and keeps the per-request check cheap)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["TOKEN_PREFIX", "digest", "hash_password", "looks_like_token", "new_session_id",
           "new_token", "password_matches", "same"]

# Tokens read "vgl_" + 43 url-safe characters, so secret scanners and people can spot them.
TOKEN_PREFIX = "vgl_"

_HASHER = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106 low-memory)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both failures take as long. Made at
    first use, not at import: hashing costs 0.3 s and 64 MiB every start would pay."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("the password is empty")
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one verification."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_token(text: str) -> bool:
    return text.startswith(TOKEN_PREFIX) and len(text) > len(TOKEN_PREFIX) + 20


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings (CSRF tokens)."""
    return hmac.compare_digest(a.encode(), b.encode())
